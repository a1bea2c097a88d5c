/**
 * Lanes across the tabs of an origin, on the Web Locks API: one lock per key,
 * shared for reads and exclusive for writes. A request takes its locks one
 * after another in one sorted key order, holding those it has while it waits
 * for the next: every request of every tab climbs the same order, so no
 * cycle of waits, hence no deadlock, is possible. Each lock is held by a
 * callback whose promise settles only when the request releases, so no lock
 * outlives its request; a closed tab's locks are released by the browser.
 */
import type { Lanes } from './lanes.js';

/** `prefix + key` names each lock. */
export function webLocksLanes(locks: LockManager, prefix: string): Lanes {
  return {
    acquire: (claims, signal) =>
      new Promise((resolve, reject) => {
        let release!: () => void;
        const done = new Promise<void>((resolve) => (release = resolve));
        // Keys are distinct within a request.
        const sorted = [...claims].sort((a, b) => (a.key < b.key ? -1 : 1));
        // The callback of lock i waits for lock i + 1; an abort while waiting rejects it and lets go of those held.
        const take = (i: number): Promise<unknown> => {
          const claim = sorted[i];
          if (!claim) return resolve(release), done;
          return locks.request(prefix + claim.key, { mode: claim.write ? 'exclusive' : 'shared', ...(signal && { signal }) }, () => take(i + 1));
        };
        take(0).catch(reject);
      }),
  };
}
