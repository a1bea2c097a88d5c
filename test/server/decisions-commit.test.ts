// The decisions after the handler and after round trip 2 as tables, one row per rule.
import { describe, expect, it } from 'vitest';
import { InvalidValueError, SessionCommitError, UndeclaredKeyError } from '../../src/server/errors.js';
import { commitCookie, decideCommitResult, decideOutcome, type CommitFacts } from '../../src/server/request/decide-commit.js';
import { commitFailureAnswer, decideAfterHandler, decideFinalCommitFailure, type HandlerFacts } from '../../src/server/request/decide-handler.js';
import type { BeginResult } from '../../src/server/store.js';

const thrown = new Error('boom');
const lost = new SessionCommitError('stale', new Map());
const handler = (over: Partial<HandlerFacts>): HandlerFacts => ({ outcome: { kind: 'answered', status: 200 }, partial: false, hasWork: true, claimLost: null, ...over });

describe('decideAfterHandler', () => {
  const rows: [string, HandlerFacts, unknown][] = [
    ['a change commits', handler({}), { kind: 'commit' }],
    ['R14 no change: the answer, the claim released', handler({ hasWork: false }), { kind: 'answer', release: true }],
    ['no change after a mid-request commit: the final commit records the answer', handler({ hasWork: false, partial: true }), { kind: 'commit' }],
    ['a 5xx answer commits nothing and releases', handler({ outcome: { kind: 'answered', status: 503 } }), { kind: 'answer', release: true }],
    ['a 5xx after a mid-request commit: partly-committed', handler({ outcome: { kind: 'answered', status: 500 }, partial: true }), { kind: 'partly-committed', detail: 'The handler answered 500 after a mid-request commit' }],
    ['R29 a handler that throws: 500 handler-failed, released', handler({ outcome: { kind: 'threw', error: thrown } }), { kind: 'fail', release: true, failure: { kind: 'problem', problem: 'handlerFailed', detail: 'The route handler threw; nothing was committed', extensions: {}, report: thrown } }],
    ['a throw after a mid-request commit: partly-committed', handler({ outcome: { kind: 'threw', error: thrown }, partial: true }), { kind: 'partly-committed', detail: 'The handler failed after a mid-request commit', report: thrown }],
    ['a mid-request commit lost the claim: nothing may commit after it', handler({ claimLost: lost }), { kind: 'fail', release: true, failure: { kind: 'commit-failed', error: lost } }],
  ];
  it.each(rows)('%s', (_rule, input, decision) => {
    expect(decideAfterHandler(input, new Set())).toEqual(decision);
  });

  it('R27 an invalid value: 422 naming the key; a server-only key\'s issues are not sent', () => {
    const error = new InvalidValueError('card', [{ path: ['number'], message: 'quoted 4111' }]);
    const outcome = { kind: 'threw' as const, error };
    expect(decideAfterHandler(handler({ outcome }), new Set())).toMatchObject({ failure: { problem: 'invalidValue', extensions: { key: 'card', issues: error.issues } } });
    const hidden = decideAfterHandler(handler({ outcome }), new Set(['card']));
    expect(JSON.stringify(hidden)).not.toContain('4111');
  });

  it('an undeclared key: 500 undeclared-key naming it', () => {
    const outcome = { kind: 'threw' as const, error: new UndeclaredKeyError('x', 'read') };
    expect(decideAfterHandler(handler({ outcome }), new Set())).toMatchObject({ kind: 'fail', failure: { problem: 'undeclaredKey', extensions: { key: 'x' } } });
  });
});

describe('a final commit that applied nothing', () => {
  const rows: [string, [SessionCommitError, boolean], unknown][] = [
    ['R28 stale: 412', [new SessionCommitError('stale'), false], { kind: 'fail', release: true, failure: { kind: 'commit-failed', error: expect.any(SessionCommitError) } }],
    ['after a mid-request commit: partly-committed', [new SessionCommitError('gone'), true], { kind: 'partly-committed', detail: 'The final commit failed after a mid-request commit' }],
    ['R44 unknown outcome after a mid-request commit: 503, nothing recorded over it', [new SessionCommitError('unavailable'), true], { kind: 'fail', release: true, failure: { kind: 'commit-failed', error: expect.any(SessionCommitError) } }],
  ];
  it.each(rows)('%s', (_rule, input, decision) => {
    expect(decideFinalCommitFailure(...input)).toEqual(decision);
  });

  const answers: [string, SessionCommitError['reason'], unknown][] = [
    ['a 410 at commit time clears nothing (ended while the request ran), epoch ""', 'gone', { kind: 'problem', problem: 'sessionEnded', detail: 'The session ended while the request ran; nothing was applied', epoch: '', clearCookie: false }],
    ['stale: 412 with the current state', 'stale', { kind: 'stale' }],
    ['R44 unknown: 503', 'unavailable', { kind: 'problem', problem: 'storeUnavailable', detail: expect.stringContaining('resend'), clearCookie: false }],
  ];
  it.each(answers)('%s', (_rule, reason, answer) => {
    expect(commitFailureAnswer(reason)).toEqual(answer);
  });
});

