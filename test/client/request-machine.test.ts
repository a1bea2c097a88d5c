// The request loop's pure transitions, driven by exact action sequences: no client, no fetch, no timers.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { initialRequest, stepRequest, type AnswerSummary, type RequestAction, type RequestBody, type RequestState } from '../../src/client/request-machine.js';

const policy = { retries: 2, deadline: 1000, backoff: 100, maxBackoff: 1000 };
const hold: RequestAction = { type: 'hold' };
const send = (at = 0): RequestAction => ({ type: 'send', at });
// random 0.5: the nth backoff wait is 0.5 × 100 × 2ⁿ ms.
const back = (answer: AnswerSummary | undefined, at = 0): RequestAction => ({ type: 'answered', answer, at, random: 0.5 });
const done = back({ kind: 'done' });
const stale = back({ kind: 'stale' });

/** Each state after each action, as one short word: the phase, and for a retry its reason, delay and rebuild. */
function trace(body: RequestBody, actions: RequestAction[], resendable = true): string[] {
  let state: RequestState = initialRequest(body, resendable);
  return actions.map((action) => {
    state = stepRequest(state, action, policy);
    return state.phase == 'retry' ? `retry:${state.reason}:${state.delay}${state.rebuild ? ':rebuild' : ''}` : state.phase;
  });
}

describe('stepRequest', () => {
  test('answered at once: queued → held → sent → done', () => {
    expect(trace('blind', [hold, send(), done])).toEqual(['held', 'sent', 'done']);
  });

  test('412 on a blind body: resent unchanged with backoff, then done', () => {
    expect(trace('blind', [hold, send(), stale, send(), stale, send(), done])).toEqual(['held', 'sent', 'retry:stale:50', 'sent', 'retry:stale:100', 'sent', 'done']);
  });

  test('412 with rebase: rebuilt before the resend; a busy answer after it resends without rebuilding', () => {
    expect(trace('rebase', [hold, send(), stale, send(), back({ kind: 'busy', reason: 'in-progress', retryAfter: 300 }), send(), done])).toEqual([
      'held',
      'sent',
      'retry:stale:50:rebuild',
      'sent',
      'retry:in-progress:300',
      'sent',
      'done',
    ]);
  });

  test('412 on a static body is a conflict at once; on a replay the entry is dropped', () => {
    expect(trace('static', [hold, send(), stale])).toEqual(['held', 'sent', 'conflict']);
    expect(trace('replayed', [hold, send(), stale])).toEqual(['held', 'sent', 'dropped']);
  });

  test('412 after every allowed retry: exhausted (retries = 2)', () => {
    expect(trace('blind', [hold, send(), stale, send(), stale, send(), stale])).toEqual(['held', 'sent', 'retry:stale:50', 'sent', 'retry:stale:100', 'sent', 'exhausted']);
  });

  test('busy answers and lost attempts are resent while the resend starts within the deadline, counted from the first send', () => {
    const unavailable = (at: number) => back({ kind: 'busy', reason: 'unavailable', retryAfter: 400 }, at);
    expect(trace('blind', [hold, send(100), unavailable(150), send(550), back(undefined, 560), send(610), unavailable(700), send(1100), unavailable(1200)])).toEqual([
      'held',
      'sent',
      'retry:unavailable:400',
      'sent',
      'retry:network:100',
      'sent',
      'retry:unavailable:400',
      'sent',
      'deadline',
    ]);
  });

  test('a request that is not resent (not a write, not GET or HEAD): no answer is lost, a gateway error is its answer', () => {
    expect(trace('static', [hold, send(), back(undefined)], false)).toEqual(['held', 'sent', 'lost']);
    expect(trace('static', [hold, send(), back({ kind: 'busy', reason: 'network' })], false)).toEqual(['held', 'sent', 'done']);
    expect(trace('static', [hold, send(), back({ kind: 'busy', reason: 'network' })], true)).toEqual(['held', 'sent', 'retry:network:50']);
    // 409 and 503 are ours: resent even then.
    expect(trace('static', [hold, send(), back({ kind: 'busy', reason: 'in-progress' })], false)).toEqual(['held', 'sent', 'retry:in-progress:50']);
  });

  test('410 ends, a problem never retried fails, whatever the body', () => {
    for (const body of ['rebase', 'blind', 'static', 'replayed'] as const) {
      expect(trace(body, [hold, send(), back({ kind: 'ended' })])).toEqual(['held', 'sent', 'ended']);
      expect(trace(body, [hold, send(), back({ kind: 'done', error: new Error('422') })])).toEqual(['held', 'sent', 'failed']);
    }
  });

  test('an action that does not fit the phase changes nothing', () => {
    const queued = initialRequest('blind', true);
    expect(stepRequest(queued, send(), policy)).toBe(queued);
    expect(stepRequest(queued, done, policy)).toBe(queued);
    const settled = [hold, send(), done].reduce((s, a) => stepRequest(s, a, policy), queued);
    for (const action of [hold, send(), done, stale]) expect(stepRequest(settled, action, policy)).toBe(settled);
  });

  test('the first send fixes the start; attempts count every send', () => {
    const state = [hold, send(7), stale, send(70), stale, send(700)].reduce((s, a) => stepRequest(s, a, policy), initialRequest('blind', true));
    expect(state).toMatchObject({ phase: 'sent', attempt: 3, start: 7, conflicts: 2, busy: 0 });
  });

  test('random answers: every request settles, never after more than `retries` 412s, and stays serialisable', () => {
    const answer = fc.option(
      fc.oneof(
        fc.constantFrom<AnswerSummary>({ kind: 'done' }, { kind: 'stale' }, { kind: 'ended' }, { kind: 'done', error: 'x' }),
        fc.record({ kind: fc.constant('busy' as const), reason: fc.constantFrom('in-progress' as const, 'unavailable' as const, 'network' as const), retryAfter: fc.option(fc.nat(600), { nil: undefined }) }),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(fc.constantFrom<RequestBody>('rebase', 'blind', 'static', 'replayed'), fc.boolean(), fc.array(fc.tuple(answer, fc.double({ min: 0, max: 0.999, noNaN: true })), { minLength: 40, maxLength: 40 }), (body, resendable, answers) => {
        let state = stepRequest(initialRequest(body, resendable), hold, policy);
        let at = 0;
        for (const [next, random] of answers) {
          if (state.phase != 'held' && state.phase != 'retry') break;
          state = stepRequest(state, send((at += state.delay ?? 0)), policy);
          state = stepRequest(state, { type: 'answered', answer: next, at: (at += 30), random }, policy);
          expect(state.conflicts).toBeLessThanOrEqual(policy.retries);
        }
        // 40 answers are more than a deadline of 1000 ms allows busy ones and `retries` allows stale ones.
        expect(['done', 'ended', 'failed', 'lost', 'conflict', 'dropped', 'exhausted', 'deadline']).toContain(state.phase);
        expect(structuredClone(state)).toEqual(state);
      }),
      { numRuns: 300 },
    );
  });
});
