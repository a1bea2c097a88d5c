import type { StoredEntry, Tombstone } from '../store.js';

/**
 * What the memory store holds under one session id, and what each part of it
 * costs in bytes. The functions here change one slot and return how many
 * bytes it grew by (negative: shrank); the caller books that against the
 * slot's segment (memory-segments.ts).
 */

export interface MemoryRecord {
  /** The Idempotency-Key it records. */
  readonly key: string;
  readonly fingerprint: string;
  /**
   * 'evicted': the record's session was evicted; only the key is kept, so
   * that a resend of the request it recorded is refused, never applied again.
   */
  readonly state: 'pending' | 'partial' | 'done' | 'evicted';
  /**
   * Until when a pending or partial record answers in-flight; for a done
   * record, when it was written (its age, for the resend horizon, counts
   * from here: a partial record's a lease later, which only keeps it longer).
   */
  readonly leaseUntil: number;
  readonly answer?: string;
  readonly expiresAt: number;
  /**
   * How long after `leaseUntil` evicting its session leaves a stub of its key
   * (see IdempotencyRecord.resendHorizonMs). A duration, not a time: it
   * stays a small integer, which V8 keeps in the record itself.
   */
  readonly stubMs: number;
  /** A pending claim's attempt. */
  readonly token?: string;
}

export type SegmentName = 'probation' | 'protected' | 'evicted';

/**
 * Everything stored under one session id: the session (while it lives), its
 * idempotency records, or the tombstone an id rotated away leaves. A record
 * only leaves with its session, and a young one leaves a stub behind.
 */
export interface Slot {
  id: string;
  /** probation: new; protected: promoted; evicted: only stubs of records left. */
  segment: SegmentName;
  /** What all of it costs, as `slotBytes` counts it. */
  bytes: number;
  /** The live session's epoch; null before its creating commit, and once destroyed (its records stay for their retention). */
  epoch: string | null;
  entries: Map<string, StoredEntry> | null;
  sessionExpiresAt: number;
  /** Its records, in write order (a rewritten record moves to the end): most sessions have one, held as is (a Map costs ~90 bytes more). */
  records: MemoryRecord | Map<string, MemoryRecord> | null;
  /** When the slot's last part expires: the later of its session's expiry and its records'. */
  expiresAt: number;
  /** When it served its first request: a session serving one at least promoteAfterMs later is promoted. */
  firstSeenAt: number;
  /** The id was rotated away (login): where its session went, until the old session's idle expiry. */
  tombstone: (Tombstone & { readonly stubUntil: number; readonly expiresAt: number }) | null;
}

// Estimates of V8's cost: strings as UTF-16 (2 bytes a code unit), and a fixed overhead for each object and Map entry.
const text = (value: string | undefined) => 2 * (value?.length ?? 0);
const SLOT_OVERHEAD = 240;
const SESSION_OVERHEAD = 96;
const ENTRY_OVERHEAD = 96;
const RECORD_OVERHEAD = 160;
const STUB_OVERHEAD = 64;
const TOMBSTONE_OVERHEAD = 120;

export const slotBytes = (id: string) => SLOT_OVERHEAD + text(id);
export const sessionBytes = (epoch: string) => SESSION_OVERHEAD + text(epoch);
export const entryBytes = (key: string, entry: StoredEntry) => ENTRY_OVERHEAD + text(key) + text(entry.value);
export const recordBytes = (record: MemoryRecord) =>
  record.state === 'evicted' ? STUB_OVERHEAD + text(record.key) : RECORD_OVERHEAD + text(record.key) + text(record.fingerprint) + text(record.answer) + text(record.token);
export const tombstoneBytes = (tombstone: Tombstone) => TOMBSTONE_OVERHEAD + text(tombstone.sessionId) + text(tombstone.epoch) + text(tombstone.recordKey);

export function newSlot(id: string, segment: SegmentName, now: number): Slot {
  return { id, segment, bytes: slotBytes(id), epoch: null, entries: null, sessionExpiresAt: 0, records: null, expiresAt: 0, firstSeenAt: now, tombstone: null };
}