describe('decideCommitResult: what round trip 2 returned', () => {
  const versions = new Map([['cart', 3]]);
  const facts = (over: Partial<CommitFacts> = {}): CommitFacts => ({ rotation: null, retried: false, partial: false, claimed: true, nextVersions: versions, ...over });
  const rotation = { sessionId: 'new', epoch: 'E2' };
  const rows: [string, Parameters<typeof decideCommitResult>, unknown][] = [
    ['committed: the store\'s versions', [{ status: 'committed', versions: new Map([['cart', 7]]) }, facts()], { kind: 'committed', versions: new Map([['cart', 7]]) }],
    ['applied (its outcome query found its record): each changed key\'s base + 1', ['applied', facts()], { kind: 'committed', versions }],
    ['stale: the claim is lost to the store', [{ status: 'stale', entries: new Map() }, facts()], { kind: 'failed', reason: 'stale', entries: new Map(), claimLost: true }],
    ['gone after a mid-request commit: the partial record stays', [{ status: 'gone' }, facts({ partial: true })], { kind: 'failed', reason: 'gone', claimLost: false }],
    ['gone, rotated, on a first commit: 410', [{ status: 'gone', rotated: true }, facts({ rotation })], { kind: 'failed', reason: 'gone', claimLost: true }],
    ['gone, rotated, on a rotation\'s retry: ask whether the first one landed', [{ status: 'gone', rotated: true }, facts({ rotation, retried: true })], { kind: 'ask-outcome' }],
    ['gone, rotated, on a retry that does not rotate: 410', [{ status: 'gone', rotated: true }, facts({ retried: true })], { kind: 'failed', reason: 'gone', claimLost: true }],
    ['occupied: the app\'s id holds something', [{ status: 'occupied' }, facts()], { kind: 'occupied' }],
  ];
  it.each(rows)('%s', (_rule, input, decision) => {
    expect(decideCommitResult(...input)).toEqual(decision);
  });
});

describe('decideOutcome: what became of a commit whose outcome was unknown', () => {
  const rotation = { sessionId: 'new', epoch: 'E2' };
  const tomb = (over = {}): BeginResult => ({ session: null, entries: new Map(), rotated: { sessionId: 'new', epoch: 'E2', recordKey: 'k', replayUntil: 9, ...over } });
  const rows: [string, Parameters<typeof decideOutcome>, string][] = [
    ['its record is there: applied', [{ session: { epoch: 'E' }, entries: new Map(), claim: { status: 'replay', answer: '{}' } }, 'k', null], 'applied'],
    ['its claim is still pending: not applied, send it again', [{ session: { epoch: 'E' }, entries: new Map(), claim: { status: 'claimed' } }, 'k', null], 'not-applied'],
    ['the id rotated to its own new id and epoch by its key: applied', [tomb(), 'k', rotation], 'applied'],
    ['rotated by another key: unknown', [tomb({ recordKey: 'other' }), 'k', rotation], 'unknown'],
    ['rotated to another epoch (another attempt\'s rotation): unknown', [tomb({ epoch: 'E3' }), 'k', rotation], 'unknown'],
    ['rotated, but this commit does not rotate: unknown', [tomb(), 'k', null], 'unknown'],
    ['another attempt holds the key: unknown', [{ session: { epoch: 'E' }, entries: new Map(), claim: { status: 'in-flight', retryAfterMs: 1 } }, 'k', null], 'unknown'],
    ['the store is still down: unknown', [null, 'k', rotation], 'unknown'],
  ];
  it.each(rows)('%s', (_rule, input, outcome) => {
    expect(decideOutcome(...input)).toBe(outcome);
  });
});

describe('commitCookie: the Set-Cookie of a commit\'s answer', () => {
  const base = { appIds: false, destroy: false, rotationCookie: null, creationCookie: null, current: null };
  const rows: [string, Parameters<typeof commitCookie>[0], string | null][] = [
    ['R31 a logout\'s answer clears nothing and sets nothing', { ...base, destroy: true, current: 'c' }, null],
    ['R34 a rotation sets the new cookie', { ...base, rotationCookie: 'new', creationCookie: 'made' }, 'new'],
    ['R15 a creation sets its cookie', { ...base, creationCookie: 'made' }, 'made'],
    ['a write of a live session sets what the request already answers', { ...base, current: 'c' }, 'c'],
    ['the app\'s ids: no cookie ever', { ...base, appIds: true, rotationCookie: 'new' }, null],
  ];
  it.each(rows)('%s', (_rule, input, cookie) => {
    expect(commitCookie(input)).toBe(cookie);
  });
});
