import { describe, expect, it } from 'vitest';
import { memoryStore, type MemoryStore } from '../../src/server/stores/memory.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;

/** A creating write, as the validator makes it: begin with a claim, then commit the session with its record. */
async function create(store: MemoryStore, id: string, now: number, idleTtlMs = HOUR): Promise<void> {
  const claim = { key: `key-${id}`, fingerprint: 'f', leaseMs: 60_000, token: `t-${id}` };
  const begun = await store.begin({ sessionId: id, keys: ['k'], claim, now });
  expect(begun.claim).toEqual({ status: 'claimed' });
  const result = await store.commit({
    sessionId: id,
    session: { mode: 'create', epoch: `e-${id}` },
    expect: new Map([['k', 0]]),
    changes: new Map([['k', '"v"']]),
    destroy: false,
    record: { key: claim.key, fingerprint: 'f', answer: `answer-${id}`, state: 'done', retentionMs: 2 * HOUR, leaseMs: 60_000, token: claim.token },
    idleTtlMs,
    now,
  });
  expect(result.status).toBe('committed');
}

/** What a resend of the creating write finds: the session, and its record's answer. */
async function resend(store: MemoryStore, id: string, now: number) {
  const begun = await store.begin({ sessionId: id, keys: ['k'], claim: { key: `key-${id}`, fingerprint: 'f', leaseMs: 60_000, token: `again-${id}` }, now });
  if (begun.claim?.status === 'claimed') await store.release({ sessionId: id, key: `key-${id}`, token: `again-${id}` });
  return { session: begun.session, claim: begun.claim };
}

describe('memoryStore bounds', () => {
  it('sweeps 40,000 expired entries (20,000 sessions and their records) a bounded batch per call, never all in one request', async () => {
    const store = memoryStore({ sweepBatch: 64 });
    for (let i = 0; i < 20_000; i++) await create(store, `s${i}`, T0 + i);
    expect(store.stats()).toMatchObject({ sessions: 20_000, records: 20_000 });

    // Long after every session and record expired: each call visits at most 64 entries.
    const later = T0 + 10 * HOUR;
    await store.begin({ sessionId: 'someone', keys: [], now: later });
    expect(store.stats().lastSweep).toEqual({ visited: 64, removed: 64 });
    let calls = 1;
    while (store.stats().sessions > 0) {
      await store.begin({ sessionId: 'someone', keys: [], now: later });
      expect(store.stats().lastSweep.visited).toBeLessThanOrEqual(64);
      calls++;
    }
    expect(store.stats()).toMatchObject({ sessions: 0, records: 0 });
    expect(calls).toBe(Math.ceil(20_000 / 64));
  });

  it('keeps sessions and records together within maxEntries, evicting single-request sessions first and a record only with its session', async () => {
    const store = memoryStore({ maxEntries: 100 });
    // A user who came back: two requests.
    await create(store, 'user', T0);
    await store.begin({ sessionId: 'user', keys: ['k'], now: T0 + 1 });
    // A flood of bots, each one creating request, then never seen again.
    for (let i = 0; i < 1_000; i++) await create(store, `bot${i}`, T0 + 2 + i);
    const stats = store.stats();
    expect(stats.sessions + stats.records).toBeLessThanOrEqual(100);
    expect(stats.evicted).toBeGreaterThan(900);

    const user = await resend(store, 'user', T0 + 2_000);
    expect(user.session).toEqual({ epoch: 'e-user' });
    expect(user.claim).toEqual({ status: 'replay', answer: 'answer-user' });
    // Every bot is either whole (session and record) or gone whole: never a session whose record was evicted.
    let whole = 0;
    for (let i = 0; i < 1_000; i++) {
      const bot = await resend(store, `bot${i}`, T0 + 2_000);
      if (bot.session) {
        expect(bot.claim).toEqual({ status: 'replay', answer: `answer-bot${i}` });
        whole++;
      } else expect(bot.claim).toEqual({ status: 'claimed' });
    }
    expect(whole).toBeGreaterThan(0);
    expect(whole).toBeLessThan(100);
  });

  it('evicts the least recently used returning session once only returning sessions are left', async () => {
    const store = memoryStore({ maxEntries: 6 });
    for (const id of ['a', 'b', 'c']) {
      await create(store, id, T0);
      await store.begin({ sessionId: id, keys: [], now: T0 + 1 });
    }
    await store.begin({ sessionId: 'a', keys: [], now: T0 + 2 }); // a is now more recent than b
    await create(store, 'd', T0 + 3);
    await store.begin({ sessionId: 'd', keys: [], now: T0 + 4 });
    const alive = async (id: string) => (await store.begin({ sessionId: id, keys: [], now: T0 + 5 })).session !== null;
    expect(await alive('b')).toBe(false);
    expect([await alive('a'), await alive('c'), await alive('d')]).toEqual([true, true, true]);
  });

  it('checks its options', () => {
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(new TypeError('memoryStore(): maxEntries must be a positive integer, got 0'));
    expect(() => memoryStore({ sweepBatch: 1.5 })).toThrow(new TypeError('memoryStore(): sweepBatch must be a positive integer, got 1.5'));
  });
});

describe('memoryStore bounds: tombstones', () => {
  /** A login as the validator makes it: the session's final commit rotates it to a new id. */
  async function login(store: MemoryStore, from: string, to: string, now: number): Promise<void> {
    const begun = await store.begin({ sessionId: from, keys: ['k'], now });
    const result = await store.commit({
      sessionId: from,
      session: { mode: 'existing', epoch: begun.session!.epoch },
      expect: new Map(),
      changes: new Map(),
      destroy: false,
      rotate: { sessionId: to, epoch: `e-${to}`, keepKeys: true, replayWindowMs: 120_000 },
      idleTtlMs: HOUR,
      now,
    });
    expect(result.status).toBe('committed');
  }

  it('a flood of logins (each leaves a tombstone) stays within maxEntries; tombstones go only after every session that can go', async () => {
    const store = memoryStore({ maxEntries: 100 });
    await create(store, 'user', T0);
    await store.begin({ sessionId: 'user', keys: ['k'], now: T0 + 1 });
    await login(store, 'user', 'user-2', T0 + 2);
    // An attacker logs in over and over on one session: every rotation leaves a tombstone behind.
    await create(store, 'bot', T0 + 3);
    let id = 'bot';
    for (let i = 0; i < 1_000; i++) {
      const next = `bot-${i}`;
      await login(store, id, next, T0 + 4 + i);
      id = next;
    }
    const stats = store.stats();
    expect(stats.sessions + stats.records + stats.tombstones).toBeLessThanOrEqual(100);
    // The user's session survived: tombstones went before any session that came back, oldest first,
    // so the newest ones (those a late request of a rotated id may still hit) are kept.
    expect((await store.begin({ sessionId: 'user-2', keys: ['k'], now: T0 + 2_000 })).session).toEqual({ epoch: 'e-user-2' });
    expect((await store.begin({ sessionId: 'bot-998', keys: [], now: T0 + 2_000 })).rotated?.sessionId).toBe('bot-999');
    expect(stats.tombstones).toBeGreaterThan(0);
  });
});
