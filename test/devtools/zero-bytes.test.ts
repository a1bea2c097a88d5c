import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { libraryEntries, type ExportsMap } from '../../scripts/package-entries.js';

// session-lanes/devtools adds 0 bytes to an app that does not import it. Two checkouts side by side, the same
// but for src/devtools/ and its `./devtools` export: each builds the library as `npm run build` does (one entry
// per export, shared chunks split by Vite), then a Vite app that imports only `session-lanes` is built on that
// dist. The two apps' outputs must be byte-identical. A third app, importing session-lanes/devtools, must differ:
// the comparison would see the panel's bytes if they leaked in.
const root = join(import.meta.dirname, '../..');
const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: ExportsMap; dependencies: Record<string, string>; peerDependencies: Record<string, string> };
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'session-lanes-zero-bytes-'));
});
afterAll(async () => {
  if (!process.env.KEEP) await rm(work, { recursive: true, force: true });
});

/**
 * A checkout in `work/session-lanes` (src/ copied, node_modules linked), its library built into its dist/. Both
 * variants are built at the same path, one after the other: Vite's chunk hashes and comments name the modules' paths.
 */
async function checkout(withDevtools: boolean): Promise<string> {
  const dir = join(work, 'session-lanes');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(join(root, 'src'), join(dir, 'src'), { recursive: true, filter: (path) => withDevtools || !relative(join(root, 'src'), path).startsWith('devtools') });
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'session-lanes', type: 'module', sideEffects: false }));
  const exports = Object.fromEntries(Object.entries(manifest.exports).filter(([subpath]) => withDevtools || subpath !== './devtools'));
  const external = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)];
  await build({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    build: {
      target: 'es2022',
      outDir: 'dist',
      minify: false,
      lib: { formats: ['es'], entry: Object.fromEntries(Object.entries(libraryEntries(exports)).map(([out, source]) => [out, join(dir, source)])) },
      rollupOptions: { external: (id) => id.startsWith('node:') || external.some((dependency) => id === dependency || id.startsWith(`${dependency}/`)) },
    },
  });
  return dir;
}

/** Builds an app in `checkout`/app whose main.js is `code`, `session-lanes` resolving to the checkout's dist; its output files, by name. */
async function app(checkout: string, code: string): Promise<Map<string, Buffer>> {
  const dir = join(checkout, 'app');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
  await writeFile(join(dir, 'main.js'), code);
  const dist = join(checkout, 'dist');
  await build({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    resolve: { alias: [{ find: /^session-lanes$/, replacement: join(dist, 'client.js') }, { find: /^session-lanes\/devtools$/, replacement: join(dist, 'devtools.js') }] },
    build: { outDir: 'out', emptyOutDir: true },
  });
  const out = join(dir, 'out');
  const files = new Map<string, Buffer>();
  for (const file of await readdir(out, { recursive: true, withFileTypes: true })) {
    if (file.isFile()) files.set(relative(out, join(file.parentPath, file.name)), await readFile(join(file.parentPath, file.name)));
  }
  return files;
}

const CLIENT_ONLY = "import { createSessionClient } from 'session-lanes';\nconst client = createSessionClient();\nglobalThis.sessionFetch = client.fetch;\n";

test('an app importing only session-lanes builds byte-identical output with and without src/devtools/', { timeout: 120_000 }, async () => {
  // What the package ships for the client: dist/client.js and every chunk it imports, as [name, code, …].
  const closure = async (dir: string, file = 'client.js'): Promise<string[]> => {
    const code = await readFile(join(dir, 'dist', file), 'utf8');
    const chunks = [...code.matchAll(/^import .*? from "\.\/([^"]+)";$/gm)].map((match) => match[1]!);
    return [file, code, ...(await Promise.all(chunks.map((chunk) => closure(dir, chunk)))).flat()];
  };
  const without = await checkout(false);
  const [b, shippedWithout] = [await app(without, CLIENT_ONLY), await closure(without)];
  const withDevtools = await checkout(true);
  const [a, shippedWith] = [await app(withDevtools, CLIENT_ONLY), await closure(withDevtools)];
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
  expect([...a.values()].some((bytes) => bytes.includes('session-lanes:first-write'))).toBe(true);
  expect(shippedWith).toEqual(shippedWithout);

  // The control: the same app that also imports the panel builds to different bytes, the panel's among them.
  const panel = await app(withDevtools, `${CLIENT_ONLY}import { mountDevtools } from 'session-lanes/devtools';\nmountDevtools(client);\n`);
  expect([...panel.values()].some((bytes) => bytes.includes('session-lanes-devtools'))).toBe(true);
  expect([...a.values()].some((bytes) => bytes.includes('session-lanes-devtools'))).toBe(false);
});
