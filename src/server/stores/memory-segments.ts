import { StoreUnavailableError } from '../store.js';
import type { ResolvedMemoryOptions } from './memory-options.js';
import { newSlot, recordBytes, stubsOf, type SegmentName, type Slot } from './memory-slot.js';

/**
 * The memory store's slots in three segments, each a Map in least recently
 * used order, with the bytes each holds:
 *
 * - probation: new sessions (and their tombstones). Together with the stubs
 *   they stay within `probationBytes`, evicted among themselves, so that no
 *   flood of new sessions ever pushes out a promoted one.
 * - protected: sessions promoted by serving a request `promoteAfterMs` after
 *   their first, within the rest of maxBytes, least recently used evicted
 *   first; a flood of new sessions never reaches them.
 * - evicted: what an evicted session leaves: a stub for each record younger
 *   than the resend horizon. Never evicted; each goes when it expires.
 */
export class SegmentedSlots {
  private readonly maps: Record<SegmentName, Map<string, Slot>> = { probation: new Map(), protected: new Map(), evicted: new Map() };
  private readonly bytesIn: Record<SegmentName, number> = { probation: 0, protected: 0, evicted: 0 };
  private sweepOrder: SegmentName[] = ['probation', 'protected', 'evicted'];
  private sweepCursor: Iterator<Slot> | null = null;
  /** Sessions evicted (a slot's session or tombstone) since the store was made, and the bytes that freed. */
  evictions = 0;
  evictedBytes = 0;
  /** Writes refused (503) because room could not be made without dropping a record a resend may need. */
  refusals = 0;
  /** The most bytes held at the end of any call. */
  peakBytes = 0;
  lastSweep = { visited: 0, removed: 0 };

  constructor(private readonly options: ResolvedMemoryOptions) {}

  get bytes(): number {
    return this.bytesIn.probation + this.bytesIn.protected + this.bytesIn.evicted;
  }

  segmentBytes(segment: SegmentName): number {
    return this.bytesIn[segment];
  }

  get(id: string): Slot | undefined {
    return this.maps.probation.get(id) ?? this.maps.protected.get(id) ?? this.maps.evicted.get(id);
  }

  *all(): IterableIterator<Slot> {
    for (const map of Object.values(this.maps)) yield* map.values();
  }

  /** A new, empty slot in probation. */
  create(id: string, now: number): Slot {
    const slot = newSlot(id, 'probation', now);
    this.add(slot);
    return slot;
  }

  add(slot: Slot): void {
    this.maps[slot.segment].set(slot.id, slot);
    this.bytesIn[slot.segment] += slot.bytes;
    this.notePeak();
  }

  remove(slot: Slot): void {
    if (this.maps[slot.segment].delete(slot.id)) this.bytesIn[slot.segment] -= slot.bytes;
  }

  /** Books what a change of the slot cost (or freed). */
  resize(slot: Slot, delta: number): void {
    slot.bytes += delta;
    if (this.maps[slot.segment].get(slot.id) === slot) this.bytesIn[slot.segment] += delta;
    this.notePeak();
  }

  /** The slot becomes its segment's most recently used; a stub-only slot that gets a session or a claim again starts over in probation. */
  use(slot: Slot, now: number): void {
    this.remove(slot);
    if (slot.segment === 'evicted') {
      slot.segment = 'probation';
      slot.firstSeenAt = now;
    }
    this.add(slot);
  }

  /** A session that served a request promoteAfterMs after its first moves to protected. */
  promote(slot: Slot, now: number): void {
    if (slot.segment !== 'probation' || slot.epoch === null || now - slot.firstSeenAt < this.options.promoteAfterMs) return;
    this.remove(slot);
    slot.segment = 'protected';
    this.add(slot);
  }

  /**
   * Evicts until `bytes` more fit in `segment` with `keep` untouched, or
   * throws StoreUnavailableError (the validator answers 503) when what is
   * left cannot go. Probation (with the stubs) keeps within probationBytes
   * and protected within the rest, each evicting its own least recently used
   * first; a new session's write evicts a promoted one only while protected
   * holds more than its part (after promotions), and the whole never passes
   * maxBytes.
   */
  makeRoom(segment: 'probation' | 'protected', bytes: number, keep: readonly string[], now: number): void {
    const { maxBytes, probationBytes } = this.options;
    for (;;) {
      const probationOver = this.bytesIn.probation + this.bytesIn.evicted + (segment === 'probation' ? bytes : 0) > probationBytes;
      const protectedOver = this.bytesIn.protected + (segment === 'protected' ? bytes : 0) > maxBytes - probationBytes;
      const totalOver = this.bytes + bytes > maxBytes;
      let victim: Slot | undefined;
      if (segment === 'probation' && probationOver) victim = this.oldest('probation', keep);
      else if (segment === 'protected' && protectedOver) victim = this.oldest('protected', keep);
      else if (totalOver) victim = protectedOver ? (this.oldest('protected', keep) ?? this.oldest('probation', keep)) : (this.oldest('probation', keep) ?? this.oldest('protected', keep));
      else return;
      if (!victim) {
        this.refusals++;
        throw new StoreUnavailableError(
          segment === 'probation'
            ? 'memoryStore: no room for new sessions now (their share is held by records a resend may still need); promoted sessions are served'
            : 'memoryStore: no room left (maxBytes is held by records a resend may still need)',
        );
      }
      this.evict(victim, now);
    }
  }

  private oldest(segment: SegmentName, keep: readonly string[]): Slot | undefined {
    for (const slot of this.maps[segment].values()) if (!keep.includes(slot.id)) return slot;
    return undefined;
  }

  /** The slot's session, keys, records and tombstone go; a stub of each record younger than the resend horizon stays. */
  evict(slot: Slot, now: number): void {
    const stubs = stubsOf(slot, now);
    this.remove(slot);
    this.evictions++;
    let left = 0;
    if (stubs) {
      const stubSlot = newSlot(slot.id, 'evicted', slot.firstSeenAt);
      stubSlot.records = stubs.size === 1 ? stubs.values().next().value! : stubs;
      for (const stub of stubs.values()) {
        stubSlot.bytes += recordBytes(stub);
        if (stub.expiresAt > stubSlot.expiresAt) stubSlot.expiresAt = stub.expiresAt;
      }
      left = stubSlot.bytes;
      this.add(stubSlot);
    }
    this.evictedBytes += slot.bytes - left;
  }

  /** Visits at most sweepBatch slots, continuing where the last call stopped, and removes those a minute past their expiry. */
  sweep(now: number): void {
    let visited = 0;
    let removed = 0;
    for (let segments = 0; visited < this.options.sweepBatch && segments < 3; ) {
      this.sweepCursor ??= this.maps[this.sweepOrder[0]!].values();
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = null;
        this.sweepOrder = [...this.sweepOrder.slice(1), this.sweepOrder[0]!];
        segments++;
        continue;
      }
      visited++;
      // A minute past its expiry: a caller whose clock is a little behind (another process, a test) still finds what it may.
      if (next.value.expiresAt + 60_000 <= now) {
        this.remove(next.value);
        removed++;
      }
    }
    this.lastSweep = { visited, removed };
  }

  clear(): void {
    for (const segment of Object.keys(this.maps) as SegmentName[]) {
      this.maps[segment].clear();
      this.bytesIn[segment] = 0;
    }
    this.sweepCursor = null;
  }

  private notePeak(): void {
    const bytes = this.bytes;
    if (bytes > this.peakBytes) this.peakBytes = bytes;
  }
}
