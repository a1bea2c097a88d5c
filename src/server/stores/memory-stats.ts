import type { SegmentedSlots } from './memory-segments.js';
import { recordsOf } from './memory-slot.js';

/** What the memory store holds, for monitoring and sizing. Counting visits every slot: ask now and then, not per request. */
export interface MemoryStoreStats {
  readonly sessions: number;
  readonly records: number;
  /** Keys of records younger than the resend horizon whose session was evicted. */
  readonly stubs: number;
  /** Ids rotated away (login) and still answered as tombstones. */
  readonly tombstones: number;
  /** Bytes held now, as the store counts them, and the most held at any moment; never above `maxBytes`. */
  readonly bytes: number;
  readonly peakBytes: number;
  readonly maxBytes: number;
  readonly segments: { readonly probation: number; readonly protected: number; readonly evicted: number };
  /** Slots evicted to stay within the bounds since the store was made, and the bytes that freed. */
  readonly evicted: number;
  readonly evictedBytes: number;
  /** Writes refused (503) because making room would have dropped a record a resend may still need. */
  readonly refused: number;
  /** The last call's sweep: slots visited, and how many of them it removed as expired. */
  readonly lastSweep: { readonly visited: number; readonly removed: number };
}

/** Counts what the slots hold: visits every slot. */
export function memoryStats(slots: SegmentedSlots, maxBytes: number): MemoryStoreStats {
  let sessions = 0;
  let records = 0;
  let stubs = 0;
  let tombstones = 0;
  for (const slot of slots.all()) {
    if (slot.epoch !== null) sessions++;
    if (slot.tombstone) tombstones++;
    for (const record of recordsOf(slot)) {
      if (record.state === 'evicted') stubs++;
      else records++;
    }
  }
  return {
    sessions,
    records,
    stubs,
    tombstones,
    bytes: slots.bytes,
    peakBytes: slots.peakBytes,
    maxBytes,
    segments: { probation: slots.segmentBytes('probation'), protected: slots.segmentBytes('protected'), evicted: slots.segmentBytes('evicted') },
    evicted: slots.evictions,
    evictedBytes: slots.evictedBytes,
    refused: slots.refusals,
    lastSweep: slots.lastSweep,
  };
}
