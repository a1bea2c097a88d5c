import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/server/store.js';
import { memoryStore, type MemoryStore } from '../../src/server/stores/memory.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const T0 = 1_800_000_000_000;
const HORIZON = 24 * HOUR + 30_000;

interface Write {
  /** The key's value: its length is what the write costs. */
  value?: string;
  /** What the validator passes: how long a resend could make the session again without the record. */
  resendHorizonMs?: number;
  key?: string;
}

/** A write as the validator makes it: begin with a claim, then commit with its record (creating the session if there is none). */
async function write(store: MemoryStore, id: string, now: number, { value = '"v"', resendHorizonMs, key = `key-${id}-${now}` }: Write = {}): Promise<string> {
  const claim = { key, fingerprint: 'f', leaseMs: 60_000, token: `t-${key}` };
  const begun = await store.begin({ sessionId: id, keys: ['k'], claim, now });
  expect(begun.claim).toEqual({ status: 'claimed' });
  const result = await store.commit({
    sessionId: id,
    session: begun.session ? { mode: 'existing', epoch: begun.session.epoch } : { mode: 'create', epoch: `e-${id}` },
    expect: new Map([['k', begun.entries.get('k')?.version ?? 0]]),
    changes: new Map([['k', value]]),
    destroy: false,
    record: { key, fingerprint: 'f', answer: `answer-${key}`, state: 'done', retentionMs: 48 * HOUR, leaseMs: 60_000, token: claim.token, ...(resendHorizonMs !== undefined ? { resendHorizonMs } : {}) },
    idleTtlMs: 14 * 24 * HOUR,
    now,
  });
  expect(result.status).toBe('committed');
  return key;
}

/** What a resend of the write under `key` finds (a claim it takes is given back). */
async function resend(store: MemoryStore, id: string, key: string, now: number) {
  const begun = await store.begin({ sessionId: id, keys: ['k'], claim: { key, fingerprint: 'f', leaseMs: 60_000, token: `again-${key}` }, now });
  if (begun.claim?.status === 'claimed') await store.release({ sessionId: id, key, token: `again-${key}` });
  return { session: begun.session, claim: begun.claim };
}

/** A user: two writes promoteAfterMs apart, so promoted; the horizons the validator gives in cookie mode (creating, then not). */
async function establish(store: MemoryStore, id: string, now: number, value?: string): Promise<string> {
  await write(store, id, now, { resendHorizonMs: 5 * MINUTE, ...(value ? { value } : {}) });
  return write(store, id, now + 5 * MINUTE, { resendHorizonMs: 0, ...(value ? { value } : {}) });
}

