/**
 * Where a write waits from the moment it is queued until the server has
 * answered it. In memory for one tab now; the durable outbox (IndexedDB) of
 * the cross-tab issue implements the same seam, which is why an entry holds
 * what a replay needs: the request, its declarations, its Idempotency-Key and
 * the epoch it was made for, and once sent, exactly what went on the wire.
 */

export interface PendingWrite {
  /** The Idempotency-Key (without quotes): one per logical write, kept through resends and rebases. */
  readonly key: string;
  /** The epoch the write was made for; undefined while no session is known (it may create one). */
  readonly epoch: string | undefined;
  readonly input: RequestInfo | URL;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly blind: boolean;
  /** True when the body is built by `rebase`: such a write cannot be rebuilt without its tab. */
  readonly rebase: boolean;
  /** What the last attempt sent, exactly (init with session headers and body); absent until sent. */
  readonly sent?: RequestInit;
}

/** The pending-write seam. Calls may be async: the client awaits `put` before it sends. */
export interface PendingWrites {
  put(entry: PendingWrite): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** In-memory pending writes; `entries()` lists them (tests, debugging). */
export function memoryPendingWrites(): PendingWrites & { entries(): PendingWrite[] } {
  const entries = new Map<string, PendingWrite>();
  return {
    put: (entry) => void entries.set(entry.key, entry),
    delete: (key) => void entries.delete(key),
    entries: () => [...entries.values()],
  };
}
