import { absoluteBase } from '../routes/match.js';
import type { RouteTable } from '../routes/types.js';
import type { Lanes } from './lanes.js';
import type { PendingWrites } from './pending.js';
import type { RetryPolicy } from './retry.js';
import { routeTagger, type RouteTagger } from './route-tags.js';
import type { VersionCache } from './version-cache.js';
import type { CurrentValues, RebaseResult, SessionDeclaration } from './declaration.js';

export type { KeyName, CurrentValues, SessionDeclaration, RebaseResult, SessionRequestInit } from './declaration.js';

/** Options of `createSessionClient()`; all optional. `Keys`: the session's key types, from a typed route table. */
export interface SessionClientOptions<Keys extends object = Record<string, unknown>> {
  /**
   * The app's route table (`defineRoutes()` from `session-lanes/routes`): each
   * `fetch` whose method and path match a route is tagged from its entry, so a
   * call site needs no `session`; a call that matches none passes through
   * untouched. An explicit `session` in the call wins, field by field.
   * @example createSessionClient({ routes })
   */
  routes?: RouteTable<Keys>;
  /**
   * An absolute URL: where the table's paths start, an origin plus an
   * optional path prefix (`'https://shop.example/app'`); a request to another
   * origin, or outside the prefix, is never tagged. Where there is no
   * `document` (Node, a worker), it also resolves a relative input, as
   * `new URL(input, base)` does (`'/api/cart'` against
   * `'https://shop.example/app'` is `https://shop.example/api/cart`), before
   * the call is matched against the table or sent. Allowed without `routes`.
   * @default the page's origin (`location.origin`)
   */
  base?: string | URL;
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
   * The `deadline` of a read (GET, HEAD, or a request that writes nothing
   * and neither rotates nor ends the session): when every attempt within it
   * fails on the network, it rejects with an UnreachableError ("the server
   * could not be reached"). Capped by `deadline`.
   * @default 5_000
   */
  readDeadline?: number;
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
  /**
   * Headers, besides the session headers and Content-Type, that the outbox
   * stores with a write and replays (say `['x-csrf-token']`): lower-case
   * names. Any other header is not stored, so not replayed; Authorization,
   * Cookie and Proxy-* never are, even listed. An entry found in the outbox
   * with another header is dropped (`dropped`, reason `invalid`).
   * @default []
   */
  outboxHeaders?: readonly string[];
  /** Replaceable part: the lane manager. @default Web Locks across tabs (`webLocksLanes()`), else in-tab lanes (`createLanes()`) */
  lanes?: Lanes;
  /** Replaceable part: the lane that lets the first write run alone while no epoch is known. @default the Web Lock `session-lanes:first-write`, else in-tab */
  firstWrite?: Lanes;
  /** Replaceable part: what the client knows of versions and values. @default `sharedVersionCache()` (IndexedDB), else `memoryVersionCache()` */
  cache?: VersionCache;
  /** Replaceable part: where writes wait until answered. @default the durable `outbox()` (IndexedDB and Web Locks), else `memoryPendingWrites()` */
  pending?: PendingWrites;
}


export interface ResolvedOptions extends RetryPolicy {
  /** The `deadline` of a read's policy (capped by `deadline`). */
  readonly readDeadline: number;
  readonly fetch: typeof globalThis.fetch;
  readonly maxAge: number;
  readonly outboxHeaders: readonly string[];
  readonly lanes: Lanes;
  readonly firstWrite: Lanes;
  readonly cache: VersionCache;
  readonly pending: PendingWrites;
  /** From `routes` and `base`: the declaration each call goes out with. */
  readonly tag: RouteTagger | undefined;
  /** `base`, checked absolute; undefined when not given. */
  readonly base: URL | undefined;
}

export interface ResolvedDeclaration {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly rebase?: ((current: CurrentValues) => RebaseResult | Promise<RebaseResult>) | undefined;
  readonly blind: boolean;
  readonly rotates?: boolean | undefined;
  readonly ends?: boolean | undefined;
  readonly outbox?: boolean | undefined;
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
    readDeadline: options.readDeadline ?? 5_000,
    backoff: options.backoff ?? 50,
    maxBackoff: options.maxBackoff ?? 2_000,
    maxAge: options.maxAge ?? 86_400_000,
    outboxHeaders: options.outboxHeaders ?? [],
  } satisfies Omit<ResolvedOptions, keyof Parts | 'tag' | 'base'>;
  if (typeof resolved.fetch !== 'function') throw new TypeError('options.fetch must be a function');
  if (!isCount(resolved.retries)) throw new TypeError('options.retries must be a non-negative integer');
  for (const name of ['deadline', 'readDeadline', 'backoff', 'maxBackoff', 'maxAge'] as const) {
    if (!isMs(resolved[name])) throw new TypeError(`options.${name} must be a non-negative number (ms)`);
  }
  const base = options.base === undefined ? undefined : absoluteBase(options.base);
  const tag = options.routes && routeTagger(options.routes, options.base);
  // Made in this order (the Web Locks lanes before the caches that may fall back on their own), each only when not given.
  const made = {} as Parts;
  for (const part of ['lanes', 'firstWrite', 'cache', 'pending'] as const) (made as Record<string, unknown>)[part] = options[part] ?? parts[part]();
  return { ...resolved, tag, base, ...made };
}

/** Whether a declaration (a call's, a route's, a stored entry's) is a write: it writes a key, or rotates or ends the session. */
export const isWrite = ({ writes, rotates, ends }: { readonly writes?: readonly string[] | undefined; readonly rotates?: boolean | undefined; readonly ends?: boolean | undefined }): boolean =>
  (writes?.length ?? 0) > 0 || rotates === true || ends === true;

/** Checks a request's `session`; throws a TypeError with an exact message. Without `rebase`, blind unless told otherwise. */
export function normalizeDeclaration(session: SessionDeclaration): ResolvedDeclaration {
  const { reads = [], writes = [], rebase, blind = !rebase } = session;
  const seen = new Set<string>();
  for (const list of [reads, writes]) {
    if (!Array.isArray(list)) throw new TypeError('session.reads and .writes must be arrays');
    for (const key of list) {
      if (typeof key !== 'string' || !key) throw new TypeError('session keys must be non-empty strings');
      if (seen.has(key)) throw new TypeError(`session key ${JSON.stringify(key)} is declared twice`);
      seen.add(key);
    }
  }
  if (rebase !== undefined && typeof rebase !== 'function') throw new TypeError('session.rebase must be a function');
  if (rebase && blind) throw new TypeError('session.rebase and session.blind exclude each other');
  // A login is not stored unless asked: its body (a password) stays out of IndexedDB, and no other tab replays it.
  const outbox = session.outbox ?? session.rotates !== true;
  // rotates and ends as given.
  return { ...session, reads, writes, blind, outbox };
}