describe('memoryStore bounds: bytes and segments', () => {
  it('sweeps 20,000 expired sessions and their records a bounded batch per call, never all in one request', async () => {
    const store = memoryStore({ sweepBatch: 64 });
    for (let i = 0; i < 20_000; i++) await write(store, `s${i}`, T0 + i, { key: `key-s${i}` });
    expect(store.stats()).toMatchObject({ sessions: 20_000, records: 20_000 });
    const later = T0 + 60 * 24 * HOUR;
    await store.begin({ sessionId: 'someone', keys: [], now: later });
    expect(store.stats().lastSweep).toEqual({ visited: 64, removed: 64 });
    let calls = 1;
    while (store.stats().sessions > 0) {
      await store.begin({ sessionId: 'someone', keys: [], now: later });
      expect(store.stats().lastSweep.visited).toBeLessThanOrEqual(64);
      calls++;
    }
    expect(store.stats()).toMatchObject({ sessions: 0, records: 0, bytes: 0 });
    expect(calls).toBe(Math.ceil(20_000 / 64));
  });

  it('a flood of one-visit sessions is evicted among itself: promoted users stay, bytes never pass maxBytes', async () => {
    const store = memoryStore({ maxBytes: 200_000 });
    const users = ['alice', 'bob', 'carol'];
    const last = new Map<string, string>();
    for (const user of users) last.set(user, await establish(store, user, T0));
    for (let i = 0; i < 2_000; i++) await write(store, `bot${i}`, T0 + 6 * MINUTE + i, { value: `"${'b'.repeat(500)}"`, resendHorizonMs: 0 });
    const stats = store.stats();
    expect(stats.evicted).toBeGreaterThan(1_500);
    expect(stats.peakBytes).toBeLessThanOrEqual(200_000);
    expect(stats.segments.probation + stats.segments.evicted).toBeLessThanOrEqual(50_000);
    // resendHorizonMs 0 (a cookie's id): nothing of an evicted bot needs to stay.
    expect(stats.stubs).toBe(0);
    for (const user of users) {
      expect(await resend(store, user, last.get(user)!, T0 + 7 * MINUTE)).toEqual({ session: { epoch: `e-${user}` }, claim: { status: 'replay', answer: `answer-${last.get(user)}` } });
    }
  });

  it('a session is promoted only by a request promoteAfterMs after its first: two quick ones do not', async () => {
    const store = memoryStore({ maxBytes: 100_000, promoteAfterMs: 5 * MINUTE });
    await write(store, 'quick', T0);
    await write(store, 'quick', T0 + 1_000);
    await write(store, 'patient', T0);
    await store.begin({ sessionId: 'patient', keys: [], now: T0 + 5 * MINUTE });
    expect(store.stats().segments.protected).toBeGreaterThan(0);
    for (let i = 0; i < 500; i++) await write(store, `bot${i}`, T0 + 5 * MINUTE + i, { value: `"${'b'.repeat(200)}"`, resendHorizonMs: 0 });
    const now = T0 + 6 * MINUTE;
    expect((await store.begin({ sessionId: 'quick', keys: [], now })).session).toBeNull();
    expect((await store.begin({ sessionId: 'patient', keys: [], now })).session).toEqual({ epoch: 'e-patient' });
  });

  it('evicts the least recently used promoted session once only promoted ones are left, and never past maxBytes', async () => {
    const store = memoryStore({ maxBytes: 20_000, maxSessionBytes: 3_000 });
    const value = `"${'v'.repeat(500)}"`;
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await establish(store, id, T0, value);
    await store.begin({ sessionId: 'a', keys: [], now: T0 + 6 * MINUTE }); // a is now more recent than b
    for (const id of ['g', 'h', 'i', 'j', 'k', 'l']) await establish(store, id, T0 + 7 * MINUTE, value);
    expect(store.stats().evicted).toBeGreaterThan(0);
    const alive = async (id: string) => (await store.begin({ sessionId: id, keys: [], now: T0 + 20 * MINUTE })).session !== null;
    expect(await alive('b')).toBe(false);
    expect(await alive('a')).toBe(true);
    expect(await alive('l')).toBe(true);
    expect(store.stats().peakBytes).toBeLessThanOrEqual(20_000);
  });

  it("an evicted session's creating record leaves a stub for its resend horizon: the resend is refused as evicted, never claimed again", async () => {
    const store = memoryStore({ maxBytes: 100_000 });
    const key = await write(store, 'victim', T0, { resendHorizonMs: 5 * MINUTE });
    for (let i = 0; i < 500; i++) await write(store, `bot${i}`, T0 + 1 + i, { value: `"${'b'.repeat(200)}"`, resendHorizonMs: 0 });
    expect(store.stats().evicted).toBeGreaterThan(0);
    expect(await resend(store, 'victim', key, T0 + MINUTE)).toEqual({ session: null, claim: { status: 'evicted' } });
    expect(store.stats().stubs).toBe(1);
    // Past its horizon, no resend can make the session again: the stub is gone and a claim is a fresh one.
    expect((await resend(store, 'victim', key, T0 + 6 * MINUTE)).claim).toEqual({ status: 'claimed' });
    expect(store.stats().stubs).toBe(0);
  });

  it('without a horizon from the validator (ids the app gives), a stub stays for the whole resend horizon, 24 h 30 s', async () => {
    const store = memoryStore({ maxBytes: 100_000 });
    const key = await write(store, 'app-id', T0);
    for (let i = 0; i < 500; i++) await write(store, `bot${i}`, T0 + 1 + i, { value: `"${'b'.repeat(200)}"`, resendHorizonMs: 0 });
    expect((await resend(store, 'app-id', key, T0 + HORIZON - 1)).claim).toEqual({ status: 'evicted' });
    expect((await resend(store, 'app-id', key, T0 + HORIZON + 1)).claim).toEqual({ status: 'claimed' });
  });

  it('stubs that fill the probation share refuse new sessions (503), never a promoted session', async () => {
    const store = memoryStore({ maxBytes: 40_000, probationShare: 0.25, maxSessionBytes: 4_000 });
    const userKey = await establish(store, 'user', T0);
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      await write(store, `bot${i}`, T0 + 6 * MINUTE + i, { resendHorizonMs: 5 * MINUTE }).catch((error: unknown) => {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        refused++;
      });
    }
    expect(refused).toBeGreaterThan(0);
    expect(store.stats().refused).toBeGreaterThan(0);
    await write(store, 'user', T0 + 7 * MINUTE);
    expect((await resend(store, 'user', userKey, T0 + 7 * MINUTE)).claim).toEqual({ status: 'replay', answer: `answer-${userKey}` });
    expect(store.stats().peakBytes).toBeLessThanOrEqual(40_000);
  });
});

