// docs/architecture.md draws the client's request machine; this holds the drawing to the code: every phase change
// that stepRequest (src/client/request-machine.ts) can make, found by running it over every action, answer and
// policy below, is drawn, and nothing else is.
import { expect, it } from 'vitest';
import { initialRequest, stepRequest, type AnswerSummary, type RequestAction, type RequestBody, type RequestState } from '../../src/client/request-machine.js';
import type { RetryPolicy } from '../../src/client/retry.js';
import { diagramEdges } from '../support/mermaid-edges.js';

const SETTLED = new Set(['done', 'ended', 'failed', 'lost', 'conflict', 'dropped', 'exhausted', 'deadline']);

const ANSWERS: (AnswerSummary | undefined)[] = [
  undefined,
  { kind: 'done' },
  { kind: 'done', error: new Error('422') },
  { kind: 'stale' },
  { kind: 'ended' },
  { kind: 'busy', reason: 'in-progress' },
  { kind: 'busy', reason: 'unavailable', retryAfter: 10 },
  { kind: 'busy', reason: 'network' },
];
const POLICIES: RetryPolicy[] = [
  { retries: 0, deadline: 0, backoff: 1, maxBackoff: 1 },
  { retries: 2, deadline: 1e9, backoff: 1, maxBackoff: 1 },
];

/** Every phase change of the machine, as "from --> to", '[*]' the start and the end. */
function exploredEdges(): string[] {
  const edges = new Set<string>(['[*] --> queued']);
  const actions: RequestAction[] = [{ type: 'hold' }, { type: 'send', at: 0 }, ...ANSWERS.map((answer) => ({ type: 'answered' as const, answer, at: 1, random: 0.5 }))];
  for (const policy of POLICIES) {
    for (const body of ['rebase', 'blind', 'static', 'replayed'] as RequestBody[]) {
      for (const resendable of [true, false]) {
        let frontier: RequestState[] = [initialRequest(body, resendable)];
        for (let depth = 0; depth < 8; depth++) {
          const next: RequestState[] = [];
          for (const state of frontier) {
            for (const action of actions) {
              const after = stepRequest(state, action, policy);
              if (after.phase === state.phase && after.attempt === state.attempt) continue;
              if (after.phase !== state.phase) edges.add(`${state.phase} --> ${after.phase}`);
              if (SETTLED.has(after.phase)) edges.add(`${after.phase} --> [*]`);
              else next.push(after);
            }
          }
          frontier = next;
        }
      }
    }
  }
  return [...edges];
}

it("the client's request diagram has exactly the phase changes stepRequest makes", () => {
  const drawn = diagramEdges("## The client's request");
  expect(new Set(drawn).size).toBe(drawn.length); // each edge drawn once
  expect([...drawn].sort()).toEqual(exploredEdges().sort());
});
