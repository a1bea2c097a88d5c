/**
 * What the client knows of the session: its epoch, and per key the latest
 * version seen and — when known — the value AT that version. Values come
 * only from 412 bodies; a newer version from Session-Versions makes the value
 * unknown. A version never moves backwards (a replayed answer carries the
 * versions of its first production).
 *
 * The state is plain, structured-cloneable data changed only by the pure
 * `learnState` and `voidState`: the in-memory cache keeps it in a variable,
 * the shared cache (shared-cache.ts) in IndexedDB too.
 */

/** A key as known: `known` says whether `value` (absent = the key is absent) is the value at `version`. */
export interface KnownKey {
  readonly version: number;
  readonly known: boolean;
  readonly value?: unknown;
}

/** Epoch `undefined` = nothing known yet; `''` = the server said there is no session. A Map: a key may be named "__proto__". */
export interface CacheState {
  readonly epoch: string | undefined;
  readonly keys: ReadonlyMap<string, KnownKey>;
  /** The epoch this one was rotated from (a login kept the session): so every tab tells a rotation from an end. */
  readonly from?: string | undefined;
}

/**
 * The version cache seam: `memoryVersionCache()` for one tab,
 * `sharedVersionCache()` across tabs.
 */
export interface VersionCache {
  epoch(): string | undefined;
  get(key: string): KnownKey | undefined;
  /**
   * Learns from an answer served in `epoch` to a request sent with `sentEpoch`.
   * An answer from another epoch replaces what is known only if the request
   * was made against what the cache holds (so a late answer of an older
   * session never overwrites a newer one). The client awaits it before it
   * releases the request's lanes, so a shared cache stores it for the next holder.
   */
  learn(sentEpoch: string | undefined, epoch: string, keys: Iterable<readonly [string, KnownKey]>, rotated?: Rotation): void | Promise<void>;
  /** Forgets everything known for `epoch` (a 410), leaving epoch `''` (no session); what is known for another epoch stays. */
  void(epoch: string | undefined): void | Promise<void>;
  /** key -> latest version known. */
  versions(): Record<string, number>;
  /** Optional: brings the view up to date (from other tabs); awaited once the lanes are held, before bases are read. */
  sync?(): Promise<void>;
}

/** A rotation's answer (Session-Rotated): the epoch rotated from, and whether the keys came along. */
export type Rotation = readonly [from: string, kept: boolean];

export const emptyCache: CacheState = { epoch: undefined, keys: new Map() };

/** The pure transition of `learn`; `rotated`: the answer rotated the session (its versions move along when the keys were kept). */
export function learnState(state: CacheState, sentEpoch: string | undefined, epoch: string, learned: Iterable<readonly [string, KnownKey]>, rotated?: Rotation): CacheState {
  const [from, kept] = rotated ?? [];
  if (epoch !== state.epoch && state.epoch !== undefined && (sentEpoch ?? '') !== state.epoch && from !== state.epoch) return state;
  // No session (a logout's answer, a visitor's): every key is absent at version 0, so nothing is known.
  if (epoch === '') return { epoch, keys: new Map() };
  const keys = new Map(epoch === state.epoch || (kept && from === state.epoch) ? state.keys : []);
  for (const [key, next] of learned) {
    const old = keys.get(key);
    // Same version and a value: take it (it is the same value, and heals a caller's mutation).
    if (!old || next.version > old.version || (next.version === old.version && next.known)) keys.set(key, next);
  }
  return { epoch, keys, from: from ?? (epoch === state.epoch ? state.from : undefined) };
}

/**
 * The pure transition of `void`: to a tombstone, epoch `''` (no session), not back to "nothing known", so
 * that a late answer of the ended session is refused by `learnState`, while the answer of a write sent
 * without an epoch (a new login) is taken.
 */
export const voidState = (state: CacheState, epoch: string | undefined): CacheState => ((epoch ?? '') === (state.epoch ?? '') ? { epoch: '', keys: new Map() } : state);

/**
 * Follows an epoch as it changes: `left(E)` each time it moves away from session E (a 410, a logout answered
 * `""`, another login). The one rule by which a session ends, whatever the cache: the shared cache follows what
 * it holds (so a change read from another tab ends the session there too), and the client follows the epoch
 * of the cache it has after each answer it learns (so the in-memory cache, or one of your own, too).
 */
export const followEpoch =
  (left: (epoch: string, to?: string) => void, epoch?: string) =>
  (next: string | undefined, from?: string): void => {
    // Moved on by a rotation (`from` names the epoch left): `to` says where; else the session ended.
    if (epoch && next !== epoch) left(epoch, from === epoch ? next : undefined);
    epoch = next;
  };

/** Whether two states say the same (values compared as JSON). The shared cache skips IndexedDB for an answer that taught nothing: most reads. */
export const sameState = (a: CacheState, b: CacheState): boolean => JSON.stringify([a.epoch, a.from, [...a.keys]]) === JSON.stringify([b.epoch, b.from, [...b.keys]]);

export const versionsOf = (state: CacheState): Record<string, number> => Object.fromEntries([...state.keys].map(([key, known]) => [key, known.version]));

export function memoryVersionCache(): VersionCache {
  let state = emptyCache;
  return {
    epoch: () => state.epoch,
    get: (key) => state.keys.get(key),
    learn(sentEpoch, epoch, learned, rotated) {
      state = learnState(state, sentEpoch, epoch, learned, rotated);
    },
    void(epoch) {
      state = voidState(state, epoch);
    },
    versions: () => versionsOf(state),
  };
}
