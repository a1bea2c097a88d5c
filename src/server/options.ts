import { DEFAULT_MAX_RECORDED_ANSWER_BYTES } from './recorded-answer.js';
import { resolveCookieOptions, type CookieOptions, type ResolvedCookieOptions } from './session-cookie.js';
import type { SessionStore } from './store.js';
import type { SchemaMap, StandardSchemaV1 } from './standard-schema.js';

/** Something the validator wants an operator to know; it never changes an answer. */
export type ValidatorEvent =
  | { type: 'handler-error'; error: unknown; url: string }
  | { type: 'store-error'; error: unknown; url: string; phase: 'begin' | 'commit' | 'release' }
  | { type: 'touch-failed'; error: unknown; url: string };

/**
 * @typeParam Context - what `sessionId(request, context)` is given: the first
 * argument the platform passes after the request (`{ req, res }` from
 * `session-lanes/server/express`, `{ c }` from `session-lanes/server/hono`,
 * Next.js's `{ params }`). Inferred from the resolver's annotation.
 */
export interface ValidatorOptions<Schemas extends SchemaMap = SchemaMap, Context = unknown> {
  /** Where sessions live: `memoryStore()`, `redisStore()`, `postgresStore()`. */
  store: SessionStore;
  /**
   * A schema per key (zod, or any Standard Schema), checked on `session.set()`;
   * keys without one accept any JSON value. Also types `session.get()`.
   * @example { cart: z.array(z.string()), prefs: z.object({ theme: z.enum(['light', 'dark']) }) }
   */
  keys?: Schemas;
  /**
   * Keys whose values never leave the server (a CSRF secret, a role, a TOTP
   * secret). They are declared by name like any key (the 428 rule and the
   * lanes are unchanged), but a 412 body carries only their version (and
   * `withheld: true` when they hold a value), never their value, so a client's `rebase` never sees them; and a 422 for such a
   * key names only the path, never a schema message (which may quote
   * the value).
   * @default []
   * @example serverOnlyKeys: ['role', 'csrfSecret']
   */
  serverOnlyKeys?: readonly (keyof Schemas & string)[] | readonly string[];
  /**
   * Secret from which a session-creating request's session id is derived (from
   * its Idempotency-Key), so that its resend finds its record on any server.
   * Every app server sharing a store needs the same secret (at least 32 bytes);
   * required with a shared store (Redis, PostgreSQL) unless `sessionId` is given.
   * @default a random secret per process (memory store only)
   */
  secret?: string | Uint8Array;
  /**
   * For apps with their own session or auth layer: return the session id of a
   * request (null: no session). The app decides which ids exist; a new id
   * starts empty, and the validator manages no cookie. `context` is the first
   * argument after the request that the route was called with: the adapter's
   * context, or the platform's own (undefined when there is none).
   * @default undefined (the validator manages a cookie)
   * @example
   * // express-session (needs saveUninitialized: true for anonymous writes)
   * sessionId: (_request, { req }: ExpressContext) => req.sessionID
   */
  sessionId?: (request: Request, context: Context) => string | null | Promise<string | null>;
  /** The managed session cookie (ignored with `sessionId`). */
  cookie?: CookieOptions;
  /** A session unused this long expires (410 afterwards). @default 1_209_600_000 (14 days) */
  idleTimeoutMs?: number;
  /** At most one expiry touch per session per interval. @default 60_000 */
  touchIntervalMs?: number;
  /** How long a claimed Idempotency-Key blocks resends: longer than any handler runs. @default 60_000 */
  leaseMs?: number;
  /** How long an idempotency record answers resends. @default 172_800_000 (48 h) */
  retentionMs?: number;
  /**
   * How long a replayed answer may still set a session cookie: the rotating
   * request's resend with the old cookie (its answer was lost) replays the
   * login answer, new cookie included, only this long after it committed.
   * Likewise a session-creating request's resend (without a cookie) replays
   * its answer only this long, and only while that session keeps the epoch
   * it was created with; later, it is answered 410 without Set-Cookie. At
   * least 30_000 (the client's default deadline).
   * @default 120_000
   */
  replayWindowMs?: number;
  /** Largest request body of a write route, buffered to fingerprint it. @default 1_048_576 */
  maxBodyBytes?: number;
  /**
   * Largest answer body an idempotency record keeps. A larger answer is sent
   * in full, but its record keeps the status, the session headers and a fixed
   * body (`{"answerNotKept":true,…}`), which is what a resend is answered:
   * the write is still applied once.
   * @default 65_536
   */
  maxRecordedAnswerBytes?: number;
  /** Retry-After of a 503. @default 1 */
  retryAfterSeconds?: number;
  /**
   * Observability: store failures, failed touches, handler errors. The answer
   * never changes with it: a handler error is still a 500 problem, a store
   * failure a 503. Pass your own to send events to your logger or metrics;
   * `onEvent: () => {}` silences them.
   * @default logs each event to console.error, with its error
   */
  onEvent?: (event: ValidatorEvent) => void;
  /** The clock, in ms since the epoch (tests move it). @default Date.now */
  now?: () => number;
}

