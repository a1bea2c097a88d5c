// The decisions of round trip 1 as tables, one row per rule: every 410 rule of PROTOCOL.md ("Which 410 clears
// the cookie") and every replay rule the server decides after `store.begin`. The creating request's own replay
// window (R38–R42) is creating-request.ts's, tested over HTTP in test/security/creating-replay.test.ts.
import { describe, expect, it } from 'vitest';
import { decideBegin, decideTombstone, ENDED_DETAIL, type BeginFacts } from '../../src/server/request/decide-begin.js';
import { decideIdentity } from '../../src/server/request/decide-identity.js';
import type { BeginResult, Tombstone } from '../../src/server/store.js';

const recorded = (epoch: string) => JSON.stringify({ s: 200, h: [['session-epoch', JSON.stringify(epoch)]], b: '', t: 0 });
/** `claim: undefined`: a begin without a claim (absent and undefined read alike). */
type Over = { readonly [K in keyof BeginResult]?: BeginResult[K] | undefined };
const live = (over: Over = {}) => ({ session: { epoch: 'E1' }, entries: new Map([['cart', { version: 2, value: '[]' }]]), claim: { status: 'claimed' }, ...over }) as BeginResult;
const none = (over: Over = {}) => ({ session: null, entries: new Map(), claim: { status: 'claimed' }, ...over }) as BeginResult;
const cookie = { creates: false, viaCookie: true };
const creating = { creates: true, viaCookie: false };
const facts = (over: Partial<BeginFacts> & { epoch?: string | null; base?: number }): BeginFacts => ({
  declaration: { epoch: over.epoch === undefined ? null : over.epoch, reads: new Map(), writes: new Map([['cart', over.base]]) },
  writes: true,
  claimed: true,
  identity: cookie,
  appIds: false,
  begun: live(),
  ...over,
});
const refuse = (detail: string, release: boolean, clearCookie: boolean, epoch = '', problem = 'sessionEnded') => ({ kind: 'refuse', problem, detail, release, clearCookie, epoch });

const tombstone: Tombstone = { sessionId: 'moved', epoch: 'E2', recordKey: 'login-key', replayUntil: 1_000 };

describe('decideBegin: after round trip 1', () => {
  const rows: [string, BeginFacts, unknown][] = [
    // Replay rules (R11–R13, the Idempotency table of PROTOCOL.md).
    ['R11 a finished record of the same fingerprint replays', facts({ begun: live({ claim: { status: 'replay', answer: recorded('E1') } }) }), { kind: 'replay', answer: recorded('E1') }],
    ['R12 a key used for another request: 422, nothing released', facts({ begun: live({ claim: { status: 'mismatch' } }) }), refuse(ENDED_DETAIL.keyReused, false, false, 'E1', 'keyReused')],
    ['R13 a claim in flight: 409 with the live epoch', facts({ begun: live({ claim: { status: 'in-flight', retryAfterMs: 1500 } }) }), { kind: 'in-flight', retryAfterMs: 1500, epoch: 'E1' }],
    ['an applied request whose session was evicted: 410, never applied again', facts({ begun: none({ claim: { status: 'evicted' } }) }), refuse(ENDED_DETAIL.evicted, false, false)],
    ['a destroyed session\'s record asked with its old cookie, no epoch: 410 that clears', facts({ begun: none({ claim: { status: 'replay', answer: recorded('E1') } }) }), refuse(ENDED_DETAIL.missing, false, true)],
    ['the same, naming an epoch: 410 that clears nothing', facts({ epoch: 'E1', begun: none({ claim: { status: 'replay', answer: recorded('E1') } }) }), refuse(ENDED_DETAIL.missing, false, false)],
    ['the logout\'s own answer (epoch "") replays with its old cookie', facts({ begun: none({ claim: { status: 'replay', answer: recorded('') } }) }), { kind: 'replay', answer: recorded('') }],
    // 410 rules in round trip 1 ("Which 410 clears the cookie").
    ['R18 a cookie naming no live session, no epoch: 410 that clears, claim released', facts({ begun: none() }), refuse(ENDED_DETAIL.missing, true, true)],
    ['R18/R21 the same, naming an epoch ("" too): 410 that clears nothing', facts({ epoch: '', begun: none() }), refuse(ENDED_DETAIL.missing, true, false)],
    ['a read without a claim of a dead cookie: 410 that clears, nothing to release', facts({ writes: false, claimed: false, begun: none({ claim: undefined }) }), refuse(ENDED_DETAIL.missing, false, true)],
    ['R20 a live cookie with another epoch: 410 naming the live epoch, clears nothing', facts({ epoch: 'E0' }), refuse(ENDED_DETAIL.otherEpoch, true, false, 'E1')],
    ['R32/R37 a write for an ended epoch of a live session: 410, clears nothing', facts({ epoch: 'old' }), refuse(ENDED_DETAIL.otherEpoch, true, false, 'E1')],
    ['an app id (resolver) naming no session, with an epoch: 410, clears nothing', facts({ identity: creating, appIds: true, epoch: 'E1', begun: none() }), refuse(ENDED_DETAIL.epochOfNothing, true, false)],
    ['R40 a creating request whose session exists past its record: 410, no cookie', facts({ identity: creating }), refuse(ENDED_DETAIL.tooOld, true, false)],
    // Bases and running.
    ['R23 a declared base that is not the current version: 412, claim released', facts({ base: 1 }), { kind: 'stale', why: '"cart" is at version 2, not 1', epoch: 'E1' }],
    ['R25 a read route is never stale', facts({ base: 1, writes: false, claimed: false, begun: live({ claim: undefined }) }), { kind: 'run', mode: 'existing', epoch: 'E1' }],
    ['R24 a current base runs the handler', facts({ base: 2, epoch: 'E1' }), { kind: 'run', mode: 'existing', epoch: 'E1' }],
    ['R15 a creating write runs on a session that does not exist yet', facts({ identity: creating, begun: none() }), { kind: 'run', mode: 'create', epoch: '' }],
    ['an app id that joins its existing session runs', facts({ identity: creating, appIds: true }), { kind: 'run', mode: 'existing', epoch: 'E1' }],
    ['an app id with a base above 0 and no session: 412', facts({ identity: creating, appIds: true, base: 3, begun: none() }), { kind: 'stale', why: '"cart" is at version 0, not 3', epoch: '' }],
    ['R35 a rotated-away id: the tombstone is asked about first', facts({ begun: none({ rotated: tombstone, claim: undefined }) }), { kind: 'ask-tombstone', tombstone }],
  ];
  it.each(rows)('%s', (_rule, input, decision) => {
    expect(decideBegin(input)).toEqual(decision);
  });

  it('a store that answers a claim without its outcome is a programming error (500)', () => {
    expect(() => decideBegin(facts({ begun: live({ claim: undefined }) }))).toThrow(TypeError);
  });
});