describe('memoryStore bounds: one session', () => {
  it('caps one session at maxSessionBytes: its next write is refused (503) while its records are younger than the resend horizon', async () => {
    const store = memoryStore({ maxBytes: 1_000_000, maxSessionBytes: 20_000 });
    const keys: string[] = [];
    let refusedAt = -1;
    for (let i = 0; i < 200 && refusedAt < 0; i++) {
      await write(store, 'greedy', T0 + i * MINUTE).then(
        (key) => keys.push(key),
        (error: unknown) => {
          expect(error).toBeInstanceOf(StoreUnavailableError);
          refusedAt = i;
        },
      );
    }
    expect(refusedAt).toBeGreaterThan(10);
    // Every record it holds still replays: none was dropped to make room.
    for (const key of keys) expect((await resend(store, 'greedy', key, T0 + refusedAt * MINUTE)).claim).toMatchObject({ status: 'replay' });
    // Once its oldest records are past the horizon, they make room for the next write.
    const key = await write(store, 'greedy', T0 + HORIZON + MINUTE);
    expect((await resend(store, 'greedy', key, T0 + HORIZON + MINUTE)).claim).toMatchObject({ status: 'replay' });
    expect((await resend(store, 'greedy', keys.at(-1)!, T0 + HORIZON + MINUTE)).claim).toMatchObject({ status: 'replay' });
    expect((await resend(store, 'greedy', keys[0]!, T0 + HORIZON + MINUTE)).claim).toEqual({ status: 'claimed' });
  });

  it('a flood of logins (each leaves a tombstone) stays within maxBytes, and a promoted user survives it', async () => {
    const store = memoryStore({ maxBytes: 100_000 });
    await establish(store, 'user', T0);
    let id = 'bot';
    await write(store, id, T0 + 6 * MINUTE);
    for (let i = 0; i < 1_000; i++) {
      const now = T0 + 6 * MINUTE + 1 + i;
      const begun = await store.begin({ sessionId: id, keys: ['k'], now });
      if (!begun.session) break;
      const next = `bot-${i}`;
      const result = await store.commit({
        sessionId: id,
        session: { mode: 'existing', epoch: begun.session.epoch },
        expect: new Map(),
        changes: new Map(),
        destroy: false,
        rotate: { sessionId: next, epoch: `e-${next}`, keepKeys: true, replayWindowMs: 120_000 },
        idleTtlMs: HOUR,
        now,
      });
      expect(result.status).toBe('committed');
      id = next;
    }
    const stats = store.stats();
    expect(stats.peakBytes).toBeLessThanOrEqual(100_000);
    expect(stats.evicted).toBeGreaterThan(0);
    expect((await store.begin({ sessionId: 'user', keys: ['k'], now: T0 + HOUR })).session).toEqual({ epoch: 'e-user' });
  });
});

describe('memoryStore bounds: a creating login evicted', () => {
  it("leaves a stub under the old id: the login's resend without a cookie is refused as evicted, not applied again", async () => {
    const store = memoryStore({ maxBytes: 100_000 });
    const key = 'login-key';
    const claim = { key, fingerprint: 'f', leaseMs: 60_000, token: 't' };
    expect((await store.begin({ sessionId: 'old', keys: ['user'], claim, now: T0 })).claim).toEqual({ status: 'claimed' });
    const committed = await store.commit({
      sessionId: 'old',
      session: { mode: 'create', epoch: 'e-old' },
      expect: new Map([['user', 0]]),
      changes: new Map([['user', '"u"']]),
      destroy: false,
      rotate: { sessionId: 'new', epoch: 'e-new', keepKeys: true, replayWindowMs: 120_000 },
      record: { key, fingerprint: 'f', answer: 'login answer', state: 'done', retentionMs: 48 * HOUR, resendHorizonMs: 5 * MINUTE, leaseMs: 60_000, token: 't' },
      idleTtlMs: HOUR,
      now: T0,
    });
    expect(committed.status).toBe('committed');
    expect((await store.begin({ sessionId: 'old', keys: [], now: T0 + 1 })).rotated?.sessionId).toBe('new');
    for (let i = 0; i < 500; i++) await write(store, `bot${i}`, T0 + 2 + i, { value: `"${'b'.repeat(200)}"`, resendHorizonMs: 0 });
    const now = T0 + MINUTE;
    expect((await store.begin({ sessionId: 'old', keys: [], now })).rotated).toBeUndefined();
    expect(await resend(store, 'old', key, now)).toEqual({ session: null, claim: { status: 'evicted' } });
    expect(await resend(store, 'new', key, now)).toEqual({ session: null, claim: { status: 'evicted' } });
  });
});

describe('memoryStore options', () => {
  it('checks them with exact messages', () => {
    expect(() => memoryStore({ maxBytes: 0 })).toThrow(new TypeError('memoryStore(): maxBytes must be a positive integer, got 0'));
    expect(() => memoryStore({ sweepBatch: 1.5 })).toThrow(new TypeError('memoryStore(): sweepBatch must be a positive integer, got 1.5'));
    expect(() => memoryStore({ probationShare: 1 })).toThrow(new TypeError('memoryStore(): probationShare must be a number between 0 and 1 (exclusive), got 1'));
    expect(() => memoryStore({ maxBytes: 1_000_000, maxSessionBytes: 500_000 })).toThrow(
      new TypeError('memoryStore(): maxSessionBytes (500000) must fit in the probation segment (maxBytes × probationShare = 250000)'),
    );
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(new TypeError('memoryStore(): maxEntries must be a positive integer, got 0'));
  });

  it('reads the deprecated maxEntries as maxBytes = maxEntries × 2048', () => {
    expect(memoryStore({ maxEntries: 1_000 }).stats().maxBytes).toBe(2_048_000);
    expect(memoryStore({ maxEntries: 1_000, maxBytes: 5_000_000 }).stats().maxBytes).toBe(5_000_000);
    expect(memoryStore().stats().maxBytes).toBe(256 * 1024 * 1024);
  });
});
