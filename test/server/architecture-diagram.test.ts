// docs/architecture.md draws the server's request machine; this holds the drawing to the code's transition tables.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { requestTransitions } from '../../src/server/request/transitions.js';

function diagramEdges(): string[] {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf("## The server's request"), doc.indexOf("## The client's request"));
  const block = /```mermaid\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("docs/architecture.md has no mermaid block under \"## The server's request\"");
  const edges: string[] = [];
  for (const line of block.split('\n')) {
    const edge = /^\s*(\[\*\]|[A-Za-z]+)\s*-->\s*(\[\*\]|[A-Za-z]+)\s*(?::.*)?$/.exec(line);
    if (edge) edges.push(`${edge[1]} --> ${edge[2]}`);
  }
  return edges;
}

it("the server's request diagram has exactly the edges of src/server/request/transitions.ts", () => {
  const code = requestTransitions().map(([from, to]) => `${from} --> ${to}`);
  const drawn = diagramEdges();
  expect(new Set(drawn).size).toBe(drawn.length); // each edge drawn once
  expect([...drawn].sort()).toEqual([...code].sort());
});