describe('decideTombstone: the id was rotated away by a login', () => {
  const rows: [string, Parameters<typeof decideTombstone>[0], unknown][] = [
    ['R36 the login resent with the old cookie within the window replays (new cookie included)', { replayed: 'answer', tombstone, now: 500, declaredEpoch: null }, { kind: 'replay', answer: 'answer' }],
    ['R35 within the window, no epoch: 410 that clears nothing', { replayed: null, tombstone, now: 999, declaredEpoch: null }, refuse(ENDED_DETAIL.rotated, false, false)],
    ['R35 past the window, no epoch: 410 that clears', { replayed: null, tombstone, now: 1_000, declaredEpoch: null }, refuse(ENDED_DETAIL.rotated, false, true)],
    ['R35 past the window, naming an epoch: 410 that clears nothing', { replayed: null, tombstone, now: 5_000, declaredEpoch: 'E1' }, refuse(ENDED_DETAIL.rotated, false, false)],
  ];
  it.each(rows)('%s', (_rule, input, decision) => {
    expect(decideTombstone(input)).toEqual(decision);
  });
});

describe('decideIdentity: before the store is asked', () => {
  const rows: [string, Parameters<typeof decideIdentity>, unknown][] = [
    ['R19 a malformed cookie: 410 that clears it, epoch or not', [{ kind: 'ended', detail: 'bad', clearCookie: 'sl_session' }, true], { kind: 'refuse', detail: 'bad', clearCookie: 'sl_session' }],
    ['R17 no cookie, but an epoch or a base above 0: 410, nothing to clear', [{ kind: 'ended', detail: 'none' }, true], { kind: 'refuse', detail: 'none' }],
    ['R16 a read without a cookie: a visitor', [{ kind: 'visitor' }, false], { kind: 'visitor' }],
    ['a write as a visitor (an app resolver answered null): 410', [{ kind: 'visitor' }, true], { kind: 'refuse', detail: 'This request has no session to write to' }],
    ['a session: round trip 1', [{ kind: 'session', id: 'x', creates: false, viaCookie: true }, true], { kind: 'session' }],
  ];
  it.each(rows)('%s', (_rule, input, decision) => {
    expect(decideIdentity(...input)).toEqual(decision);
  });
});
