import type {
  BeginInput,
  BeginResult,
  ClaimOutcome,
  CommitInput,
  CommitResult,
  ReleaseInput,
  SessionStore,
  RotateInput,
  StoredEntry,
  Tombstone,
  TouchInput,
} from '../store.js';

interface MemoryRecord {
  /** The Idempotency-Key it records. */
  key: string;
  fingerprint: string;
  state: 'pending' | 'partial' | 'done';
  /** Until when a pending or partial record answers in-flight. */
  leaseUntil: number;
  answer?: string;
  expiresAt: number;
  /** A pending claim's attempt. */
  token?: string;
}

/**
 * Everything stored under one session id: the session (while it lives) and
 * its idempotency records, so that a record is only ever evicted with its
 * session, and a sweep or an eviction removes both in one step.
 */
interface Slot {
  /** The live session's epoch; null before its creating commit, and once destroyed (its records stay for their retention). */
  epoch: string | null;
  entries: Map<string, StoredEntry> | null;
  sessionExpiresAt: number;
  /** Its records: most sessions have one, held as is (a Map costs ~90 bytes); a Map in write order from the second. */
  records: MemoryRecord | Map<string, MemoryRecord> | null;
  /** When the slot's last part expires: the later of its session's expiry and its records'. */
  expiresAt: number;
  /** Requests that began on this slot: a slot that served one request is evicted first. */
  begins: number;
  /** The id was rotated away (login): where its session went, until the old session's idle expiry. Never evicted. */
  tombstone: (Tombstone & { expiresAt: number }) | null;
}

export interface MemoryStoreOptions {
  /**
   * The most sessions, idempotency records and tombstones (ids rotated away)
   * held together (each counts one). Above it, whole sessions are evicted,
   * records with them: first those that served a single request (a bot's, a
   * flood's), least recently used first; then tombstones, oldest first; then
   * the least recently used of the others. An evicted session's next request
   * is a 410, as after an expiry.
   * @default 100_000
   */
  maxEntries?: number;
  /**
   * How many sessions, at most, each call visits to remove expired ones: the
   * sweep is spread over calls, so no request pays for a whole pass.
   * @default 64
   */
  sweepBatch?: number;
}

/** What the memory store holds, for monitoring and sizing. */
export interface MemoryStoreStats {
  readonly sessions: number;
  readonly records: number;
  /** Ids rotated away (login) and still answered as tombstones. */
  readonly tombstones: number;
  /** Sessions evicted (with their records) to stay within maxEntries, since the store was made. */
  readonly evicted: number;
  /** The last call's sweep: sessions visited, and how many of them it removed as expired. */
  readonly lastSweep: { readonly visited: number; readonly removed: number };
}

