import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator } from '../src/server/index.js';
import type { BeginInput, CommitInput, IdempotencyRecord, SessionStore, StoredEntry } from '../src/server/store.js';
import { memoryStore } from '../src/server/stores/memory.js';
import { countingStore, type StoreCalls } from './support/counting-store.js';
import { startServer } from './support/server.js';
import { Browser, idemKey } from './support/session-http.js';

/**
 * The one conformance suite every SessionStore passes: the memory, Redis and
 * PostgreSQL stores run these same tests (test/stores/*.test.ts).
 */
export interface ConformanceTarget {
  /**
   * Opens a store on this suite's own namespace (key or table prefix). Each
   * call may open its own connections to the same data: two opened stores
   * act like two app servers sharing one store.
   */
  open(): SessionStore | Promise<SessionStore>;
  /** Removes what the suite stored; runs after every opened store is closed. */
  cleanup?(): Promise<void>;
}

const HOUR = 3_600_000;
const TTL = HOUR;
const LEASE = 30_000;
const RETENTION = 48 * HOUR;

export function storeConformance(name: string, target: ConformanceTarget): void {
  describe(`${name}: SessionStore conformance`, () => {
    let store: SessionStore;
    let peer: SessionStore;
    const opened: SessionStore[] = [];

    beforeAll(async () => {
      store = await target.open();
      peer = await target.open();
      opened.push(store, peer);
    });

    afterAll(async () => {
      for (const each of opened) await each.close();
      await target.cleanup?.();
    });

    // Time moves only through `now`; a fresh base per test keeps tests independent.
    const base = () => Date.now();
    const sid = () => `s-${randomUUID()}`;
    const idem = () => `idem-${randomUUID()}`;
    const json = (value: unknown) => JSON.stringify(value);

    const begin = (input: Partial<BeginInput> & { sessionId: string; now: number }, on = store) => on.begin({ keys: [], ...input });
    const commit = (input: Partial<CommitInput> & { sessionId: string; now: number }, on = store) =>
      on.commit({
        session: { mode: 'existing', epoch: 'e1' },
        expect: new Map(),
        changes: new Map(),
        destroy: false,
        idleTtlMs: TTL,
        ...input,
      });

    /** Creates a session with epoch e1 holding `values` (each at version 1). */
    async function createSession(sessionId: string, now: number, values: Record<string, unknown> = {}, epoch = 'e1') {
      const keys = Object.keys(values);
      const result = await commit({
        sessionId,
        now,
        session: { mode: 'create', epoch },
        expect: new Map(keys.map((key) => [key, 0])),
        changes: new Map(keys.map((key) => [key, json(values[key])])),
      });
      expect(result.status).toBe('committed');
    }

    /** A record of the attempt holding `token` (a successful commit writes it whatever the token). */
    const doneRecord = (key: string, answer = 'answer-1', fingerprint = 'fp-1', token = 'token-of-no-claim'): IdempotencyRecord => ({
      key,
      fingerprint,
      answer,
      state: 'done',
      retentionMs: RETENTION,
      leaseMs: LEASE,
      token,
    });
    /** A claim of a new attempt: each has its own random token. */
    const claim = (key: string, fingerprint = 'fp-1', leaseMs = LEASE) => ({ key, fingerprint, leaseMs, token: randomUUID() });
    const entries = (map: ReadonlyMap<string, StoredEntry>) => Object.fromEntries(map);

    describe('versions', () => {
      it('reads no session and no entries for a session that never existed', async () => {
        const result = await begin({ sessionId: sid(), keys: ['a'], now: base() });
        expect(result.session).toBeNull();
        expect(result.entries.size).toBe(0);
        expect(result.claim).toBeUndefined();
      });

      it('returns an entry for every requested key, version 0 for keys that never existed', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 'x', b: [1, 2] });
        const result = await begin({ sessionId: id, keys: ['a', 'b', 'never', 'a b/{c}'], now });
        expect(result.session).toEqual({ epoch: 'e1' });
        expect(entries(result.entries)).toEqual({
          a: { version: 1, value: '"x"' },
          b: { version: 1, value: '[1,2]' },
          never: { version: 0 },
          'a b/{c}': { version: 0 },
        });
      });

      it('keeps values opaque and exact, unicode included', async () => {
        const id = sid();
        const now = base();
        const value = json({ text: 'café ☕ \u2028 "q" \\ 𝄞', n: 1e21 });
        await commit({ sessionId: id, now, session: { mode: 'create', epoch: 'e1' }, expect: new Map([['k', 0]]), changes: new Map([['k', value]]) });
        const result = await begin({ sessionId: id, keys: ['k'], now });
        expect(result.entries.get('k')).toEqual({ version: 1, value });
      });

      it('bumps the version of each changed key by exactly 1, and leaves the others alone', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1, b: 1 });
        const result = await commit({ sessionId: id, now, expect: new Map([['a', 1], ['b', 1]]), changes: new Map([['a', json(2)]]) });
        expect(result).toEqual({ status: 'committed', versions: new Map([['a', 2]]) });
        const read = await begin({ sessionId: id, keys: ['a', 'b'], now });
        expect(entries(read.entries)).toEqual({ a: { version: 2, value: '2' }, b: { version: 1, value: '1' } });
      });

      it('keeps a delete marker: a deleted key keeps its version, and a later set continues from it', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 'x' });
        const deleted = await commit({ sessionId: id, now, expect: new Map([['a', 1]]), changes: new Map([['a', null]]) });
        expect(deleted).toEqual({ status: 'committed', versions: new Map([['a', 2]]) });
        expect((await begin({ sessionId: id, keys: ['a'], now })).entries.get('a')).toEqual({ version: 2 });
        // A writer that still believes the key absent-since-ever (v0) is stale: the number 0 never comes back.
        expect((await commit({ sessionId: id, now, expect: new Map([['a', 0]]), changes: new Map([['a', json('y')]]) })).status).toBe('stale');
        const set = await commit({ sessionId: id, now, expect: new Map([['a', 2]]), changes: new Map([['a', json('y')]]) });
        expect(set).toEqual({ status: 'committed', versions: new Map([['a', 3]]) });
        expect((await begin({ sessionId: id, keys: ['a'], now })).entries.get('a')).toEqual({ version: 3, value: '"y"' });
      });

      it('versions a delete of a key that never existed', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now);
        const result = await commit({ sessionId: id, now, expect: new Map([['a', 0]]), changes: new Map([['a', null]]) });
        expect(result).toEqual({ status: 'committed', versions: new Map([['a', 1]]) });
        expect((await begin({ sessionId: id, keys: ['a'], now })).entries.get('a')).toEqual({ version: 1 });
      });
    });

    describe('compare-and-swap', () => {
      it('checks every expected key, including unchanged ones, and applies nothing when one moved', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1, b: 1 });
        await commit({ sessionId: id, now, expect: new Map([['b', 1]]), changes: new Map([['b', json(2)]]) });
        const result = await commit({ sessionId: id, now, expect: new Map([['a', 1], ['b', 1]]), changes: new Map([['a', json(99)]]) });
        expect(result.status).toBe('stale');
        if (result.status === 'stale') expect(entries(result.entries)).toEqual({ a: { version: 1, value: '1' }, b: { version: 2, value: '2' } });
        expect((await begin({ sessionId: id, keys: ['a'], now })).entries.get('a')).toEqual({ version: 1, value: '1' });
      });

      it('treats an expected version 0 as "absent": stale once the key exists', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const result = await commit({ sessionId: id, now, expect: new Map([['a', 0], ['c', 0]]), changes: new Map([['c', json(1)]]) });
        expect(result.status).toBe('stale');
        if (result.status === 'stale') expect(entries(result.entries)).toEqual({ a: { version: 1, value: '1' }, c: { version: 0 } });
        expect((await begin({ sessionId: id, keys: ['c'], now })).entries.get('c')).toEqual({ version: 0 });
      });

      it('applies a commit with several changes and deletes all at once', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1, b: 1, c: 1 });
        const result = await commit({
          sessionId: id,
          now,
          expect: new Map([['a', 1], ['b', 1], ['c', 1], ['d', 0]]),
          changes: new Map<string, string | null>([['a', json(2)], ['b', null], ['d', json('new')]]),
        });
        expect(result).toEqual({ status: 'committed', versions: new Map([['a', 2], ['b', 2], ['d', 1]]) });
        const read = await begin({ sessionId: id, keys: ['a', 'b', 'c', 'd'], now });
        expect(entries(read.entries)).toEqual({ a: { version: 2, value: '2' }, b: { version: 2 }, c: { version: 1, value: '1' }, d: { version: 1, value: '"new"' } });
      });
    });

    describe('sessions and epochs', () => {
      it("'create' makes the session with its epoch", async () => {
        const id = sid();
        const now = base();
        const result = await commit({ sessionId: id, now, session: { mode: 'create', epoch: 'fresh' }, expect: new Map([['a', 0]]), changes: new Map([['a', json(1)]]) });
        expect(result).toEqual({ status: 'committed', versions: new Map([['a', 1]]) });
        expect((await begin({ sessionId: id, keys: [], now })).session).toEqual({ epoch: 'fresh' });
      });

      it("'create' may make an empty session", async () => {
        const id = sid();
        const now = base();
        expect((await commit({ sessionId: id, now, session: { mode: 'create', epoch: 'e1' } })).status).toBe('committed');
        expect((await begin({ sessionId: id, keys: ['a'], now })).session).toEqual({ epoch: 'e1' });
      });

      it("'create' fails as stale, applying nothing, when the session exists", async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const result = await commit({ sessionId: id, now, session: { mode: 'create', epoch: 'other' }, expect: new Map([['a', 0]]), changes: new Map([['a', json(2)]]) });
        expect(result.status).toBe('stale');
        if (result.status === 'stale') expect(result.entries.get('a')).toEqual({ version: 1, value: '1' });
        const read = await begin({ sessionId: id, keys: ['a'], now });
        expect(read.session).toEqual({ epoch: 'e1' });
        expect(read.entries.get('a')).toEqual({ version: 1, value: '1' });
      });

      it("'existing' is gone when the session is missing, and creates nothing", async () => {
        const id = sid();
        const now = base();
        expect(await commit({ sessionId: id, now, expect: new Map([['a', 0]]), changes: new Map([['a', json(1)]]) })).toEqual({ status: 'gone' });
        expect((await begin({ sessionId: id, keys: ['a'], now })).session).toBeNull();
      });

      it("'existing' is gone when the epoch differs, and applies nothing", async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const result = await commit({ sessionId: id, now, session: { mode: 'existing', epoch: 'e0' }, expect: new Map([['a', 1]]), changes: new Map([['a', json(2)]]) });
        expect(result).toEqual({ status: 'gone' });
        expect((await begin({ sessionId: id, keys: ['a'], now })).entries.get('a')).toEqual({ version: 1, value: '1' });
      });

      it('destroy removes the session and all its keys; nothing resurrects it', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1, b: 2 });
        expect((await commit({ sessionId: id, now, expect: new Map([['a', 1]]), destroy: true })).status).toBe('committed');
        expect(await begin({ sessionId: id, keys: ['a', 'b'], now })).toEqual({ session: null, entries: new Map() });
        // A slow request of the old session, finishing later, is gone.
        expect(await commit({ sessionId: id, now: now + 1, expect: new Map([['b', 1]]), changes: new Map([['b', json(3)]]) })).toEqual({ status: 'gone' });
        expect((await begin({ sessionId: id, keys: ['b'], now: now + 1 })).session).toBeNull();
      });

      it('destroy is a compare-and-swap too: stale when a checked key moved', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        expect((await commit({ sessionId: id, now, expect: new Map([['a', 0]]), destroy: true })).status).toBe('stale');
        expect((await begin({ sessionId: id, keys: [], now })).session).toEqual({ epoch: 'e1' });
      });

      it("'create' with destroy commits, leaves no session, and keeps the record", async () => {
        const id = sid();
        const now = base();
        const key = idem();
        await begin({ sessionId: id, claim: claim(key), now });
        const result = await commit({ sessionId: id, now, session: { mode: 'create', epoch: 'e1' }, expect: new Map([['a', 0]]), destroy: true, record: doneRecord(key, 'bye') });
        expect(result.status).toBe('committed');
        const read = await begin({ sessionId: id, keys: ['a'], claim: claim(key), now: now + 1 });
        expect(read).toEqual({ session: null, entries: new Map(), claim: { status: 'replay', answer: 'bye' } });
      });

      it('a new session after a destroy starts empty, with its new epoch', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        await commit({ sessionId: id, now, destroy: true });
        await createSession(id, now + 1, {}, 'e2');
        const read = await begin({ sessionId: id, keys: ['a'], now: now + 1 });
        expect(read.session).toEqual({ epoch: 'e2' });
        expect(read.entries.get('a')).toEqual({ version: 0 });
      });
    });

    describe('rotation (login) and tombstones', () => {
      const WINDOW = 120_000;
      const rotateTo = (sessionId: string, epoch = 'e2', keepKeys = true) => ({ sessionId, epoch, keepKeys, replayWindowMs: WINDOW });
      // The new id as the validator draws it: a store may want it in a place of its choosing (a Cluster's slot).
      const fromAndTo = (): [string, string] => {
        const from = sid();
        return [from, store.rotationId?.(from) ?? sid()];
      };

      it('moves keys, versions and records to the new id with the new epoch; the old id is a tombstone that tells where and by whom', async () => {
        const [from, to] = fromAndTo();
        const now = base();
        const [earlier, login] = [idem(), idem()];
        await createSession(from, now, { a: 1, b: 2 });
        await begin({ sessionId: from, claim: claim(earlier), now });
        await commit({ sessionId: from, now, expect: new Map([['b', 1]]), changes: new Map([['b', json(3)]]), record: doneRecord(earlier, 'earlier') });
        await begin({ sessionId: from, claim: claim(login), now });
        const result = await commit({
          sessionId: from,
          now,
          expect: new Map([['u', 0]]),
          changes: new Map([['u', json('ada')]]),
          record: doneRecord(login, 'welcome'),
          rotate: rotateTo(to),
        });
        expect(result).toEqual({ status: 'committed', versions: new Map([['u', 1]]) });

        const moved = await begin({ sessionId: to, keys: ['a', 'b', 'u'], now: now + 1 }, peer);
        expect(moved.session).toEqual({ epoch: 'e2' });
        expect(entries(moved.entries)).toEqual({ a: { version: 1, value: '1' }, b: { version: 2, value: '3' }, u: { version: 1, value: '"ada"' } });
        // Both records moved: the earlier write's and the rotating request's own.
        expect((await begin({ sessionId: to, claim: claim(earlier), now: now + 1 }, peer)).claim).toEqual({ status: 'replay', answer: 'earlier' });
        expect((await begin({ sessionId: to, claim: claim(login), now: now + 1 }, peer)).claim).toEqual({ status: 'replay', answer: 'welcome' });

        const old = await begin({ sessionId: from, keys: ['a'], claim: claim(earlier), touch: { idleTtlMs: TTL }, now: now + 1 }, peer);
        expect(old).toEqual({ session: null, entries: new Map(), rotated: { sessionId: to, epoch: 'e2', recordKey: login, replayUntil: now + WINDOW } });
      });

      it('a tombstone claims nothing, is never written to nor created over, and ends with its idle time', async () => {
        const [from, to] = fromAndTo();
        const now = base();
        await createSession(from, now, { a: 1 });
        await commit({ sessionId: from, now, rotate: rotateTo(to) });
        const key = idem();
        expect((await begin({ sessionId: from, claim: claim(key), now: now + 1 })).claim).toBeUndefined();
        // Had the begin claimed the key, this second claim would be in flight.
        expect((await begin({ sessionId: from, claim: claim(key), now: now + 2 })).rotated?.sessionId).toBe(to);
        expect(await commit({ sessionId: from, now: now + 3, expect: new Map([['a', 1]]), changes: new Map([['a', json(9)]]) })).toEqual({ status: 'gone', rotated: true });
        expect(await commit({ sessionId: from, now: now + 3, session: { mode: 'create', epoch: 'e9' }, expect: new Map([['a', 0]]), changes: new Map([['a', json(9)]]) })).toEqual({
          status: 'gone',
          rotated: true,
        });
        expect((await begin({ sessionId: to, keys: ['a'], now: now + 4 })).entries.get('a')).toEqual({ version: 1, value: '1' });
        await store.touch({ sessionId: from, epoch: 'e1', idleTtlMs: TTL * 10, now: now + 5 });
        // The new session lives on (it was committed at `now`, so it expires with the same idle time, unless used)…
        expect((await begin({ sessionId: to, keys: [], now: now + TTL - 1 })).session).toEqual({ epoch: 'e2' });
        // …and the tombstone ends with the old session's idle time.
        expect(await begin({ sessionId: from, keys: [], now: now + TTL })).toEqual({ session: null, entries: new Map() });
      });

      it('keepKeys: false starts the new session empty (records still move)', async () => {
        const [from, to] = fromAndTo();
        const now = base();
        const key = idem();
        await createSession(from, now, { a: 1 });
        await begin({ sessionId: from, claim: claim(key), now });
        await commit({ sessionId: from, now, expect: new Map([['u', 0]]), changes: new Map([['u', json('ada')]]), record: doneRecord(key), rotate: rotateTo(to, 'e2', false) });
        const moved = await begin({ sessionId: to, keys: ['a', 'u'], claim: claim(key), now: now + 1 });
        expect(moved).toEqual({ session: { epoch: 'e2' }, entries: new Map([['a', { version: 0 }], ['u', { version: 0 }]]), claim: { status: 'replay', answer: 'answer-1' } });
      });

      it("rotates in 'create' mode: the session is made at the new id, the old id is a tombstone", async () => {
        const [from, to] = fromAndTo();
        const now = base();
        const result = await commit({ sessionId: from, now, session: { mode: 'create', epoch: 'e1' }, expect: new Map([['a', 0]]), changes: new Map([['a', json(1)]]), rotate: rotateTo(to) });
        expect(result.status).toBe('committed');
        expect((await begin({ sessionId: to, keys: ['a'], now })).entries.get('a')).toEqual({ version: 1, value: '1' });
        expect((await begin({ sessionId: from, keys: [], now })).rotated?.epoch).toBe('e2');
      });

      it('a rotating commit is a compare-and-swap: stale applies and moves nothing, gone moves nothing', async () => {
        const [from, to] = fromAndTo();
        const now = base();
        await createSession(from, now, { a: 1 });
        expect((await commit({ sessionId: from, now, expect: new Map([['a', 0]]), changes: new Map([['a', json(2)]]), rotate: rotateTo(to) })).status).toBe('stale');
        expect((await commit({ sessionId: from, now, session: { mode: 'existing', epoch: 'e0' }, rotate: rotateTo(to) })).status).toBe('gone');
        expect((await begin({ sessionId: from, keys: ['a'], now })).entries.get('a')).toEqual({ version: 1, value: '1' });
        expect(await begin({ sessionId: to, keys: [], now })).toEqual({ session: null, entries: new Map() });
      });

      it('no update is lost across a rotation: every increment that commits is in the new session, every other one is gone', async () => {
        const [from, to] = fromAndTo();
        const now = base();
        await createSession(from, now, { n: 0 });
        let committed = 0;
        // Each turn yields to the event loop: a store that answers without I/O (memory) would otherwise never let the rotation start.
        const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
        const writer = async (on: SessionStore) => {
          for (;;) {
            await turn();
            const read = await on.begin({ sessionId: from, keys: ['n'], now });
            if (!read.session) return;
            const entry = read.entries.get('n')!;
            const result = await commit({ sessionId: from, now, expect: new Map([['n', entry.version]]), changes: new Map([['n', json(Number(entry.value) + 1)]]) }, on);
            if (result.status === 'committed') committed++;
            else if (result.status === 'gone') return expect(result).toEqual({ status: 'gone', rotated: true });
          }
        };
        const rotation = (async () => {
          while (committed < 5) await turn();
          for (;;) {
            const read = await peer.begin({ sessionId: from, keys: ['n'], now });
            const result = await commit({ sessionId: from, now, expect: new Map([['n', read.entries.get('n')!.version]]), rotate: rotateTo(to) }, peer);
            if (result.status === 'committed') return;
          }
        })();
        await Promise.all([writer(store), writer(peer), writer(store), rotation]);
        const moved = await begin({ sessionId: to, keys: ['n'], now });
        expect(committed).toBeGreaterThan(0);
        expect(moved.entries.get('n')).toEqual({ version: committed + 1, value: String(committed) });
      });
    });

    describe('expiry', () => {
      it('a session expires after its idle time: begin sees nothing, commit is gone', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        expect((await begin({ sessionId: id, keys: ['a'], now: now + TTL - 1 })).session).toEqual({ epoch: 'e1' });
        expect(await begin({ sessionId: id, keys: ['a'], now: now + TTL })).toEqual({ session: null, entries: new Map() });
        expect(await commit({ sessionId: id, now: now + TTL + 1, expect: new Map([['a', 1]]), changes: new Map([['a', json(2)]]) })).toEqual({ status: 'gone' });
      });

      it('every commit restarts the idle time', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        await commit({ sessionId: id, now: now + TTL / 2, expect: new Map([['a', 1]]), changes: new Map([['a', json(2)]]) });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL + 1 })).session).toEqual({ epoch: 'e1' });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL / 2 + TTL })).session).toBeNull();
      });

      it('touch extends the idle time without changing values or versions', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        await store.touch({ sessionId: id, epoch: 'e1', idleTtlMs: TTL, now: now + TTL / 2 });
        const later = await begin({ sessionId: id, keys: ['a'], now: now + TTL + 1 });
        expect(later.session).toEqual({ epoch: 'e1' });
        expect(later.entries.get('a')).toEqual({ version: 1, value: '1' });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL / 2 + TTL })).session).toBeNull();
      });

      it('touch never shortens, and ignores another epoch or a missing or expired session', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        await store.touch({ sessionId: id, epoch: 'e1', idleTtlMs: 1_000, now: now + 1 });
        await store.touch({ sessionId: id, epoch: 'other', idleTtlMs: 10 * TTL, now: now + 2 });
        await store.touch({ sessionId: sid(), epoch: 'e1', idleTtlMs: TTL, now });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL - 1 })).session).toEqual({ epoch: 'e1' });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL })).session).toBeNull();
        // Touching after expiry does not bring it back.
        await store.touch({ sessionId: id, epoch: 'e1', idleTtlMs: TTL, now: now + TTL + 5 });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL + 6 })).session).toBeNull();
      });

      it("begin's touch rides on the same call, for a live session only", async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const touched = await begin({ sessionId: id, keys: ['a'], touch: { idleTtlMs: TTL }, now: now + TTL / 2 });
        expect(touched.entries.get('a')).toEqual({ version: 1, value: '1' });
        expect((await begin({ sessionId: id, keys: [], now: now + TTL + 1 })).session).toEqual({ epoch: 'e1' });
        const missing = sid();
        expect((await begin({ sessionId: missing, keys: [], touch: { idleTtlMs: TTL }, now })).session).toBeNull();
        expect((await begin({ sessionId: missing, keys: [], now })).session).toBeNull();
      });

      it("'create' over an expired session starts it afresh", async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1, b: 1 });
        const later = now + TTL + 1;
        const result = await commit({ sessionId: id, now: later, session: { mode: 'create', epoch: 'e2' }, expect: new Map([['a', 0]]), changes: new Map([['a', json('new')]]) });
        expect(result).toEqual({ status: 'committed', versions: new Map([['a', 1]]) });
        const read = await begin({ sessionId: id, keys: ['a', 'b'], now: later });
        expect(read.session).toEqual({ epoch: 'e2' });
        expect(entries(read.entries)).toEqual({ a: { version: 1, value: '"new"' }, b: { version: 0 } });
      });
    });

    describe('idempotency records', () => {
      it('claims a fresh key; a second attempt is in flight until the lease ends, then takes over', async () => {
        const id = sid();
        const key = idem();
        const now = base();
        await createSession(id, now);
        expect((await begin({ sessionId: id, claim: claim(key), now })).claim).toEqual({ status: 'claimed' });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 1_000 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1_000 });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + LEASE })).claim).toEqual({ status: 'claimed' });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + LEASE + 1 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1 });
      });

      it("a pending claim bearing the attempt's own token is claimed again (a begin retried after its outcome was unknown), on the peer too", async () => {
        const id = sid();
        const key = idem();
        const now = base();
        await createSession(id, now);
        const mine = claim(key);
        expect((await begin({ sessionId: id, claim: mine, now })).claim).toEqual({ status: 'claimed' });
        expect((await begin({ sessionId: id, claim: mine, now: now + 1_000 }, peer)).claim).toEqual({ status: 'claimed' });
        // Still this attempt's claim, with its lease from the retry: another attempt waits, and this one can commit and record.
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 2_000 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1_000 });
        const committed = await commit({ sessionId: id, now: now + 2_000, record: { ...doneRecord(key, 'mine'), token: mine.token } });
        expect(committed.status).toBe('committed');
        expect((await begin({ sessionId: id, claim: mine, now: now + 3_000 })).claim).toEqual({ status: 'replay', answer: 'mine' });
      });

      it("the own token never takes over another attempt's claim, or a partial record", async () => {
        const id = sid();
        const key = idem();
        const now = base();
        await createSession(id, now);
        const first = claim(key);
        await begin({ sessionId: id, claim: first, now });
        const partial: IdempotencyRecord = { ...doneRecord(key, 'part', 'fp-1', first.token), state: 'partial', leaseMs: LEASE };
        await commit({ sessionId: id, now, expect: new Map([['a', 0]]), changes: new Map([['a', json(1)]]), record: partial });
        expect((await begin({ sessionId: id, claim: first, now: now + 1 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1 });
      });

      it('claims for a session that does not exist yet (a creating request), in the scope of the id it will create', async () => {
        const id = sid();
        const key = idem();
        const now = base();
        const first = await begin({ sessionId: id, keys: ['a'], claim: claim(key), now });
        expect(first).toEqual({ session: null, entries: new Map(), claim: { status: 'claimed' } });
        const created = await commit({
          sessionId: id,
          now,
          session: { mode: 'create', epoch: 'e1' },
          expect: new Map([['a', 0]]),
          changes: new Map([['a', json(1)]]),
          record: doneRecord(key, 'created'),
        });
        expect(created.status).toBe('committed');
        // The resend, by key alone, finds the record in that scope.
        expect((await begin({ sessionId: id, keys: ['a'], claim: claim(key), now: now + 1 })).claim).toEqual({ status: 'replay', answer: 'created' });
      });

      it('replays a finished record with the same fingerprint, and says mismatch for another', async () => {
        const id = sid();
        const key = idem();
        const now = base();
        await createSession(id, now, { a: 1 });
        await begin({ sessionId: id, claim: claim(key), now });
        const answer = json({ status: 200, body: 'ok ☕' });
        await commit({ sessionId: id, now, expect: new Map([['a', 1]]), changes: new Map([['a', json(2)]]), record: doneRecord(key, answer) });
        expect((await begin({ sessionId: id, keys: ['a'], claim: claim(key), now: now + 1 })).claim).toEqual({ status: 'replay', answer });
        // The mismatch carries the record's answer: a creating resend reads its time and epoch from it.
        expect((await begin({ sessionId: id, claim: claim(key, 'fp-other'), now: now + 1 })).claim).toEqual({ status: 'mismatch', answer });
        // A replay changes nothing.
        expect((await begin({ sessionId: id, keys: ['a'], now: now + 2 })).entries.get('a')).toEqual({ version: 2, value: '2' });
      });

      it('says mismatch for a pending claim with another fingerprint', async () => {
        const id = sid();
        const key = idem();
        const now = base();
        await begin({ sessionId: id, claim: claim(key), now });
        expect((await begin({ sessionId: id, claim: claim(key, 'fp-2'), now: now + 1 })).claim).toEqual({ status: 'mismatch' });
      });

      it('a partial record answers in-flight during its lease, then replays its answer', async () => {
        const id = sid();
        const key = idem();
        const now = base();
        await createSession(id, now, { a: 1 });
        const attempt = claim(key);
        await begin({ sessionId: id, claim: attempt, now });
        const partial: IdempotencyRecord = { key, fingerprint: 'fp-1', answer: 'partly', state: 'partial', retentionMs: RETENTION, leaseMs: LEASE, token: attempt.token };
        await commit({ sessionId: id, now, expect: new Map([['a', 1]]), changes: new Map([['a', json(2)]]), record: partial });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 10 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 10 });
        await store.release({ sessionId: id, key, token: attempt.token }); // not pending: stays
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 20 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 20 });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + LEASE })).claim).toEqual({ status: 'replay', answer: 'partly' });
        // A later 'done' commit of the same request replaces it.
        await commit({ sessionId: id, now: now + 30, expect: new Map([['a', 2]]), changes: new Map([['a', json(3)]]), record: doneRecord(key, 'final') });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 40 })).claim).toEqual({ status: 'replay', answer: 'final' });
      });

      it('release deletes a pending claim only', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now);
        const pending = idem();
        const attempt = claim(pending);
        await begin({ sessionId: id, claim: attempt, now });
        await store.release({ sessionId: id, key: pending, token: attempt.token });
        expect((await begin({ sessionId: id, claim: claim(pending, 'fp-rebased'), now: now + 1 })).claim).toEqual({ status: 'claimed' });

        const done = idem();
        const finished = claim(done);
        await begin({ sessionId: id, claim: finished, now });
        await commit({ sessionId: id, now, record: doneRecord(done, 'kept', 'fp-1', finished.token) });
        await store.release({ sessionId: id, key: done, token: finished.token });
        expect((await begin({ sessionId: id, claim: claim(done), now: now + 1 })).claim).toEqual({ status: 'replay', answer: 'kept' });

        await store.release({ sessionId: id, key: idem(), token: randomUUID() }); // unknown key: no error
      });

      it("release with another attempt's token leaves the claim", async () => {
        const id = sid();
        const now = base();
        await createSession(id, now);
        const key = idem();
        const attempt = claim(key);
        await begin({ sessionId: id, claim: attempt, now });
        await store.release({ sessionId: id, key, token: randomUUID() });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 1 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1 });
        await peer.release({ sessionId: id, key, token: attempt.token });
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 2 })).claim).toEqual({ status: 'claimed' });
      });

      it('a failed commit releases the pending claim of its record and records nothing', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const stale = idem();
        const staleAttempt = claim(stale);
        await begin({ sessionId: id, claim: staleAttempt, now });
        const staleRecord = doneRecord(stale, 'answer-1', 'fp-1', staleAttempt.token);
        expect((await commit({ sessionId: id, now, expect: new Map([['a', 0]]), changes: new Map([['a', json(2)]]), record: staleRecord })).status).toBe('stale');
        expect((await begin({ sessionId: id, claim: claim(stale, 'fp-rebased'), now: now + 1 })).claim).toEqual({ status: 'claimed' });

        const gone = idem();
        const goneAttempt = claim(gone);
        await begin({ sessionId: id, claim: goneAttempt, now });
        expect((await commit({ sessionId: id, now, session: { mode: 'existing', epoch: 'e0' }, record: doneRecord(gone, 'answer-1', 'fp-1', goneAttempt.token) })).status).toBe('gone');
        expect((await begin({ sessionId: id, claim: claim(gone), now: now + 1 })).claim).toEqual({ status: 'claimed' });
      });

      it("a failed commit with another attempt's token leaves the claim", async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const key = idem();
        const attempt = claim(key);
        await begin({ sessionId: id, claim: attempt, now });
        const foreign = doneRecord(key, 'answer-1', 'fp-1', randomUUID());
        expect((await commit({ sessionId: id, now, expect: new Map([['a', 0]]), record: foreign })).status).toBe('stale');
        expect((await commit({ sessionId: id, now, session: { mode: 'existing', epoch: 'e0' }, record: foreign }, peer)).status).toBe('gone');
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 1 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1 });
        // The claim's own attempt still releases it by failing.
        expect((await commit({ sessionId: id, now: now + 2, expect: new Map([['a', 0]]), record: doneRecord(key, 'answer-1', 'fp-1', attempt.token) })).status).toBe('stale');
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 3 })).claim).toEqual({ status: 'claimed' });
      });

      it('an attempt that outlived its lease and gives up never frees the claim of the attempt that took over', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const key = idem();
        const a = claim(key);
        expect((await begin({ sessionId: id, claim: a, now })).claim).toEqual({ status: 'claimed' });
        // A's lease passes; B, a resend, takes the key over.
        const b = claim(key);
        expect((await begin({ sessionId: id, claim: b, now: now + LEASE }, peer)).claim).toEqual({ status: 'claimed' });
        // A ends without committing: its release, and its failed commit, leave B's claim alone.
        await store.release({ sessionId: id, key, token: a.token });
        expect((await commit({ sessionId: id, now: now + LEASE + 1, expect: new Map([['a', 0]]), record: doneRecord(key, 'from A', 'fp-1', a.token) })).status).toBe('stale');
        // C finds B in flight, not a free key.
        expect((await begin({ sessionId: id, claim: claim(key), now: now + LEASE + 2 })).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 2 });
        // B commits: its answer is the record.
        const committed = await commit({ sessionId: id, now: now + LEASE + 3, expect: new Map([['a', 1]]), changes: new Map([['a', json(2)]]), record: doneRecord(key, 'from B', 'fp-1', b.token) }, peer);
        expect(committed.status).toBe('committed');
        expect((await begin({ sessionId: id, claim: claim(key), now: now + LEASE + 4 })).claim).toEqual({ status: 'replay', answer: 'from B' });
      });

      it('a failed commit leaves a finished record of the same key alone', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const key = idem();
        await commit({ sessionId: id, now, record: doneRecord(key, 'first') });
        expect((await commit({ sessionId: id, now, expect: new Map([['a', 0]]), record: doneRecord(key, 'second') })).status).toBe('stale');
        expect((await begin({ sessionId: id, claim: claim(key), now: now + 1 })).claim).toEqual({ status: 'replay', answer: 'first' });
      });

      it('scopes records to their session id', async () => {
        const key = idem();
        const now = base();
        const [a, b] = [sid(), sid()];
        expect((await begin({ sessionId: a, claim: claim(key), now })).claim).toEqual({ status: 'claimed' });
        expect((await begin({ sessionId: b, claim: claim(key, 'fp-other'), now })).claim).toEqual({ status: 'claimed' });
      });

      it('records outlive a destroyed session until their retention ends', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { a: 1 });
        const key = idem();
        await begin({ sessionId: id, claim: claim(key), now });
        await commit({ sessionId: id, now, expect: new Map([['a', 1]]), destroy: true, record: doneRecord(key, 'logged out') });
        const resend = await begin({ sessionId: id, keys: ['a'], claim: claim(key), now: now + RETENTION - 1 });
        expect(resend).toEqual({ session: null, entries: new Map(), claim: { status: 'replay', answer: 'logged out' } });
        expect((await begin({ sessionId: id, claim: claim(key, 'fp-new'), now: now + RETENTION })).claim).toEqual({ status: 'claimed' });
      });

      it('records expire after their retention, and a pending claim after its lease', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now);
        const key = idem();
        await commit({ sessionId: id, now, record: doneRecord(key, 'old') });
        expect((await begin({ sessionId: id, claim: claim(key, 'fp-x'), now: now + RETENTION - 1 })).claim).toEqual({ status: 'mismatch', answer: 'old' });
        expect((await begin({ sessionId: id, claim: claim(key, 'fp-x'), now: now + RETENTION })).claim).toEqual({ status: 'claimed' });
        // An expired pending claim is no record at all: another fingerprint may take the key.
        expect((await begin({ sessionId: id, claim: claim(key, 'fp-y'), now: now + RETENTION + LEASE })).claim).toEqual({ status: 'claimed' });
      });
    });

    describe("a creating request's two id windows: one begin looks under both (contract 2, claim.alsoUnder)", () => {
      /** Two ids of one creating key, as the validator makes them: through the store's creatingId (a Cluster needs them in one slot). */
      const pairOf = (key: string) => {
        const shape = (id: string) => store.creatingId?.(id, key) ?? id;
        return { current: shape(sid()), previous: shape(sid()) };
      };
      const creating = (key: string, alsoUnder: string, fingerprint = 'fp-1') => ({ ...claim(key, fingerprint), alsoUnder });
      /** The previous window's session, made by the first attempt: its record under the previous id. */
      async function createdUnder(id: string, key: string, now: number, answer = 'created') {
        const first = claim(key);
        expect((await begin({ sessionId: id, claim: first, now })).claim).toEqual({ status: 'claimed' });
        await commit({ sessionId: id, now, session: { mode: 'create', epoch: 'e1' }, expect: new Map([['a', 0]]), changes: new Map([['a', json(1)]]), record: doneRecord(key, answer, 'fp-1', first.token) });
      }

      it('claims under the first id only when neither holds the key, and says so', async () => {
        const key = idem();
        const { current, previous } = pairOf(key);
        const now = base();
        const result = await begin({ sessionId: current, keys: ['a'], claim: creating(key, previous), now });
        expect(result).toEqual({ session: null, entries: new Map(), claim: { status: 'claimed' }, answeredFor: current });
        // The claim is under the first id, and nothing under the second.
        expect((await begin({ sessionId: current, claim: claim(key), now: now + 1 }, peer)).claim).toEqual({ status: 'in-flight', retryAfterMs: LEASE - 1 });
        expect((await begin({ sessionId: previous, claim: claim(key), now: now + 1 }, peer)).claim).toEqual({ status: 'claimed' });
      });

      it("answers for the second id when only it holds the key: its session, entries and record; nothing claimed under the first", async () => {
        const key = idem();
        const { current, previous } = pairOf(key);
        const now = base();
        await createdUnder(previous, key, now);
        const resend = await begin({ sessionId: current, keys: ['a'], claim: creating(key, previous), now: now + 5 }, peer);
        expect(resend).toEqual({ session: { epoch: 'e1' }, entries: new Map([['a', { version: 1, value: json(1) }]]), claim: { status: 'replay', answer: 'created' }, answeredFor: previous });
        // A wrong body finds the record there too, with its answer.
        expect(await begin({ sessionId: current, claim: creating(key, previous, 'fp-other'), now: now + 6 })).toMatchObject({ claim: { status: 'mismatch', answer: 'created' }, answeredFor: previous });
        expect((await begin({ sessionId: current, claim: claim(key), now: now + 7 })).claim).toEqual({ status: 'claimed' });
      });

      it('answers for the first id when both hold the key, and for the second one in flight', async () => {
        const key = idem();
        const { current, previous } = pairOf(key);
        const now = base();
        await createdUnder(current, key, now, 'here');
        await createdUnder(previous, key, now, 'there');
        expect(await begin({ sessionId: current, claim: creating(key, previous), now: now + 1 })).toMatchObject({ claim: { status: 'replay', answer: 'here' }, answeredFor: current });
        const other = idem();
        const pair = pairOf(other);
        expect((await begin({ sessionId: pair.previous, claim: claim(other), now })).claim).toEqual({ status: 'claimed' });
        expect(await begin({ sessionId: pair.current, claim: creating(other, pair.previous), now: now + 1_000 }, peer)).toMatchObject({
          claim: { status: 'in-flight', retryAfterMs: LEASE - 1_000 },
          answeredFor: pair.previous,
        });
      });

      it('a pending claim under the second id whose lease ran out holds nothing: the key is claimed under the first', async () => {
        const key = idem();
        const { current, previous } = pairOf(key);
        const now = base();
        await begin({ sessionId: previous, claim: claim(key), now });
        expect(await begin({ sessionId: current, claim: creating(key, previous), now: now + LEASE })).toMatchObject({ claim: { status: 'claimed' }, answeredFor: current });
      });

      it("answers with the second id's tombstone (its session was rotated away), claiming nothing", async () => {
        const key = idem();
        const { current, previous } = pairOf(key);
        const now = base();
        await createdUnder(previous, key, now);
        const to = store.rotationId?.(previous) ?? sid();
        await commit({ sessionId: previous, now, rotate: { sessionId: to, epoch: 'e2', keepKeys: true, replayWindowMs: 1_000 } });
        const resend = await begin({ sessionId: current, claim: creating(key, previous), now: now + 1 });
        expect(resend).toEqual({ session: null, entries: new Map(), rotated: { sessionId: to, epoch: 'e2', recordKey: '', replayUntil: now + 1_000 }, answeredFor: previous });
        expect((await begin({ sessionId: current, claim: claim(key), now: now + 2 })).claim).toEqual({ status: 'claimed' });
      });

      it('N concurrent creating begins of one key, on two connections: exactly one is claimed', async () => {
        const key = idem();
        const { current, previous } = pairOf(key);
        const now = base();
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => begin({ sessionId: current, claim: creating(key, previous), now }, i % 2 ? peer : store)));
        expect(results.filter((result) => result.claim?.status === 'claimed')).toHaveLength(1);
        expect(results.filter((result) => result.claim?.status === 'in-flight')).toHaveLength(9);
      });
    });

    describe('round trips of a session-creating request, through the validator over real HTTP', () => {
      const WINDOW = 120_000;
      /** Counts the calls the validator makes of the real store; everything else (creatingId, shared…) is the store's own. */
      function counted(inner: SessionStore) {
        const calls = { begin: 0, commit: 0, release: 0, touch: 0 };
        const wrapped: SessionStore = {
          ...inner,
          begin: (input) => (calls.begin++, inner.begin(input)),
          commit: (input) => (calls.commit++, inner.commit(input)),
          release: (input) => (calls.release++, inner.release(input)),
          touch: (input) => (calls.touch++, inner.touch(input)),
        };
        return { store: wrapped, calls };
      }

      /** The same store as one written for contract 1: begin ignores claim.alsoUnder and answers no answeredFor. */
      function contractOne(inner: SessionStore): SessionStore {
        const { creatingId: _, ...rest } = inner;
        return {
          ...rest,
          async begin(input) {
            const { alsoUnder: __, ...claimOnly } = input.claim ?? { alsoUnder: undefined };
            const { answeredFor: ___, ...result } = await inner.begin(input.claim ? { ...input, claim: claimOnly as NonNullable<BeginInput['claim']> } : input);
            return result;
          },
        };
      }

      async function creatingAndResend(inner: SessionStore) {
        const { store: countedStore, calls } = counted(inner);
        // A moment late in an id window (twice the replay window): the resend crosses into the next one.
        let clock = (Math.floor(Date.now() / (2 * WINDOW)) + 1) * 2 * WINDOW - 1_000;
        const validator = createValidator({ store: countedStore, secret: 'store-conformance secret of 32 bytes or more', replayWindowMs: WINDOW, now: () => clock, onEvent: () => {} });
        const server = await startServer({
          '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
            session.set('cart', [await request.text()]);
            return Response.json({ cart: session.get('cart') });
          }),
        });
        try {
          const key = idemKey();
          const add = (browser: Browser) => browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: 'tea' });
          const first = new Browser(server.url);
          expect((await add(first)).status).toBe(200);
          const created = { ...calls };
          // The resend (its answer lost, so no cookie) comes 2 s later, in the next id window.
          clock += 2_000;
          const resend = new Browser(server.url);
          const replayed = await add(resend);
          expect(replayed.status).toBe(200);
          expect(replayed.json()).toEqual({ cart: ['tea'] });
          expect(resend.cookie).toBe(first.cookie);
          const resent = { begin: calls.begin - created.begin, commit: calls.commit - created.commit, release: calls.release - created.release, touch: calls.touch - created.touch };
          return { created, resent };
        } finally {
          await server.close();
          validator.close();
        }
      }

      it('takes 2 (begin, commit); its resend takes 1 (begin), also from the next id window', async () => {
        expect(await creatingAndResend(store)).toEqual({ created: { begin: 1, commit: 1, release: 0, touch: 0 }, resent: { begin: 1, commit: 0, release: 0, touch: 0 } });
      });

      it('with a store of contract 1 the validator looks under the previous id itself: the same answers, in more round trips', async () => {
        expect(await creatingAndResend(contractOne(store))).toEqual({ created: { begin: 2, commit: 1, release: 1, touch: 0 }, resent: { begin: 2, commit: 0, release: 1, touch: 0 } });
      });
    });

    describe('round trips of each request kind, through the validator over real HTTP', () => {
      const WINDOW = 120_000;
      type Trips = Omit<StoreCalls, 'writes'>;

      it('a creating write 2, its resend 1, a read 1, a write 2, a stale or reused-key write 2 / 1, a login 2, a logout 2, a visitor 0', async () => {
        // Through the test kit's counting wrapper, which passes the store's creatingId through (a Cluster needs it for 2).
        const counting = countingStore(store);
        // The middle of an id window (twice the replay window): nothing here crosses into the next one.
        let clock = Math.floor(Date.now() / (2 * WINDOW)) * 2 * WINDOW + WINDOW;
        const validator = createValidator({ store: counting.store, secret: 'store-conformance secret of 32 bytes or more', replayWindowMs: WINDOW, now: () => clock, onEvent: () => {} });
        const server = await startServer({
          '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
            session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
            return Response.json({ cart: session.get('cart') });
          }),
          '/read': validator.route({ reads: ['cart'] }, async (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
          '/login': validator.route({ writes: ['user'], rotates: true }, async (request, session) => {
            session.set('user', await request.text());
            session.rotate();
            return Response.json({ ok: true });
          }),
          '/logout': validator.route({ ends: true }, async (_request, session) => {
            session.destroy();
            return Response.json({ ok: true });
          }),
        });
        /** The calls one exchange made, and its status. */
        const trips = async (send: () => Promise<{ status: number }>): Promise<{ status: number } & Trips> => {
          counting.reset();
          const { status } = await send();
          const { begin: b, commit: c, release: r, touch: t } = counting.calls;
          clock += 10;
          return { status, begin: b, commit: c, release: r, touch: t };
        };
        const only = (status: number, calls: Partial<Trips>) => ({ status, begin: 0, commit: 0, release: 0, touch: 0, ...calls });
        try {
          const browser = new Browser(server.url);
          const key = idemKey();
          const add = (on: Browser, headers: Record<string, string> = {}, body = 'tea') =>
            on.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), ...headers }, body });
          const read = (on: Browser) => on.send('/read', { method: 'GET', headers: { 'session-read': '"cart"' } });

          expect(await trips(() => add(browser, { 'idempotency-key': key }))).toEqual(only(200, { begin: 1, commit: 1 }));
          expect(await trips(() => add(new Browser(server.url), { 'idempotency-key': key }))).toEqual(only(200, { begin: 1 }));
          expect(await trips(() => add(new Browser(server.url), { 'idempotency-key': key }, 'jam'))).toEqual(only(422, { begin: 1 }));
          expect(await trips(() => read(browser))).toEqual(only(200, { begin: 1 }));
          expect(await trips(() => read(new Browser(server.url)))).toEqual(only(200, {}));
          expect(await trips(() => add(browser, { 'session-write': '"cart";v=1' }))).toEqual(only(200, { begin: 1, commit: 1 }));
          // A base that is not current: 412 before the handler, and the claim goes back.
          expect(await trips(() => add(browser, { 'session-write': '"cart";v=1' }))).toEqual(only(412, { begin: 1, release: 1 }));
          const cookieBefore = browser.cookie;
          expect(await trips(() => browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() }, body: 'ada' }))).toEqual(only(200, { begin: 1, commit: 1 }));
          expect(browser.cookie).not.toBe(cookieBefore);
          expect(await trips(() => browser.send('/logout', { headers: { 'idempotency-key': idemKey() } }))).toEqual(only(200, { begin: 1, commit: 1 }));
        } finally {
          await server.close();
          validator.close();
        }
      });
    });

    describe('concurrency (real concurrent calls)', () => {
      it('N concurrent commits from the same base: exactly one commits, the others are stale', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { counter: 0 });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            commit({ sessionId: id, now, expect: new Map([['counter', 1]]), changes: new Map([['counter', json(i + 100)]]) }, i % 2 ? peer : store),
          ),
        );
        expect(results.filter((result) => result.status === 'committed')).toHaveLength(1);
        expect(results.filter((result) => result.status === 'stale')).toHaveLength(19);
        const read = await begin({ sessionId: id, keys: ['counter'], now });
        expect(read.entries.get('counter')?.version).toBe(2);
      });

      it("N concurrent commits from the same base: every stale result carries the winner's version and value", async () => {
        // A loser waited for the winner's row lock: what it reports must be at least the version its
        // compare-and-swap failed against, with that version's value (never an older snapshot's).
        const id = sid();
        const now = base();
        await createSession(id, now, { counter: 0 });
        // Concurrent reads first, so that pooled stores hold open connections and the commits really overlap.
        await Promise.all(Array.from({ length: 20 }, (_, i) => begin({ sessionId: id, keys: ['counter'], now }, i % 2 ? peer : store)));
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            commit({ sessionId: id, now, expect: new Map([['counter', 1]]), changes: new Map([['counter', json(i + 100)]]) }, i % 2 ? peer : store),
          ),
        );
        const winner = results.findIndex((result) => result.status === 'committed');
        expect(winner).toBeGreaterThanOrEqual(0);
        const reported = results.flatMap((result) => (result.status === 'stale' ? [result.entries.get('counter')] : []));
        expect(reported).toHaveLength(19);
        for (const entry of reported) expect(entry).toEqual({ version: 2, value: json(winner + 100) });
      });

      it('N concurrent creates of one session id: exactly one commits', async () => {
        const id = sid();
        const now = base();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            commit({ sessionId: id, now, session: { mode: 'create', epoch: `e${i}` }, expect: new Map([['a', 0]]), changes: new Map([['a', json(i)]]) }, i % 2 ? peer : store),
          ),
        );
        expect(results.filter((result) => result.status === 'committed')).toHaveLength(1);
        const read = await begin({ sessionId: id, keys: ['a'], now });
        expect(read.entries.get('a')?.version).toBe(1);
      });

      it('N concurrent claims of one Idempotency-Key: exactly one is claimed', async () => {
        const id = sid();
        const key = idem();
        const now = base();
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => begin({ sessionId: id, claim: claim(key), now }, i % 2 ? peer : store)));
        expect(results.filter((result) => result.claim?.status === 'claimed')).toHaveLength(1);
        expect(results.filter((result) => result.claim?.status === 'in-flight')).toHaveLength(9);
      });

      it('read-modify-write loops on two connections lose no update', async () => {
        const id = sid();
        const now = base();
        await createSession(id, now, { counter: 0, other: 0 });
        const increment = async (on: SessionStore, key: string) => {
          for (;;) {
            const read = await begin({ sessionId: id, keys: [key], now }, on);
            const current = read.entries.get(key)!;
            const next = Number(current.value) + 1;
            const result = await commit({ sessionId: id, now, expect: new Map([[key, current.version]]), changes: new Map([[key, json(next)]]) }, on);
            if (result.status === 'committed') return;
            expect(result.status).toBe('stale');
          }
        };
        const workers = 8;
        const perWorker = 5;
        await Promise.all(
          Array.from({ length: workers }, async (_, w) => {
            for (let i = 0; i < perWorker; i++) await increment(w % 2 ? peer : store, w % 4 === 3 ? 'other' : 'counter');
          }),
        );
        const read = await begin({ sessionId: id, keys: ['counter', 'other'], now });
        const counterWrites = workers * perWorker - 2 * perWorker;
        expect(read.entries.get('counter')).toEqual({ version: counterWrites + 1, value: String(counterWrites) });
        expect(read.entries.get('other')).toEqual({ version: 2 * perWorker + 1, value: String(2 * perWorker) });
      });
    });

    describe('model-based', () => {
      // Random sequences of calls, run on this store and on a fresh memoryStore (the reference): every answer must agree.
      type Step =
        | { op: 'begin'; session: number; claim: { key: string; fingerprint: string; leaseMs: number } | null; touch: number | null }
        | { op: 'commit'; session: number; mode: 'existing' | 'create'; epoch: string; fromCurrent: boolean; expect: [string, number][]; change: [string, string | null][]; destroy: boolean; record: (Omit<IdempotencyRecord, 'token'> & { own: boolean }) | null; idleTtlMs: number }
        | { op: 'release'; session: number; key: string; own: boolean }
        | { op: 'touch'; session: number; epoch: string; idleTtlMs: number }
        | { op: 'wait'; ms: number };
      const KEYS = ['a', 'b', 'c'];
      const idemKeys = fc.constantFrom('idem-model-0000000', 'idem-model-0000001');
      const fingerprints = fc.constantFrom('f0', 'f1');
      // Logical durations far above the test's real running time: Redis's garbage-collection TTLs never cut in.
      const ttl = fc.integer({ min: 60_000, max: 200_000 });
      const step: fc.Arbitrary<Step> = fc.oneof(
        fc.record({
          op: fc.constant('begin' as const),
          session: fc.integer({ min: 0, max: 1 }),
          claim: fc.option(fc.record({ key: idemKeys, fingerprint: fingerprints, leaseMs: fc.integer({ min: 30_000, max: 90_000 }) })),
          touch: fc.option(ttl),
        }),
        fc
          .record({
            op: fc.constant('commit' as const),
            session: fc.integer({ min: 0, max: 1 }),
            mode: fc.constantFrom('existing' as const, 'create' as const),
            epoch: fc.constantFrom('e1', 'e1', 'e1', 'e2'),
            fromCurrent: fc.boolean(),
            expect: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), fc.integer({ min: 0, max: 3 })), { selector: ([key]) => key, maxLength: 3 }),
            change: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom<string | null>('1', '"two"', null)), { selector: ([key]) => key, maxLength: 3 }),
            destroy: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
            record: fc.option(
              fc.record({
                key: idemKeys,
                fingerprint: fingerprints,
                answer: fc.constantFrom('A', 'B'),
                state: fc.constantFrom('done' as const, 'partial' as const),
                retentionMs: fc.integer({ min: 100_000, max: 400_000 }),
                leaseMs: fc.integer({ min: 30_000, max: 90_000 }),
                // The token of the key's latest claim, or another attempt's.
                own: fc.boolean(),
              }),
            ),
            idleTtlMs: ttl,
          }),
        fc.record({ op: fc.constant('release' as const), session: fc.integer({ min: 0, max: 1 }), key: idemKeys, own: fc.boolean() }),
        fc.record({ op: fc.constant('touch' as const), session: fc.integer({ min: 0, max: 1 }), epoch: fc.constantFrom('e1', 'e1', 'e2'), idleTtlMs: ttl }),
        fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 100_000 }) }),
      );

      it('answers every call as the reference memory store does', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40, size: 'max' }), async (steps) => {
            const model = memoryStore();
            const ids = [sid(), sid()];
            let now = base();
            // Each claim is a new attempt with its own token; release and commit use the key's latest one, or a foreign one.
            let attempts = 0;
            const latest = new Map<string, string>();
            const tokenFor = (sessionId: string, key: string, own: boolean) => (own ? (latest.get(`${sessionId} ${key}`) ?? 'no-attempt') : 'foreign-attempt');
            try {
              for (const s of steps) {
                if (s.op === 'wait') {
                  now += s.ms;
                  continue;
                }
                const sessionId = ids[s.session]!;
                const both = async <T>(call: (on: SessionStore) => Promise<T>) => {
                  const expected = await call(model);
                  expect(await call(store)).toEqual(expected);
                };
                if (s.op === 'begin') {
                  const claim = s.claim ? { ...s.claim, token: `attempt-${++attempts}` } : null;
                  if (claim) latest.set(`${sessionId} ${claim.key}`, claim.token);
                  await both((on) => on.begin({ sessionId, keys: KEYS, now, ...(claim ? { claim } : {}), ...(s.touch ? { touch: { idleTtlMs: s.touch } } : {}) }));
                } else if (s.op === 'release') {
                  const token = tokenFor(sessionId, s.key, s.own);
                  await both((on) => on.release({ sessionId, key: s.key, token }));
                } else if (s.op === 'touch') {
                  await both((on) => on.touch({ sessionId, epoch: s.epoch, idleTtlMs: s.idleTtlMs, now }));
                } else {
                  // Often commit from the current versions, so that commits succeed as well as fail.
                  const current = s.fromCurrent ? (await model.begin({ sessionId, keys: KEYS, now })).entries : new Map<string, StoredEntry>();
                  const expected = new Map(s.expect.map(([key, version]) => [key, s.fromCurrent ? (current.get(key)?.version ?? 0) : version]));
                  for (const [key] of s.change) if (!expected.has(key)) expected.set(key, s.fromCurrent ? (current.get(key)?.version ?? 0) : 0);
                  const record = s.record ? (({ own, ...rest }) => ({ ...rest, token: tokenFor(sessionId, rest.key, own) }))(s.record) : null;
                  await both((on) =>
                    on.commit({
                      sessionId,
                      now,
                      session: { mode: s.mode, epoch: s.epoch },
                      expect: expected,
                      changes: new Map(s.change),
                      destroy: s.destroy,
                      idleTtlMs: s.idleTtlMs,
                      ...(record ? { record } : {}),
                    }),
                  );
                }
              }
            } finally {
              await model.close();
            }
          }),
          { numRuns: 50 },
        );
      });
    });
  });
}
