import type { SessionStore } from '../../src/server/store.js';

export interface StoreCalls {
  begin: number;
  commit: number;
  release: number;
  touch: number;
  /** begin() calls that asked for a touch, plus commit and touch: calls that may write. */
  writes: number;
}

/** Wraps a real store and counts its calls (round trips); behaviour is the store's own. */
export function countingStore(store: SessionStore): { store: SessionStore; calls: StoreCalls; reset(): void } {
  const calls: StoreCalls = { begin: 0, commit: 0, release: 0, touch: 0, writes: 0 };
  return {
    calls,
    reset() {
      Object.assign(calls, { begin: 0, commit: 0, release: 0, touch: 0, writes: 0 });
    },
    store: {
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
