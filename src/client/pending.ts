/**
 * Where a write waits from the moment it is queued until the server has
 * answered it: `memoryPendingWrites()` for one tab, the durable `outbox()`
 * (IndexedDB) across tabs and crashes. An entry holds what a replay needs:
 * the request, its declarations, its Idempotency-Key and the epoch it was
 * made for, and once sent, exactly what went on the wire.
 */

export interface PendingWrite {
  /** The Idempotency-Key (without quotes): one per logical write, kept through resends and rebases. */
  readonly key: string;
  /**
   * The epoch the write was made for; undefined while no session is known (it may create one). Once sent:
   * the epoch it was sent with (a write made before any epoch was known may go out in the session that
   * another write created meanwhile). A replay is sent, voided and learned with this epoch, never the live one.
   */
  readonly epoch: string | undefined;
  readonly input: RequestInfo | URL;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly blind: boolean;
  /** True when the body is built by `rebase`: such a write cannot be rebuilt without its tab. */
  readonly rebase: boolean;
  /** The write may rotate the session (a login) or ends it (a logout): its replay takes the session-wide lane alone. Absent in entries stored by 0.1.0. */
  readonly rotates?: boolean;
  readonly ends?: boolean;
  /** When it was queued, in ms since the Unix epoch. */
  readonly at: number;
  /** The caller's init without `session`: what a write never sent goes out with. */
  readonly init: RequestInit;
  /** What the last attempt sent, exactly (init with session headers and body); absent until sent. */
  readonly sent?: RequestInit;
}

/**
 * A pending write as `client.outbox()` lists it: the write, and whose it is.
 * `tab` is the id of the tab that queued it (opaque). `live`: that tab is
 * alive and runs it; false for a write of a closed tab, whether it waits for
 * a tab to adopt it or this tab is replaying it. `mine`: this tab runs it
 * (its own write, or a closed tab's it is replaying now). A write another
 * tab is replaying for a closed tab is listed `live` there and here: a live
 * tab holds it.
 */
export interface OutboxEntry extends PendingWrite {
  readonly tab: string;
  readonly live: boolean;
  readonly mine: boolean;
}

/** The pending-write seam. Calls may be async: the client awaits `put` before it sends. */
export interface PendingWrites {
  put(entry: PendingWrite): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  /**
   * Optional: hands each write left by a tab that is gone to `replay`, one at
   * a time, each to one tab only; now and whenever such a tab goes.
   */
  adopt?(replay: (entry: PendingWrite) => Promise<unknown>): void;
  /** Optional: forgets every write made for `epoch`, of every tab (the session ended). */
  purge?(epoch: string): void | Promise<void>;
  /**
   * Optional: every pending write it holds, of every tab it knows, in the
   * order they were queued (`client.outbox()`; without it, that lists none).
   * `delete` of a listed key removes it whichever tab's it is.
   */
  list?(): Promise<readonly OutboxEntry[]>;
}

/** In-memory pending writes, this tab's only; `entries()` lists them (tests, debugging), `list()` as outbox entries of this live tab. */
export function memoryPendingWrites(): PendingWrites & { entries(): PendingWrite[] } {
  const entries = new Map<string, PendingWrite>();
  const tab = randomKey();
  return {
    put: (entry) => void entries.set(entry.key, entry),
    delete: (key) => void entries.delete(key),
    entries: () => [...entries.values()],
    list: async () => [...entries.values()].map((entry) => ({ ...entry, tab, live: true, mine: true })),
  };
}

/** 128 random bits as hex. Not crypto.randomUUID() alone: that exists only in secure contexts. */
export const randomKey = (): string =>
  crypto.randomUUID?.() ?? crypto.getRandomValues(new Uint32Array(4)).reduce<string>((hex, word) => hex + word.toString(16).padStart(8, '0'), '');
