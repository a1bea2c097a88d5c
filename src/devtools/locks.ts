/**
 * Who holds each key's lane now, in this tab or another, and who waits behind
 * it: read from `navigator.locks.query()`, where the client's lanes are the
 * locks `session-lanes:key:<key>` (src/client/web-locks.ts; the key `''` is
 * the session-wide lane). This tab's own clientId comes from a lock the panel
 * holds while it is mounted.
 */

/** The client's lane lock names: this prefix, then the key. */
export const LANE_PREFIX = 'session-lanes:key:';

export interface LaneHolder {
  readonly mode: LockMode;
  /** Held (or wanted) by this tab. */
  readonly here: boolean;
}

export interface LaneView {
  readonly held: LaneHolder[];
  readonly queue: LaneHolder[];
}

export interface LaneWatcher {
  /** Key → its lane; `''` is the session-wide lane. Undefined: no Web Locks here. */
  query(): Promise<Map<string, LaneView> | undefined>;
  stop(): void;
}

export function watchLanes(locks: LockManager | undefined = globalThis.navigator?.locks): LaneWatcher {
  if (!locks) return { query: async () => undefined, stop: () => {} };
  const name = `session-lanes-devtools:${Math.random().toString(36).slice(2)}`;
  let stop!: () => void;
  const held = new Promise<void>((resolve) => (stop = resolve));
  // Held until stop(): its clientId is this tab's.
  void locks.request(name, () => held);
  return {
    stop,
    async query() {
      const snapshot = await locks.query();
      const self = snapshot.held?.find((lock) => lock.name === name)?.clientId;
      const lanes = new Map<string, LaneView>();
      const view = (lock: LockInfo) => {
        const key = lock.name!.slice(LANE_PREFIX.length);
        let lane = lanes.get(key);
        if (!lane) lanes.set(key, (lane = { held: [], queue: [] }));
        return lane;
      };
      const holder = (lock: LockInfo): LaneHolder => ({ mode: lock.mode ?? 'exclusive', here: self !== undefined && lock.clientId === self });
      for (const lock of snapshot.held ?? []) if (lock.name?.startsWith(LANE_PREFIX)) view(lock).held.push(holder(lock));
      for (const lock of snapshot.pending ?? []) if (lock.name?.startsWith(LANE_PREFIX)) view(lock).queue.push(holder(lock));
      return lanes;
    },
  };
}
