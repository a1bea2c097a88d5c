/**
 * No import cycles in src/ or demo/, `import type` edges included: a cycle
 * makes the order modules load in matter, and hides which module a concern
 * belongs to. The graph is read from the sources' import and export-from
 * statements (relative specifiers only; packages cannot be in a cycle of ours).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

// `import … from '…'`, `import '…'`, `export … from '…'`, over several lines too; and dynamic import('…').
const SPECIFIERS = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const match of text.matchAll(SPECIFIERS)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (!specifier?.startsWith('.')) continue;
    targets.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
  }
  return targets;
}

/** Every cycle's files, each cycle once (Tarjan's strongly connected components of more than one file, or a self-import). */
function cycles(files: readonly string[]): string[][] {
  const known = new Set(files);
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => known.has(target))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (file: string) => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file)!) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || graph.get(file)!.includes(file)) found.push(component.map((path) => relative(root, path)).sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

it('finds a cycle that goes through a type import and an export-from', () => {
  const folder = mkdtempSync(join(tmpdir(), 'cycles-'));
  try {
    writeFileSync(join(folder, 'a.ts'), "import type { B } from './b.js';\nexport type A = B;\n");
    writeFileSync(join(folder, 'b.ts'), "export {\n  A as B,\n} from './a.js';\n");
    writeFileSync(join(folder, 'c.ts'), "import { B } from './b.js';\n");
    expect(cycles(sourceFiles(folder)).map((cycle) => cycle.map((path) => path.slice(path.lastIndexOf('/') + 1)))).toEqual([['a.ts', 'b.ts']]);
  } finally {
    rmSync(folder, { recursive: true });
  }
});

for (const folder of ['src', 'demo']) {
  it(`has no import cycle in ${folder}/`, () => {
    expect(cycles(sourceFiles(join(root, folder)))).toEqual([]);
  });
}
