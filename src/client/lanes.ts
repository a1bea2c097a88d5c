/**
 * Lanes: per key, shared for reads and exclusive for writes. A request takes
 * all its keys at once, first come first served per key: it is granted when
 * no holder and no EARLIER waiter conflicts with it on any of its keys. The
 * earliest waiter can only be blocked by holders, and holders never wait for
 * lanes, so the queue always moves (no deadlock), and a waiting writer is
 * never starved by readers arriving after it.
 *
 * The state is plain data changed only by the pure `reduceLanes`, so that it
 * is easy to test, persist and draw; `createLanes()` wraps it with promises.
 */

/** One key of a request, and whether it is written (exclusive) or only read (shared). */
export interface LaneClaim {
  readonly key: string;
  readonly write: boolean;
}

export interface LaneEntry {
  readonly id: number;
  readonly claims: readonly LaneClaim[];
}

/** Who holds lanes, and who waits for them, in arrival order. */
export interface LaneState {
  readonly held: readonly LaneEntry[];
  readonly waiting: readonly LaneEntry[];
}

export type LaneAction =
  | { readonly type: 'request'; readonly entry: LaneEntry }
  /** Gives back held lanes, or leaves the queue unserved (abort). */
  | { readonly type: 'release'; readonly id: number };

/**
 * The lane manager seam: the in-tab `createLanes()` now, Web Locks across
 * tabs later. `acquire` resolves with a release function once every claimed
 * lane is held; an abort of `signal` while waiting leaves the queue and
 * rejects with `signal.reason`. The optional `tryAcquire` takes the lanes
 * only if nothing holds or waits for them, and never waits: undefined
 * otherwise. The client uses it to learn that a write will not wait (such a
 * write is stored once, as sent; one that waits is stored before it waits).
 */
export interface Lanes {
  acquire(claims: readonly LaneClaim[], signal?: AbortSignal): Promise<() => void>;
  tryAcquire?(claims: readonly LaneClaim[]): Promise<(() => void) | undefined>;
}

export const initialLanes: LaneState = { held: [], waiting: [] };

/** The pure transition: applies `action`, then grants every waiter that may now run. */
export function reduceLanes(state: LaneState, action: LaneAction): LaneState {
  let { held, waiting } = state;
  if (action.type === 'request') waiting = [...waiting, action.entry];
  else {
    held = held.filter((entry) => entry.id !== action.id);
    waiting = waiting.filter((entry) => entry.id !== action.id);
  }
  // key -> true when written, false when only read, by a holder or an earlier waiter.
  const taken = new Map<string, boolean>();
  const take = (entry: LaneEntry) => {
    for (const { key, write } of entry.claims) taken.set(key, write || taken.get(key) === true);
  };
  held.forEach(take);
  const nextHeld = [...held];
  const nextWaiting: LaneEntry[] = [];
  for (const entry of waiting) {
    const free = entry.claims.every(({ key, write }) => {
      const other = taken.get(key);
      return other === undefined || (!other && !write);
    });
    (free ? nextHeld : nextWaiting).push(entry);
    take(entry);
  }
  return { held: nextHeld, waiting: nextWaiting };
}

/** In-tab lanes. `state()` shows the current state (for tests and timelines). */
export function createLanes(): Lanes & { state(): LaneState } {
  let state = initialLanes;
  let nextId = 0;
  const granted = new Map<number, () => void>();
  const dispatch = (action: LaneAction) => {
    state = reduceLanes(state, action);
    for (const { id } of state.held) {
      const grant = granted.get(id);
      if (grant) {
        granted.delete(id);
        grant();
      }
    }
  };
  return {
    state: () => state,
    acquire: (claims, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const id = ++nextId;
        let waited = false;
        const release = () => dispatch({ type: 'release', id });
        const abort = () => {
          granted.delete(id);
          release();
          reject(signal!.reason);
        };
        granted.set(id, () => {
          if (waited) signal?.removeEventListener('abort', abort);
          let released = false;
          resolve(() => {
            if (!released) release();
            released = true;
          });
        });
        dispatch({ type: 'request', entry: { id, claims } });
        // Listen only when the request has to wait: an abort listener costs more than the rest of a free acquire.
        waited = granted.has(id);
        if (waited) signal?.addEventListener('abort', abort); // no `once`: a signal aborts once
      }),
  };
}
