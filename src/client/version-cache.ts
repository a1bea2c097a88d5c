/**
 * What the client knows of the session: its epoch, and per key the latest
 * version seen and — when known — the value AT that version. Values come
 * only from 412 bodies; a newer version from Session-Versions makes the value
 * unknown. A version never moves backwards (a replayed answer carries the
 * versions of its first production).
 */

/** A key as known: `known` says whether `value` (absent = the key is absent) is the value at `version`. */
export interface KnownKey {
  readonly version: number;
  readonly known: boolean;
  readonly value?: unknown;
}

/**
 * The version cache seam: in memory now, IndexedDB-backed across tabs later.
 * Epoch `undefined` = nothing known yet; `''` = the server said there is no session.
 */
export interface VersionCache {
  epoch(): string | undefined;
  get(key: string): KnownKey | undefined;
  /**
   * Learns from an answer served in `epoch` to a request sent with `sentEpoch`.
   * An answer from another epoch replaces what is known only if the request
   * was made against what the cache holds (so a late answer of an older
   * session never overwrites a newer one).
   */
  learn(sentEpoch: string | undefined, epoch: string, keys: Iterable<readonly [string, KnownKey]>): void;
  /** Forgets everything known for `epoch` (a 410); what is known for another epoch stays. */
  void(epoch: string | undefined): void;
  /** key -> latest version known. */
  versions(): Record<string, number>;
}

export function memoryVersionCache(): VersionCache {
  let current: string | undefined;
  let keys = new Map<string, KnownKey>();
  return {
    epoch: () => current,
    get: (key) => keys.get(key),
    learn(sentEpoch, epoch, learned) {
      if (epoch !== current) {
        if (current !== undefined && (sentEpoch ?? '') !== current) return;
        current = epoch;
        keys = new Map();
      }
      for (const [key, state] of learned) {
        const old = keys.get(key);
        // Same version and a value: take it (it is the same value, and heals a caller's mutation).
        if (!old || state.version > old.version || (state.version === old.version && state.known)) keys.set(key, state);
      }
    },
    void(epoch) {
      if ((epoch ?? '') === (current ?? '')) {
        current = undefined;
        keys = new Map();
      }
    },
    versions: () => Object.fromEntries([...keys].map(([key, state]) => [key, state.version])),
  };
}
