import type { Lanes } from './lanes.js';
import type { PendingWrites } from './pending.js';
import type { RetryPolicy } from './retry.js';
import type { VersionCache } from './version-cache.js';

/** Options of `createSessionClient()`; all optional. */
export interface SessionClientOptions {
  /**
   * The fetch to wrap: the platform's, ky's, a test's.
   * @default globalThis.fetch
   */
  fetch?: typeof globalThis.fetch;
  /**
   * How many times a request answered 412 is rebuilt (`rebase`) or resent
   * (`blind`) before it rejects with a ConflictError.
   * @default 5
   */
  retries?: number;
  /**
   * Milliseconds after a request's first send during which a 409 in progress,
   * a 503 store unavailable or a network error is resent with the same
   * Idempotency-Key; past it the request rejects with an OutcomeUnknownError.
   * @default 30_000
   */
  deadline?: number;
  /**
   * Base of the jittered exponential backoff, in ms: the nth wait is random in
   * [0, min(maxBackoff, backoff × 2ⁿ)). A Retry-After from the server wins.
   * @default 50
   */
  backoff?: number;
  /** Cap of one backoff wait, in ms. @default 2_000 */
  maxBackoff?: number;
  /**
   * How old (ms since it was queued) a write left by a closed tab may be and
   * still be replayed; older ones are dropped with a `dropped` event. Keep it
   * below the server's idempotency retention (48 h by default).
   * @default 86_400_000 (24 h)
   */
  maxAge?: number;
  /** Replaceable part: the lane manager. @default Web Locks across tabs (`webLocksLanes()`), else in-tab lanes (`createLanes()`) */
  lanes?: Lanes;
  /** Replaceable part: the lane that lets the first write run alone while no epoch is known. @default the Web Lock `session-lanes:first-write`, else in-tab */
  firstWrite?: Lanes;
  /** Replaceable part: what the client knows of versions and values. @default `sharedVersionCache()` (IndexedDB), else `memoryVersionCache()` */
  cache?: VersionCache;
  /** Replaceable part: where writes wait until answered. @default the durable `outbox()` (IndexedDB and Web Locks), else `memoryPendingWrites()` */
  pending?: PendingWrites;
}

/** The session part of a request's init. */
export interface SessionDeclaration {
  /** Keys the request reads (shared lanes). @default [] */
  readonly reads?: readonly string[];
  /** Keys the request writes (exclusive lanes); a write route needs all its written keys here. @default [] */
  readonly writes?: readonly string[];
  /**
   * Builds the body from the values the client knows, at every send (the
   * first, and after each 412). `current[key]` is the value at the version
   * sent as base; undefined when the key is absent or its value unknown
   * (then the base is 0, and a 412 brings the value).
   * @example rebase: (current) => ({ body: JSON.stringify([...(current.cart as string[] ?? []), 'sku-1']) })
   */
  readonly rebase?: (current: Readonly<Record<string, unknown>>) => RebaseResult | Promise<RebaseResult>;
  /**
   * The body does not depend on the client's view of the keys: sent without
   * bases, resent unchanged after a 412 (the server's own read-modify-write
   * check still applies). Excludes `rebase`.
   * @default false
   */
  readonly blind?: boolean;
}

/** What `rebase` returns: the body to send this time (absent: no body; init's `body` is never used with `rebase`). */
export interface RebaseResult {
  readonly body?: BodyInit | null;
}

/** fetch's init, plus `session`. */
export interface SessionRequestInit extends RequestInit {
  session?: SessionDeclaration;
}

export interface ResolvedOptions extends RetryPolicy {
  readonly fetch: typeof globalThis.fetch;
  readonly maxAge: number;
  readonly lanes: Lanes;
  readonly firstWrite: Lanes;
  readonly cache: VersionCache;
  readonly pending: PendingWrites;
}

export interface ResolvedDeclaration {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly rebase: SessionDeclaration['rebase'];
  readonly blind: boolean;
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isMs = (value: unknown) => typeof value === 'number' && value >= 0 && value < Infinity;

type Parts = Pick<ResolvedOptions, 'lanes' | 'firstWrite' | 'cache' | 'pending'>;

/** Applies defaults and checks options; throws a TypeError with an exact message. A default part is made only when needed, once the options are valid. */
export function normalizeOptions(options: SessionClientOptions, parts: { [P in keyof Parts]: () => Parts[P] }): ResolvedOptions {
  const resolved = {
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    retries: options.retries ?? 5,
    deadline: options.deadline ?? 30_000,
    backoff: options.backoff ?? 50,
    maxBackoff: options.maxBackoff ?? 2_000,
    maxAge: options.maxAge ?? 86_400_000,
  } satisfies Omit<ResolvedOptions, keyof Parts>;
  if (typeof resolved.fetch !== 'function') throw new TypeError('options.fetch must be a function');
  if (!isCount(resolved.retries)) throw new TypeError('options.retries must be a non-negative integer');
  for (const name of ['deadline', 'backoff', 'maxBackoff', 'maxAge'] as const) {
    if (!isMs(resolved[name])) throw new TypeError(`options.${name} must be a non-negative number of milliseconds`);
  }
  return {
    ...resolved,
    lanes: options.lanes ?? parts.lanes(),
    firstWrite: options.firstWrite ?? parts.firstWrite(),
    cache: options.cache ?? parts.cache(),
    pending: options.pending ?? parts.pending(),
  };
}

/** Checks a request's `session`; throws a TypeError with an exact message. */
export function normalizeDeclaration(session: SessionDeclaration): ResolvedDeclaration {
  const { reads = [], writes = [], rebase, blind = false } = session;
  const seen = new Set<string>();
  for (const list of [reads, writes]) {
    if (!Array.isArray(list)) throw new TypeError('session.reads and session.writes must be arrays of key names');
    for (const key of list) {
      if (typeof key !== 'string' || !key) throw new TypeError('session keys must be non-empty strings');
      if (seen.has(key)) throw new TypeError(`session key ${JSON.stringify(key)} is declared twice`);
      seen.add(key);
    }
  }
  if (rebase !== undefined && typeof rebase !== 'function') throw new TypeError('session.rebase must be a function');
  if (rebase && blind) throw new TypeError('session.rebase and session.blind exclude each other');
  return { reads, writes, rebase, blind };
}
