import { readFileSync } from 'node:fs';

/** The edges ("from --> to") of the first mermaid block of docs/architecture.md between heading `from` and heading `to` (or the end). */
export function diagramEdges(from: string, to?: string): string[] {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf(from), to === undefined ? undefined : doc.indexOf(to));
  const block = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`docs/architecture.md has no mermaid block under "${from}"`);
  const edges: string[] = [];
  for (const line of block.split('\n')) {
    const edge = /^\s*(\[\*\]|[A-Za-z]+)\s*-->\s*(\[\*\]|[A-Za-z]+)\s*(?::.*)?$/.exec(line);
    if (edge) edges.push(`${edge[1]} --> ${edge[2]}`);
  }
  return edges;
}
