/** The memory store's options, their defaults (in one place) and their normaliser. */

const MiB = 1024 * 1024;

export interface MemoryStoreOptions {
  /**
   * The most bytes the store holds: sessions, their values, idempotency
   * records, the stubs evicted records leave, and tombstones (ids rotated
   * away), as estimated from their lengths (strings at 2 bytes a code unit,
   * plus a fixed overhead per object). Above it, whole sessions are evicted:
   * new ones (the probation segment) first, then the least recently used of
   * the promoted ones. An evicted session's next request is a 410, as after
   * an expiry.
   * @default 268_435_456 (256 MiB)
   */
  maxBytes?: number;
  /**
   * The share of `maxBytes` that new sessions (not yet promoted) and the
   * stubs of evicted records may take together: new sessions are evicted
   * among themselves to stay within it, so that a flood of them never pushes
   * out a promoted session.
   * @default 0.25
   */
  probationShare?: number;
  /**
   * A new session is promoted (protected from new ones) when it serves a
   * request at least this long after its first: what a flood of one-visit
   * bots cannot fake without keeping every cookie and coming back.
   * @default 300_000 (5 minutes)
   */
  promoteAfterMs?: number;
  /**
   * The most bytes one session may hold, its values and records together.
   * Its oldest records past `resendHorizonMs` make room; when none is, its
   * next write is refused (503) rather than dropping a record a resend may
   * still need.
   * @default the smaller of 8 MiB and maxBytes / 16
   */
  maxSessionBytes?: number;
  /**
   * How long after a write its resend may still come: the client's outbox
   * `maxAge` (24 h) plus its deadline (30 s). No record younger than this is
   * dropped to make room. An evicted session's records leave a stub of
   * their key for as long as a resend could create the session again (the
   * validator says how long, `IdempotencyRecord.resendHorizonMs`; at most
   * this), and a resend that meets one gets a 410, never a second
   * application.
   * @default 86_430_000 (24 h 30 s)
   */
  resendHorizonMs?: number;
  /**
   * How many sessions, at most, each call visits to remove expired ones: the
   * sweep is spread over calls, so no request pays for a whole pass.
   * @default 64
   */
  sweepBatch?: number;
  /**
   * @deprecated Entries are not bytes (one recorded answer may be 85 KiB).
   * Read as `maxBytes = maxEntries × 2048` when `maxBytes` is not given, with
   * one warning; pass `maxBytes` instead.
   */
  maxEntries?: number;
}

export interface ResolvedMemoryOptions {
  readonly maxBytes: number;
  readonly probationBytes: number;
  readonly promoteAfterMs: number;
  readonly maxSessionBytes: number;
  readonly resendHorizonMs: number;
  readonly sweepBatch: number;
}

export const MEMORY_DEFAULTS = {
  maxBytes: 256 * MiB,
  probationShare: 0.25,
  promoteAfterMs: 5 * 60_000,
  maxSessionBytes: 8 * MiB,
  resendHorizonMs: 24 * 3_600_000 + 30_000,
  sweepBatch: 64,
  bytesPerDeprecatedEntry: 2_048,
} as const;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`memoryStore(): ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

let warnedMaxEntries = false;

export function normaliseMemoryOptions(options: MemoryStoreOptions): ResolvedMemoryOptions {
  const fromEntries = options.maxEntries === undefined ? undefined : positive('maxEntries', options.maxEntries, 1) * MEMORY_DEFAULTS.bytesPerDeprecatedEntry;
  if (fromEntries !== undefined && options.maxBytes === undefined && !warnedMaxEntries) {
    warnedMaxEntries = true;
    globalThis.process?.emitWarning?.('memoryStore(): maxEntries is deprecated and read as maxBytes = maxEntries × 2048; pass maxBytes', 'DeprecationWarning');
  }
  const maxBytes = positive('maxBytes', options.maxBytes, fromEntries ?? MEMORY_DEFAULTS.maxBytes);
  const share = options.probationShare ?? MEMORY_DEFAULTS.probationShare;
  if (typeof share !== 'number' || !(share > 0 && share < 1)) throw new TypeError(`memoryStore(): probationShare must be a number between 0 and 1 (exclusive), got ${String(share)}`);
  const probationBytes = Math.floor(maxBytes * share);
  const maxSessionBytes = positive('maxSessionBytes', options.maxSessionBytes, Math.min(MEMORY_DEFAULTS.maxSessionBytes, Math.floor(maxBytes / 16)));
  if (maxSessionBytes > probationBytes) {
    throw new TypeError(`memoryStore(): maxSessionBytes (${maxSessionBytes}) must fit in the probation segment (maxBytes × probationShare = ${probationBytes})`);
  }
  return {
    maxBytes,
    probationBytes,
    promoteAfterMs: positive('promoteAfterMs', options.promoteAfterMs, MEMORY_DEFAULTS.promoteAfterMs),
    maxSessionBytes,
    resendHorizonMs: positive('resendHorizonMs', options.resendHorizonMs, MEMORY_DEFAULTS.resendHorizonMs),
    sweepBatch: positive('sweepBatch', options.sweepBatch, MEMORY_DEFAULTS.sweepBatch),
  };
}
