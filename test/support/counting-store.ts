import type { SessionStore } from '../../src/server/store.js';

export interface StoreCalls {
  begin: number;
  commit: number;
  release: number;
  touch: number;
  /** begin() calls that asked for a touch, plus commit and touch: calls that may write. */
  writes: number;
}

/**
 * Wraps a real store and counts its calls (round trips); behaviour is the store's own. What the store
 * says of itself (`shared`, `rotationId`, `creatingId`, `admitSession`) is passed through: without
 * `creatingId` a Redis Cluster's two id windows of one key land in two slots, and the validator falls back
 * to contract 1's extra begin and release; without `shared` it would not ask for a secret. `admitSession` (no store
 * here implements it) is passed through uncounted.
 */
export function countingStore(store: SessionStore): { store: SessionStore; calls: StoreCalls; reset(): void } {
  const calls: StoreCalls = { begin: 0, commit: 0, release: 0, touch: 0, writes: 0 };
  return {
    calls,
    reset() {
      Object.assign(calls, { begin: 0, commit: 0, release: 0, touch: 0, writes: 0 });
    },
    store: {
      ...(store.shared !== undefined ? { shared: store.shared } : {}),
      ...(store.rotationId ? { rotationId: store.rotationId.bind(store) } : {}),
      ...(store.creatingId ? { creatingId: store.creatingId.bind(store) } : {}),
      ...(store.admitSession ? { admitSession: store.admitSession.bind(store) } : {}),
      begin(input) {
        calls.begin++;
        if (input.touch || input.claim) calls.writes++;
        return store.begin(input);
      },
      commit(input) {
        calls.commit++;
        calls.writes++;
        return store.commit(input);
      },
      release(input) {
        calls.release++;
        calls.writes++;
        return store.release(input);
      },
      touch(input) {
        calls.touch++;
        calls.writes++;
        return store.touch(input);
      },
      close: () => store.close(),
    },
  };
}
