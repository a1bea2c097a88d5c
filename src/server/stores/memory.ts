import {
  StoreUnavailableError,
  type BeginInput,
  type BeginResult,
  type ClaimOutcome,
  type CommitInput,
  type CommitResult,
  type ReleaseInput,
  type RotateInput,
  type SessionStore,
  type StoredEntry,
  type TouchInput,
} from '../store.js';
import { normaliseMemoryOptions, type MemoryStoreOptions } from './memory-options.js';
import { SegmentedSlots } from './memory-segments.js';
import { memoryStats, type MemoryStoreStats } from './memory-stats.js';
import {
  deleteRecord,
  dropOldRecords,
  endSession,
  entryBytes,
  extend,
  getRecord,
  newSlot,
  recordBytes,
  recordsOf,
  sessionBytes,
  setEntry,
  setRecord,
  slotBytes,
  startSession,
  stubUntil,
  tombstoneBytes,
  type MemoryRecord,
  type Slot,
} from './memory-slot.js';

export { MEMORY_DEFAULTS, type MemoryStoreOptions } from './memory-options.js';
export type { MemoryStoreStats } from './memory-stats.js';

export interface MemoryStore extends SessionStore {
  stats(): MemoryStoreStats;
}

/**
 * The embedded store: one process, no dependencies. For tests, the demo and
 * single-process apps. Every call runs to completion without awaiting, so
 * each is atomic by construction. Bounded in bytes, with new sessions in a
 * probation segment that a flood of them cannot grow past (see
 * memory-segments.ts and docs/stores.md); expired entries are removed lazily
 * on access and by a sweep of at most `sweepBatch` slots per call.
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const config = normaliseMemoryOptions(options);
  const slots = new SegmentedSlots(config);

  /** The slot, with what expired removed; undefined when nothing of it is left. */
  function liveSlot(id: string, now: number): Slot | undefined {
    const slot = slots.get(id);
    if (!slot) return undefined;
    if (slot.expiresAt <= now) {
      slots.remove(slot);
      return undefined;
    }
    if (slot.epoch !== null && slot.sessionExpiresAt <= now) slots.resize(slot, endSession(slot));
    if (slot.tombstone && slot.tombstone.expiresAt <= now) {
      slots.resize(slot, -tombstoneBytes(slot.tombstone));
      slot.tombstone = null;
    }
    // Records expire in the order they were written (one retention per validator): a few from the front.
    slots.resize(slot, dropOldRecords(slot, (record) => record.expiresAt <= now, 4));
    return slot;
  }

  function liveRecord(slot: Slot | undefined, key: string, now: number): MemoryRecord | undefined {
    const record = getRecord(slot, key);
    if (!record || record.expiresAt > now) return record;
    slots.resize(slot!, deleteRecord(slot!, key));
    return undefined;
  }

  const segmentFor = (slot: Slot | undefined) => (slot?.segment === 'protected' ? 'protected' : 'probation');

  /**
   * Makes room for `grow` more bytes of the session in `slot` (undefined: a
   * new one, and `grow` includes the slot), and `extra` bytes beside it: its own records past the resend horizon go first, oldest
   * first; then other slots are evicted (memory-segments.ts). Throws
   * StoreUnavailableError (503) when neither can give enough.
   */
  function makeRoom(slot: Slot | undefined, grow: number, extra: number, keep: readonly string[], now: number): void {
    const horizonStart = now - config.resendHorizonMs;
    if (slot) {
      for (const record of recordsOf(slot)) {
        if (slot.bytes + grow <= config.maxSessionBytes || record.state === 'pending' || record.leaseUntil > horizonStart) break;
        slots.resize(slot, deleteRecord(slot, record.key));
      }
    }
    if ((slot?.bytes ?? 0) + grow > config.maxSessionBytes) {
      slots.refusals++;
      throw new StoreUnavailableError('memoryStore: this session holds maxSessionBytes of records a resend may still need; it can write again as they age');
    }
    if (grow + extra > 0) slots.makeRoom(segmentFor(slot), grow + extra, keep, now);
  }

  /**
   * Whether the id holds what a claim of `input` stops at: a live tombstone,
   * or a record of the key this attempt may not claim (see claim() below).
   */
  function holds(sessionId: string, input: NonNullable<BeginInput['claim']>, now: number): boolean {
    const slot = liveSlot(sessionId, now);
    if (slot?.tombstone) return true;
    const existing = liveRecord(slot, input.key, now);
    if (!existing) return false;
    if (existing.state === 'evicted' || existing.fingerprint !== input.fingerprint) return true;
    const claimable = existing.state === 'pending' && (existing.token === input.token || existing.leaseUntil <= now);
    return !claimable;
  }

  function claim(sessionId: string, slot: Slot | undefined, input: NonNullable<BeginInput['claim']>, now: number): ClaimOutcome {
    const existing = liveRecord(slot, input.key, now);
    // The request this key recorded was applied, and its session evicted since: it is never applied again.
    if (existing?.state === 'evicted') return { status: 'evicted' };
    // A pending claim with this attempt's own token is its own: a begin retried after its outcome was unknown.
    const own = existing?.state === 'pending' && existing.token === input.token;
    if (existing && !own) {
      if (existing.fingerprint !== input.fingerprint) return existing.answer === undefined ? { status: 'mismatch' } : { status: 'mismatch', answer: existing.answer };
      if (existing.state === 'done' && existing.answer !== undefined) return { status: 'replay', answer: existing.answer };
      if (existing.leaseUntil > now) return { status: 'in-flight', retryAfterMs: existing.leaseUntil - now };
      // A partial record whose request died: its recorded answer stands, so that the committed part is never applied twice.
      if (existing.state === 'partial' && existing.answer !== undefined) return { status: 'replay', answer: existing.answer };
      // A pending claim whose lease ran out: the attempt died; this one takes over.
    }
    const record: MemoryRecord = { key: input.key, fingerprint: input.fingerprint, state: 'pending', leaseUntil: now + input.leaseMs, expiresAt: now + input.leaseMs, stubMs: 0, token: input.token };
    const grow = recordBytes(record) - (existing ? recordBytes(existing) : 0);
    makeRoom(slot, slot ? grow : slotBytes(sessionId) + grow, 0, [sessionId], now);
    const target = slot ?? slots.create(sessionId, now);
    if (target.segment === 'evicted') slots.use(target, now);
    slots.resize(target, setRecord(target, record));
    return { status: 'claimed' };
  }

  function entriesOf(slot: Slot, keys: Iterable<string>): Map<string, StoredEntry> {
    const result = new Map<string, StoredEntry>();
    for (const key of keys) result.set(key, slot.entries?.get(key) ?? { version: 0 });
    return result;
  }

  function releasePending(sessionId: string, key: string, token: string): void {
    const slot = slots.get(sessionId);
    const record = getRecord(slot, key);
    if (slot && record?.state === 'pending' && record.token === token) {
      slots.resize(slot, deleteRecord(slot, key));
      // A slot holding nothing counts toward no bound: keep none.
      if (slot.epoch === null && slot.records === null && slot.tombstone === null) slots.remove(slot);
    }
  }

  /** The bytes a commit adds to its session (values, record, a new session) before it is applied: room is made first. */
  function growthOf(input: CommitInput, slot: Slot | undefined, live: Slot | undefined): number {
    let grow = slot ? 0 : slotBytes(input.sessionId);
    if (input.destroy) return grow;
    if (!live) grow += sessionBytes(input.session.epoch);
    for (const [key, value] of input.changes) {
      const previous = live?.entries?.get(key);
      grow += entryBytes(key, value === null ? { version: 0 } : { version: 0, value }) - (previous ? entryBytes(key, previous) : 0);
    }
    if (input.record) {
      const previous = getRecord(slot, input.record.key);
      const { key, fingerprint, answer } = input.record;
      grow += recordBytes({ key, fingerprint, answer, state: 'done', leaseUntil: 0, expiresAt: 0, stubMs: 0 }) - (previous ? recordBytes(previous) : 0);
    }
    return grow;
  }

  /** The session, its entries and records move whole to the new id; the old id keeps only a tombstone. */
  function rotateSlot(slot: Slot, to: RotateInput, recordKey: string, now: number, idleTtlMs: number): void {
    const from = slot.id;
    const entries = slot.entries;
    slots.remove(slot);
    slot.id = to.sessionId;
    slot.bytes += slotBytes(to.sessionId) - slotBytes(from) + endSession(slot) + startSession(slot, to.epoch);
    // Only the kept keys move (every key, or those listed: the rotating request's own changes among them).
    const kept = to.keepKeys ? null : new Set(to.keptKeys ?? []);
    for (const [key, entry] of entries ?? []) if (kept === null || kept.has(key)) slot.bytes += setEntry(slot, key, entry);
    slots.add(slot);
    const tombstone = newSlot(from, slot.segment, slot.firstSeenAt);
    // The login's resend under the old id meets the tombstone; once it is evicted, a stub for as long as its record would leave one.
    const login = getRecord(slot, recordKey);
    tombstone.tombstone = { sessionId: to.sessionId, epoch: to.epoch, recordKey, replayUntil: now + to.replayWindowMs, stubUntil: login ? stubUntil(login) : 0, expiresAt: now + idleTtlMs };
    tombstone.bytes += tombstoneBytes(tombstone.tombstone);
    extend(tombstone, tombstone.tombstone.expiresAt);
    slots.add(tombstone);
  }

  /** What a rotation adds besides the session's own growth: the tombstone, and a longer id or epoch. */
  function rotationGrowth(from: string, to: RotateInput, recordKey: string, slot: Slot | undefined): number {
    const tombstone = slotBytes(from) + tombstoneBytes({ sessionId: to.sessionId, epoch: to.epoch, recordKey, replayUntil: 0 });
    return tombstone + Math.max(0, slotBytes(to.sessionId) - slotBytes(from)) + Math.max(0, sessionBytes(to.epoch) - sessionBytes(slot?.epoch ?? ''));
  }

  /** begin on one id: the session, its entries, and the claim (a touch rides along). */
  function beginAt(sessionId: string, { keys, claim: wanted, touch, now }: BeginInput): BeginResult {
    const slot = liveSlot(sessionId, now);
    if (slot?.tombstone) {
      const { expiresAt: _, stubUntil: __, ...rotated } = slot.tombstone;
      return { session: null, entries: new Map(), rotated };
    }
    if (slot && slot.segment !== 'evicted') {
      slots.use(slot, now);
      slots.promote(slot, now);
    }
    const live = slot?.epoch != null ? slot : undefined;
    if (live && touch) {
      live.sessionExpiresAt = Math.max(live.sessionExpiresAt, now + touch.idleTtlMs);
      extend(live, live.sessionExpiresAt);
    }
    const outcome = wanted ? claim(sessionId, slot, wanted, now) : undefined;
    return {
      session: live ? { epoch: live.epoch! } : null,
      entries: live ? entriesOf(live, keys) : new Map(),
      ...(outcome ? { claim: outcome } : {}),
    };
  }

  return {
    async begin(input: BeginInput): Promise<BeginResult> {
      const { sessionId, claim: wanted, now } = input;
      slots.sweep(now);
      const alsoUnder = wanted?.alsoUnder;
      if (wanted === undefined || alsoUnder === undefined) return beginAt(sessionId, input);
      // A creating request's record may be under its previous window's id: answered for that id when only it holds the key.
      const answeredFor = alsoUnder !== sessionId && !holds(sessionId, wanted, now) && holds(alsoUnder, wanted, now) ? alsoUnder : sessionId;
      return { ...beginAt(answeredFor, input), answeredFor };
    },

    async commit(input: CommitInput): Promise<CommitResult> {
      const { sessionId, now } = input;
      slots.sweep(now);
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
      const rotate = input.rotate && !input.destroy ? input.rotate : undefined;
      if (rotate && liveSlot(rotate.sessionId, now)) return fail({ status: 'occupied' });

      const keep = rotate ? [sessionId, rotate.sessionId] : [sessionId];
      try {
        makeRoom(slot, growthOf(input, slot, live), rotate ? rotationGrowth(sessionId, rotate, input.record?.key ?? '', slot) : 0, keep, now);
      } catch (error) {
        if (input.record) releasePending(sessionId, input.record.key, input.record.token);
        throw error;
      }
      slot ??= slots.create(sessionId, now);
      if (slot.segment === 'evicted') slots.use(slot, now);

      const versions = new Map<string, number>();
      if (input.destroy) {
        if (live) slots.resize(live, endSession(live));
      } else {
        if (slot.epoch === null) slots.resize(slot, startSession(slot, input.session.epoch));
        slot.sessionExpiresAt = now + input.idleTtlMs;
        extend(slot, slot.sessionExpiresAt);
        for (const [key, value] of input.changes) {
          const version = (slot.entries!.get(key)?.version ?? 0) + 1;
          slots.resize(slot, setEntry(slot, key, value === null ? { version } : { version, value }));
          versions.set(key, version);
        }
      }
      if (input.record) {
        // A destroy in a creating commit leaves no session, but its record outlives it, as on every store.
        const { key, fingerprint, answer, state, retentionMs, leaseMs } = input.record;
        const stubMs = Math.min(input.record.resendHorizonMs ?? retentionMs, config.resendHorizonMs);
        slots.resize(slot, setRecord(slot, { key, fingerprint, state, answer, leaseUntil: state === 'partial' ? now + leaseMs : now, expiresAt: now + retentionMs, stubMs }));
      }
      if (rotate) rotateSlot(slot, rotate, input.record?.key ?? '', now, input.idleTtlMs);
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

    stats: () => memoryStats(slots, config.maxBytes),

    async close(): Promise<void> {
      slots.clear();
    },
  };
}
