// docs/architecture.md draws the server's request machine; this holds the drawing to the code's transition tables.
import { expect, it } from 'vitest';
import { requestTransitions } from '../../src/server/request/transitions.js';
import { diagramEdges } from '../support/mermaid-edges.js';

it("the server's request diagram has exactly the edges of src/server/request/transitions.ts", () => {
  const code = requestTransitions().map(([from, to]) => `${from} --> ${to}`);
  const drawn = diagramEdges("## The server's request", "## The client's request");
  expect(new Set(drawn).size).toBe(drawn.length); // each edge drawn once
  expect([...drawn].sort()).toEqual([...code].sort());
});
