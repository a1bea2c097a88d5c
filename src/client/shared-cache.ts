/**
 * The version cache shared by the tabs of an origin. IndexedDB holds the
 * truth: a request's answer is merged into it (one atomic read-modify-write)
 * before the request lets go of its lanes, and the next holder of a lane, in
 * any tab, reads it (`sync`) once it holds its lanes, before it takes its
 * bases — not from a broadcast that may not have arrived. The broadcast only
 * keeps idle tabs' `versions()` and `epoch()` fresh, and tells them that the
 * session ended. Versions survive a reload; a new epoch voids them everywhere.
 */
import { request, type Storage } from './storage.js';
import { emptyCache, followEpoch, learnState, sameState, versionsOf, voidState, type CacheState, type VersionCache } from './version-cache.js';

/** The part of BroadcastChannel the shared parts use (a test passes its own). */
export interface Channel {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

const KEY = 'versions';

/** `left(epoch)` is called whenever the known epoch moves away from a session (logout, 410, another login), in any tab. */
export function sharedVersionCache(use: Storage, channel: Channel, left: (epoch: string, to?: string) => void): VersionCache & { sync(): Promise<void> } {
  let state = emptyCache;
  // Bumped by each change: a read that started before a change may be older than what this tab knows.
  let changes = 0;
  const follow = followEpoch(left);
  const set = (next: CacheState) => follow((state = next).epoch, next.from);
  const change = async (apply: (state: CacheState) => CacheState) => {
    const next = apply(state);
    // Nothing new to this tab is nothing new to IndexedDB: what it knows was read from there once the lanes were
    // held, or is being written there by a request that still holds the lanes of those keys.
    if (sameState(next, state)) return;
    changes++;
    set(next);
    // One read-modify-write; then the other tabs read it (harmless if IndexedDB failed: they read what is stored).
    await request(use, 'readwrite', (store) => {
      const read = store.get(KEY);
      read.onsuccess = () => store.put((set(apply(read.result ?? state)), state), KEY);
      return read;
    });
    channel.postMessage(0);
  };
  const sync = async (): Promise<void> => {
    const before = changes;
    const stored = await request<CacheState>(use, 'readonly', (store) => store.get(KEY));
    if (stored) return before === changes ? set(stored) : sync();
  };
  channel.onmessage = sync;
  void sync();
  return {
    epoch: () => state.epoch,
    get: (key) => state.keys.get(key),
    learn: (sentEpoch, epoch, learned, rotated) => {
      const keys = [...learned];
      return change((state) => learnState(state, sentEpoch, epoch, keys, rotated));
    },
    void: (epoch) => change((state) => voidState(state, epoch)),
    versions: () => versionsOf(state),
    sync,
  };
}