export interface MemoryStore extends SessionStore {
  stats(): MemoryStoreStats;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`memoryStore(): ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/**
 * The embedded store: one process, no dependencies. For tests, the demo and
 * single-process apps. Every call runs to completion without awaiting, so
 * each is atomic by construction. Bounded: at most `maxEntries` sessions and
 * records together, and expired ones are removed lazily on access and by a
 * sweep of at most `sweepBatch` sessions per call.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEntries = positive('maxEntries', options.maxEntries, 100_000);
  const sweepBatch = positive('sweepBatch', options.sweepBatch, 64);
  /** Slots that began at most one request, least recently created first. */
  const fresh = new Map<string, Slot>();
  /** Slots that began more than one, least recently used first (each begin moves its slot to the end). */
  const returning = new Map<string, Slot>();
  let sessionCount = 0;
  let recordCount = 0;
  /** Ids rotated away and kept as tombstones: they count toward maxEntries, as a flood of logins would otherwise grow them without bound. */
  let tombstoneCount = 0;
  let evicted = 0;
  let lastSweep = { visited: 0, removed: 0 };
  let sweepCursor: Iterator<[string, Slot]> | null = null;
  let sweepingFresh = true;

  const slotOf = (id: string) => fresh.get(id) ?? returning.get(id);

  function removeSlot(id: string, slot: Slot): void {
    if (!fresh.delete(id)) returning.delete(id);
    if (slot.epoch !== null) sessionCount--;
    recordCount -= recordsIn(slot);
    if (slot.tombstone) tombstoneCount--;
  }

  function endSession(slot: Slot): void {
    if (slot.epoch === null) return;
    slot.epoch = null;
    slot.entries = null;
    sessionCount--;
  }

  /** The slot, with what expired removed; undefined when nothing of it is left. */
  function liveSlot(id: string, now: number): Slot | undefined {
    const slot = slotOf(id);
    if (!slot) return undefined;
    if (slot.expiresAt <= now) {
      removeSlot(id, slot);
      return undefined;
    }
    if (slot.epoch !== null && slot.sessionExpiresAt <= now) endSession(slot);
    if (slot.tombstone && slot.tombstone.expiresAt <= now) {
      slot.tombstone = null;
      tombstoneCount--;
    }
    return slot;
  }

  /** The session, its entries and records move whole to the new id; the old id keeps only a tombstone. */
  function rotateSlot(from: string, slot: Slot, to: RotateInput, recordKey: string, now: number, idleTtlMs: number): void {
    if (!fresh.delete(from)) returning.delete(from);
    slot.epoch = to.epoch;
    // Only the kept keys move (the rotating request's own changes among them): the rest of the old session stays behind.
    if (!to.keepKeys) slot.entries = new Map((to.keptKeys ?? []).flatMap((key) => (slot.entries?.has(key) ? [[key, slot.entries.get(key)!] as const] : [])));
    returning.set(to.sessionId, slot);
    const tombstone = newSlot(from);
    tombstone.begins = slot.begins;
    tombstone.tombstone = { sessionId: to.sessionId, epoch: to.epoch, recordKey, replayUntil: now + to.replayWindowMs, expiresAt: now + idleTtlMs };
    extend(tombstone, tombstone.tombstone.expiresAt);
    tombstoneCount++;
  }

  function newSlot(id: string): Slot {
    const slot: Slot = { epoch: null, entries: null, sessionExpiresAt: 0, records: null, expiresAt: 0, begins: 0, tombstone: null };
    fresh.set(id, slot);
    return slot;
  }

  /** Visits at most sweepBatch slots, continuing where the last call stopped: fresh ones, then returning ones. */
  function sweep(now: number): void {
    let visited = 0;
    let removed = 0;
    while (visited < sweepBatch) {
      sweepCursor ??= (sweepingFresh ? fresh : returning).entries();
      const next = sweepCursor.next();
      if (next.done) {
        sweepCursor = null;
        sweepingFresh = !sweepingFresh;
        if (sweepingFresh) break; // a whole pass is done: start the next one in a later call
        continue;
      }
      visited++;
      const [id, slot] = next.value;
      // A minute past its expiry: a caller whose clock is a little behind (another process, a test) still finds what it may.
      if (slot.expiresAt + 60_000 <= now) {
        removeSlot(id, slot);
        removed++;
      }
    }
    lastSweep = { visited, removed };
  }

  /**
   * Evicts whole slots until the store is within maxEntries, never `keep`:
   * single-request sessions first; then tombstones, oldest first (a late
   * request of a rotated-away id comes soon after the login, and an evicted
   * tombstone's late request is a plain 410, which clears the cookie when it
   * names no epoch); then returning
   * sessions, least recently used first.
   */
  function evict(keep: string): void {
    const passes = [
      [fresh, false],
      [fresh, true],
      [returning, true],
      [returning, false],
    ] as const;
    for (const [map, tombstones] of passes) {
      for (const [id, slot] of map) {
        if (sessionCount + recordCount + tombstoneCount <= maxEntries) return;
        if (id === keep || (slot.tombstone !== null) !== tombstones) continue;
        removeSlot(id, slot);
        evicted++;
      }
    }
  }

  function extend(slot: Slot, until: number): void {
    if (until > slot.expiresAt) slot.expiresAt = until;
  }

  const recordsIn = (slot: Slot) => (slot.records === null ? 0 : slot.records instanceof Map ? slot.records.size : 1);

  function getRecord(slot: Slot | undefined, key: string): MemoryRecord | undefined {
    const records = slot?.records;
    if (!records) return undefined;
    if (records instanceof Map) return records.get(key);
    return records.key === key ? records : undefined;
  }

  function deleteRecord(slot: Slot, key: string): void {
    const records = slot.records;
    if (records instanceof Map) {
      if (records.delete(key)) recordCount--;
    } else if (records?.key === key) {
      slot.records = null;
      recordCount--;
    }
  }

  function setRecord(slot: Slot, record: MemoryRecord): void {
    const records = slot.records;
    if (records === null || (!(records instanceof Map) && records.key === record.key)) {
      if (records === null) recordCount++;
      slot.records = record;
    } else {
      const map = records instanceof Map ? records : new Map([[records.key, records]]);
      if (map.has(record.key)) map.delete(record.key); // re-insert: the map stays in expiry order
      else recordCount++;
      map.set(record.key, record);
      slot.records = map;
    }
    extend(slot, record.expiresAt);
  }

  /** Records expire in the order they were written (one retention per validator): drop a few expired ones from the front. */
  function pruneRecords(slot: Slot, now: number): void {
    const records = slot.records;
    if (!(records instanceof Map)) return;
    let budget = 4;
    for (const [key, record] of records) {
      if (budget-- === 0 || record.expiresAt > now) return;
      records.delete(key);
      recordCount--;
    }
  }

  function liveRecord(slot: Slot | undefined, key: string, now: number): MemoryRecord | undefined {
    const record = getRecord(slot, key);
    if (!record) return undefined;
    if (record.expiresAt > now) return record;
    deleteRecord(slot!, key);
    return undefined;
  }

  function claim(sessionId: string, slot: Slot | undefined, input: NonNullable<BeginInput['claim']>, now: number): ClaimOutcome {
    const existing = liveRecord(slot, input.key, now);
    // A pending claim with this attempt's own token is its own: a begin retried after its outcome was unknown.
    const own = existing?.state === 'pending' && existing.token === input.token;
    if (existing && !own) {
      if (existing.fingerprint !== input.fingerprint) return { status: 'mismatch' };
      if (existing.state === 'done' && existing.answer !== undefined) return { status: 'replay', answer: existing.answer };
      if (existing.leaseUntil > now) return { status: 'in-flight', retryAfterMs: existing.leaseUntil - now };
      // A partial record whose request died: its recorded answer stands, so that the committed part is never applied twice.
      if (existing.state === 'partial' && existing.answer !== undefined) return { status: 'replay', answer: existing.answer };
      // A pending claim whose lease ran out: the attempt died; this one takes over.
    }
    const target = slot ?? newSlot(sessionId);
    setRecord(target, { key: input.key, fingerprint: input.fingerprint, state: 'pending', leaseUntil: now + input.leaseMs, expiresAt: now + input.leaseMs, token: input.token });
    evict(sessionId);
    return { status: 'claimed' };
  }

  function entriesOf(slot: Slot, keys: Iterable<string>): Map<string, StoredEntry> {
    const result = new Map<string, StoredEntry>();
    for (const key of keys) result.set(key, slot.entries?.get(key) ?? { version: 0 });
    return result;
  }

  function releasePending(sessionId: string, key: string, token: string): void {
    const slot = slotOf(sessionId);
    const record = getRecord(slot, key);
    if (slot && record?.state === 'pending' && record.token === token) {
      deleteRecord(slot, key);
      // A slot holding nothing counts toward no bound: keep none.
      if (slot.epoch === null && recordsIn(slot) === 0) removeSlot(sessionId, slot);
    }
  }

  /** A begin on a slot: its second one makes it a returning slot; a returning slot becomes the most recently used. */
  function noteBegin(id: string, slot: Slot): void {
    slot.begins++;
    if (slot.begins < 2) return;
    if (!fresh.delete(id)) returning.delete(id);
    returning.set(id, slot);
  }

  return {
    async begin({ sessionId, keys, claim: wanted, touch, now }: BeginInput): Promise<BeginResult> {
      sweep(now);
      let slot = liveSlot(sessionId, now);
      if (slot?.tombstone) {
        const { expiresAt: _, ...rotated } = slot.tombstone;
        return { session: null, entries: new Map(), rotated };
      }
      if (slot) noteBegin(sessionId, slot);
      const live = slot?.epoch != null ? slot : undefined;
      if (live && touch) {
        live.sessionExpiresAt = Math.max(live.sessionExpiresAt, now + touch.idleTtlMs);
        extend(live, live.sessionExpiresAt);
      }
      const outcome = wanted ? claim(sessionId, slot, wanted, now) : undefined;
      if (!slot && outcome?.status === 'claimed') slot = slotOf(sessionId);
      if (slot && slot.begins === 0) slot.begins = 1;
      return {
        session: live ? { epoch: live.epoch! } : null,
        entries: live ? entriesOf(live, keys) : new Map(),
        ...(outcome ? { claim: outcome } : {}),
      };
    },

    async commit(input: CommitInput): Promise<CommitResult> {
      const { sessionId, now } = input;
      sweep(now);
      let slot = liveSlot(sessionId, now);
      const live = slot?.epoch != null ? slot : undefined;
      const fail = (result: CommitResult): CommitResult => {
        if (input.record) releasePending(sessionId, input.record.key, input.record.token);
        return result;
      };
      if (slot?.tombstone) return fail({ status: 'gone', rotated: true });
      if (input.session.mode === 'existing') {
        if (!live || live.epoch !== input.session.epoch) return fail({ status: 'gone' });
      } else if (live) {
        return fail({ status: 'stale', entries: entriesOf(live, input.expect.keys()) });
      }
      for (const [key, version] of input.expect) {
        if ((live?.entries?.get(key)?.version ?? 0) !== version) {
          return fail({ status: 'stale', entries: live ? entriesOf(live, input.expect.keys()) : new Map() });
        }
      }
      // An id the app gives may already be in use: never move a session over another (nor over its tombstone or records).
      if (input.rotate && !input.destroy && liveSlot(input.rotate.sessionId, now)) return fail({ status: 'occupied' });

      const versions = new Map<string, number>();
      if (input.destroy) {
        if (live) endSession(live);
      } else {
        slot ??= newSlot(sessionId);
        if (slot.begins === 0) slot.begins = 1;
        if (slot.epoch === null) {
          slot.epoch = input.session.epoch;
          slot.entries = new Map();
          sessionCount++;
        }
        slot.sessionExpiresAt = now + input.idleTtlMs;
        extend(slot, slot.sessionExpiresAt);
        const entries = slot.entries!;
        for (const [key, value] of input.changes) {
          const version = (entries.get(key)?.version ?? 0) + 1;
          entries.set(key, value === null ? { version } : { version, value });
          versions.set(key, version);
        }
      }
      if (input.record) {
        // A destroy in a creating commit leaves no session, but its record outlives it, as on every store.
        slot ??= newSlot(sessionId);
        const { key, fingerprint, answer, state, retentionMs, leaseMs } = input.record;
        pruneRecords(slot, now);
        setRecord(slot, { key, fingerprint, state, answer, leaseUntil: state === 'partial' ? now + leaseMs : now, expiresAt: now + retentionMs });
      }
      if (input.rotate && !input.destroy) {
        rotateSlot(sessionId, slot!, input.rotate, input.record?.key ?? '', now, input.idleTtlMs);
        evict(input.rotate.sessionId);
        return { status: 'committed', versions };
      }
      evict(sessionId);
      return { status: 'committed', versions };
    },

    async release({ sessionId, key, token }: ReleaseInput): Promise<void> {
      releasePending(sessionId, key, token);
    },

    async touch({ sessionId, epoch, idleTtlMs, now }: TouchInput): Promise<void> {
      const slot = liveSlot(sessionId, now);
      if (slot && slot.epoch === epoch) {
        slot.sessionExpiresAt = Math.max(slot.sessionExpiresAt, now + idleTtlMs);
        extend(slot, slot.sessionExpiresAt);
      }
    },

    stats(): MemoryStoreStats {
      return { sessions: sessionCount, records: recordCount, tombstones: tombstoneCount, evicted, lastSweep };
    },

    async close(): Promise<void> {
      fresh.clear();
      returning.clear();
      sessionCount = 0;
      recordCount = 0;
      tombstoneCount = 0;
      sweepCursor = null;
    },
  };
}