export function extend(slot: Slot, until: number): void {
  if (until > slot.expiresAt) slot.expiresAt = until;
}

/** Until when evicting the record's session leaves a stub of its key. */
export const stubUntil = (record: MemoryRecord) => Math.min(record.expiresAt, record.leaseUntil + record.stubMs);


export function getRecord(slot: Slot | undefined, key: string): MemoryRecord | undefined {
  const records = slot?.records;
  if (!records) return undefined;
  return records instanceof Map ? records.get(key) : records.key === key ? records : undefined;
}

/** Its records, oldest written first (deleting the current one while iterating is safe). */
export function recordsOf(slot: Slot): Iterable<MemoryRecord> {
  const records = slot.records;
  return records === null ? [] : records instanceof Map ? records.values() : [records];
}

/** Writes (or replaces) one record; returns the bytes the slot grew by. */
export function setRecord(slot: Slot, record: MemoryRecord): number {
  const previous = getRecord(slot, record.key);
  const records = slot.records;
  if (records === null || (!(records instanceof Map) && records.key === record.key)) {
    slot.records = record;
  } else {
    const map = records instanceof Map ? records : new Map([[records.key, records]]);
    // Delete first: the map stays in write order, oldest first, for pruning.
    map.delete(record.key);
    map.set(record.key, record);
    slot.records = map;
  }
  extend(slot, record.expiresAt);
  return recordBytes(record) - (previous ? recordBytes(previous) : 0);
}

export function deleteRecord(slot: Slot, key: string): number {
  const record = getRecord(slot, key);
  if (!record) return 0;
  if (slot.records instanceof Map) {
    slot.records.delete(key);
    if (slot.records.size === 0) slot.records = null;
  } else slot.records = null;
  return -recordBytes(record);
}

/** Starts the session on the slot; returns the bytes it grew by. */
export function startSession(slot: Slot, epoch: string): number {
  slot.epoch = epoch;
  slot.entries = new Map();
  return sessionBytes(epoch);
}

/** Ends the session (its keys go; records and tombstone stay); returns the bytes the slot grew by. */
export function endSession(slot: Slot): number {
  if (slot.epoch === null) return 0;
  let freed = sessionBytes(slot.epoch);
  for (const [key, entry] of slot.entries ?? []) freed += entryBytes(key, entry);
  slot.epoch = null;
  slot.entries = null;
  return -freed;
}

/** Sets one key; returns the bytes the slot grew by. */
export function setEntry(slot: Slot, key: string, entry: StoredEntry): number {
  const previous = slot.entries!.get(key);
  slot.entries!.set(key, entry);
  return entryBytes(key, entry) - (previous ? entryBytes(key, previous) : 0);
}

/**
 * Drops records from the front (oldest written first) while `drop` says so,
 * at most `budget` of them; returns the (negative) bytes the slot grew by.
 */
export function dropOldRecords(slot: Slot, drop: (record: MemoryRecord) => boolean, budget: number): number {
  let delta = 0;
  for (const record of recordsOf(slot)) {
    if (budget-- === 0 || !drop(record)) break;
    delta += deleteRecord(slot, record.key);
  }
  return delta;
}

/**
 * What is left of a slot when it is evicted: a stub of each record whose
 * resend could still apply it again (and of the login a tombstone stands
 * for), until then; null when nothing needs to stay.
 */
export function stubsOf(slot: Slot, now: number): Map<string, MemoryRecord> | null {
  let stubs: Map<string, MemoryRecord> | null = null;
  const keep = (key: string, until: number) => {
    if (until <= now) return;
    stubs ??= new Map();
    stubs.set(key, { key, fingerprint: '', state: 'evicted', leaseUntil: until, expiresAt: until, stubMs: 0 });
  };
  for (const record of recordsOf(slot)) keep(record.key, stubUntil(record));
  const tombstone = slot.tombstone;
  if (tombstone && tombstone.recordKey !== '') keep(tombstone.recordKey, tombstone.stubUntil);
  return stubs;
}