export interface ResolvedOptions {
  store: SessionStore;
  /** A Map, so that a key named like an Object.prototype member (`__proto__`, `constructor`) finds no schema it does not have. */
  schemas: ReadonlyMap<string, StandardSchemaV1>;
  secret: Uint8Array;
  sessionId: ((request: Request, context: unknown) => string | null | Promise<string | null>) | undefined;
  cookie: ResolvedCookieOptions;
  idleTimeoutMs: number;
  touchIntervalMs: number;
  leaseMs: number;
  retentionMs: number;
  replayWindowMs: number;
  maxBodyBytes: number;
  maxRecordedAnswerBytes: number;
  /** Keys whose values never leave the server. */
  serverOnly: ReadonlySet<string>;
  retryAfterSeconds: number;
  onEvent: (event: ValidatorEvent) => void;
  now: () => number;
}

/** The default onEvent: a misconfiguration or an outage must not fail silently. */
function logEvent(event: ValidatorEvent): void {
  const where = event.type === 'store-error' ? `store-error (${event.phase})` : event.type;
  console.error(`session-lanes: ${where} at ${event.url}`, event.error);
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function resolveOptions(options: ValidatorOptions<SchemaMap, never>): ResolvedOptions {
  if (!options || typeof options !== 'object') throw new TypeError('createValidator(options): options must be an object');
  const { store } = options;
  if (!store || typeof store.begin !== 'function' || typeof store.commit !== 'function') {
    throw new TypeError('createValidator(options): options.store must be a SessionStore, such as memoryStore()');
  }
  let secret: Uint8Array;
  if (options.secret === undefined && store.shared && !options.sessionId) {
    throw new TypeError(
      'createValidator(options): options.secret is required with a shared store: every server must derive the same session id for a session-creating request. ' +
        'Pass the same secret of at least 32 random bytes to every server (secret: process.env.SESSION_LANES_SECRET), or sessionId to use your own session layer',
    );
  }
  if (options.secret === undefined) secret = crypto.getRandomValues(new Uint8Array(32));
  else {
    secret = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : new Uint8Array(options.secret);
    if (secret.length < 32) {
      throw new TypeError(`createValidator(options): options.secret must be at least 32 bytes, got ${secret.length}; generate one with \`node -e "console.log(crypto.randomBytes(32).toString('base64url'))"\``);
    }
  }
  for (const [key, schema] of Object.entries(options.keys ?? {})) {
    if (!schema || typeof schema !== 'object' || !('~standard' in schema)) {
      throw new TypeError(`createValidator(options): options.keys[${JSON.stringify(key)}] must be a zod (Standard Schema) schema`);
    }
  }
  const serverOnly = options.serverOnlyKeys ?? [];
  if (!Array.isArray(serverOnly) || !serverOnly.every((key) => typeof key === 'string')) {
    throw new TypeError('createValidator(options): options.serverOnlyKeys must be an array of key names');
  }
  const leaseMs = positiveInteger('leaseMs', options.leaseMs, 60_000);
  const retentionMs = positiveInteger('retentionMs', options.retentionMs, 48 * 3600_000);
  if (retentionMs <= leaseMs) throw new TypeError('retentionMs must be longer than leaseMs');
  const replayWindowMs = positiveInteger('replayWindowMs', options.replayWindowMs, 120_000);
  // A client resends for up to its deadline (30 s by default): a shorter window would refuse its own resends.
  if (replayWindowMs < 30_000) throw new TypeError(`replayWindowMs must be at least 30000 (the client's default deadline), got ${replayWindowMs}`);
  // A creating request's key is found for up to two id windows of twice replayWindowMs: its record must outlive that,
  // or a resend could run again inside the session it made.
  if (retentionMs <= 4 * replayWindowMs) throw new TypeError('retentionMs must be longer than four times replayWindowMs (a session-creating request\'s key is found for that long)');
  return {
    store,
    schemas: new Map(Object.entries(options.keys ?? {})),
    secret,
    sessionId: options.sessionId as ResolvedOptions['sessionId'],
    cookie: resolveCookieOptions(options.cookie),
    idleTimeoutMs: positiveInteger('idleTimeoutMs', options.idleTimeoutMs, 14 * 24 * 3600_000),
    touchIntervalMs: positiveInteger('touchIntervalMs', options.touchIntervalMs, 60_000),
    leaseMs,
    retentionMs,
    replayWindowMs,
    maxBodyBytes: positiveInteger('maxBodyBytes', options.maxBodyBytes, 1024 * 1024),
    maxRecordedAnswerBytes: positiveInteger('maxRecordedAnswerBytes', options.maxRecordedAnswerBytes, DEFAULT_MAX_RECORDED_ANSWER_BYTES),
    serverOnly: new Set(serverOnly),
    retryAfterSeconds: positiveInteger('retryAfterSeconds', options.retryAfterSeconds, 1),
    onEvent: options.onEvent ?? logEvent,
    now: options.now ?? Date.now,
  };
}
