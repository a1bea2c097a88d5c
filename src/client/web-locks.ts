/**
 * Lanes across the tabs of an origin, on the Web Locks API: one lock per key,
 * shared for reads and exclusive for writes. A request takes its locks one
 * after another in one sorted key order, holding those it has while it waits
 * for the next: every request of every tab climbs the same order, so no
 * cycle of waits, hence no deadlock, is possible. Each lock is held by a
 * callback whose promise settles only when the request releases, so no lock
 * outlives its request; a closed tab's locks are released by the browser.
 * `tryAcquire` takes lanes nobody holds in one round trip (`ifAvailable`,
 * all at once), or none.
 */
import type { LaneClaim, Lanes } from './lanes.js';

/** `prefix + key` names each lock. */
export function webLocksLanes(locks: LockManager, prefix: string): Lanes {
  /** Holds `claim`'s lock until `done` settles; `held(lock)` says whether it was granted (always, unless `ifAvailable`). */
  const hold = (claim: LaneClaim, options: LockOptions, held: (granted: boolean) => unknown) =>
    locks.request(prefix + claim.key, { mode: claim.write ? 'exclusive' : 'shared', ...options }, (lock) => held(lock !== null));

  /**
   * The common case, lanes nobody holds: every lock asked for at once with `ifAvailable`, one round trip to the
   * browser instead of one per lock. Nothing waits, so no order is needed; if any lock is taken, all go back.
   */
  async function takeFree(claims: readonly LaneClaim[]): Promise<(() => void) | undefined> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    // Each callback says whether its lock was granted, and holds it until `done`.
    const granted = await Promise.all(claims.map((claim) => new Promise<boolean>((answer) => void hold(claim, { ifAvailable: true }, (granted) => (answer(granted), done)).catch(() => answer(false)))));
    if (granted.every(Boolean)) return release;
    release();
    return undefined;
  }

  /** Takes the locks one after another in sorted key order, holding those it has while it waits for the next. */
  const takeInOrder = (claims: readonly LaneClaim[], signal: AbortSignal | undefined) =>
    new Promise<() => void>((resolve, reject) => {
      let release!: () => void;
      const done = new Promise<void>((resolve) => (release = resolve));
      // Keys are distinct within a request.
      const sorted = [...claims].sort((a, b) => (a.key < b.key ? -1 : 1));
      // The callback of lock i waits for lock i + 1; an abort while waiting rejects it and lets go of those held.
      const take = (i: number): Promise<unknown> => {
        const claim = sorted[i];
        if (!claim) return resolve(release), done;
        return hold(claim, signal ? { signal } : {}, () => take(i + 1));
      };
      take(0).catch(reject);
    });

  // The client asks `tryAcquire` first, and `acquire` only when some lane was taken.
  return { acquire: takeInOrder, tryAcquire: takeFree };
}
