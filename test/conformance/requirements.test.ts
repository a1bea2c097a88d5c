/**
 * PROTOCOL.md's numbered requirements and the conformance vectors agree:
 * every requirement names at least one vector that exists (or, where no
 * vector can check it from outside, the tests that do), and every vector is
 * named by a requirement.
 */
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadVectors } from '../../src/race/conformance/load.js';

const protocol = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
const section = protocol.slice(protocol.indexOf('## Requirements, numbered'));
const requirements = [...section.matchAll(/^- \*\*(R\d+)\*\* (.*)$/gm)].map(([, id, text]) => ({ id: id!, text: text! }));
const vectorIds = new Set(loadVectors().map((vector) => vector.id));

it('numbers the requirements R1, R2, … without a gap', () => {
  expect(requirements.length).toBeGreaterThan(40);
  expect(requirements.map((requirement) => requirement.id)).toEqual(requirements.map((_, index) => `R${index + 1}`));
});

it('states each requirement as a MUST or MUST NOT', () => {
  for (const requirement of requirements) expect(requirement.text, requirement.id).toMatch(/\bMUST\b/);
});

it('names, for each requirement, vectors that exist (or the tests that check it)', () => {
  for (const { id, text } of requirements) {
    const cited = text.slice(text.lastIndexOf('Vectors:'));
    expect(cited, `${id} names no vector`).toMatch(/^Vectors: /);
    const vectors = [...cited.matchAll(/`([a-z0-9-]+)`/g)].map((match) => match[1]!);
    const tests = [...cited.matchAll(/`(test\/[^`]+)`/g)].map((match) => match[1]!);
    expect(vectors.length + tests.length, `${id} names no vector`).toBeGreaterThan(0);
    for (const vector of vectors) expect(vectorIds.has(vector), `${id} names ${vector}, which is no vector`).toBe(true);
    for (const test of tests) expect(existsSync(new URL(`../../${test}`, import.meta.url)), `${id} names ${test}, which does not exist`).toBe(true);
  }
});

it('names every vector in some requirement', () => {
  const named = new Set(requirements.flatMap(({ text }) => [...text.slice(text.lastIndexOf('Vectors:')).matchAll(/`([a-z0-9-]+)`/g)].map((match) => match[1]!)));
  expect([...vectorIds].filter((id) => !named.has(id))).toEqual([]);
});
