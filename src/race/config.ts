/**
 * The race config a user writes: which request writes a unique token, which
 * request reads what the session holds, and optionally how to log in and out.
 *
 * @example
 * // race.config.ts
 * import { defineRaceConfig } from 'session-lanes/race';
 * export default defineRaceConfig({
 *   target: 'http://127.0.0.1:3000',
 *   writer: [{ path: '/cart/add', body: { sku: '{token}' }, key: 'cart' }, { path: '/prefs/add', body: { tag: '{token}' }, key: 'prefs' }],
 *   reader: { path: '/state', tokens: (body: any) => [...body.cart, ...body.prefs] },
 *   cookie: 'connect.sid',
 * });
 */

/** A JSON body; every string in it may hold `{token}` and `{key}`. */
export type JsonBody = string | number | boolean | null | readonly JsonBody[] | { readonly [name: string]: JsonBody };

/** One request, as a template: `{token}` (the operation's unique token) and `{key}` are filled in per operation. */
export interface RequestTemplate {
  /** @default 'POST' for writers, login and logout; 'GET' for readers */
  readonly method?: string;
  /** The path (and query) under `target`, e.g. `/cart/add?sku={token}`. */
  readonly path: string;
  /** A string is sent as it is (`text/plain` unless a content-type header says otherwise); anything else as JSON. */
  readonly body?: JsonBody;
  /** Extra request headers, templated too (`'idempotency-key': '{token}'`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WriterConfig extends Partial<RequestTemplate> {
  /** The session key it writes: the timeline's row, and what distinct-keys tells apart. */
  readonly key?: string;
  /** Several keys through one template: each operation picks one and fills `{key}` with it. */
  readonly keys?: readonly string[];
  /**
   * Playwright fixture only: an in-page function that makes the app's own client send the write.
   * @example write: (token) => window.app.addToCart(token)
   */
  readonly write?: (token: string) => unknown;
}

export interface ReaderConfig extends Partial<RequestTemplate> {
  /** The tokens the session holds, from the reader's answer body (JSON when it parses, else text). */
  readonly tokens?: (body: unknown) => readonly string[];
  /** For increments: the counter's value, from the answer body. */
  readonly count?: (body: unknown) => number;
}

export interface RaceConfig {
  /** The server under test: an absolute http(s) URL. */
  readonly target: string;
  /** The request that appends a unique token (or several, one per key). */
  readonly writer: WriterConfig | readonly WriterConfig[];
  /** The request that reads what the session holds. */
  readonly reader: ReaderConfig;
  /** For `increments`: the request that adds one (default: the writer), read by `reader.count`. */
  readonly increment?: WriterConfig;
  /** A login: `login-in-flight` fires it mid-burst, and every scenario starts with it when given. */
  readonly login?: RequestTemplate;
  /** A logout, for `logout-in-flight`. */
  readonly logout?: RequestTemplate;
  /** For `flash`: a writer that sets a flash message holding `{token}`, and the read that shows (and consumes) the messages. */
  readonly flash?: { readonly writer: WriterConfig; readonly reader: ReaderConfig };
  /** The session cookie's name, so that the history tells sessions apart; without it every cookie together names the session. */
  readonly cookie?: string;
  /** @default 4 */
  readonly clients?: number;
  /** Writes per run. @default 40 */
  readonly operations?: number;
  /** The delay before each operation, in ms: a maximum or a [min, max] range. @default [0, 10] */
  readonly delayMs?: number | readonly [number, number];
  /** Per request, in ms: past it the request is abandoned (indeterminate). @default 5000 */
  readonly timeoutMs?: number;
  /** Playwright fixture: the app page each tab opens. @default '/' */
  readonly page?: string;
}

export interface ResolvedRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: JsonBody;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ResolvedWriter {
  readonly request?: ResolvedRequest;
  readonly keys: readonly (string | undefined)[];
  readonly write?: (token: string) => unknown;
}

export interface ResolvedReader {
  readonly request?: ResolvedRequest;
  readonly tokens?: (body: unknown) => readonly string[];
  readonly count?: (body: unknown) => number;
}

export interface ResolvedRaceConfig {
  readonly target: string;
  readonly writers: readonly ResolvedWriter[];
  readonly reader: ResolvedReader;
  readonly increment?: ResolvedWriter;
  readonly login?: ResolvedRequest;
  readonly logout?: ResolvedRequest;
  readonly flash?: { readonly writer: ResolvedWriter; readonly reader: ResolvedReader };
  readonly cookie?: string;
  readonly clients: number;
  readonly operations: number;
  readonly delayMs: readonly [number, number];
  readonly timeoutMs: number;
  readonly page: string;
}

const DEFAULTS = { clients: 4, operations: 40, delayMs: [0, 10] as const, timeoutMs: 5000, page: '/' };
const fail = (message: string): never => {
  throw new TypeError(`race config: ${message}`);
};
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const hasToken = (request: ResolvedRequest | undefined) => request !== undefined && JSON.stringify([request.path, request.body ?? null, request.headers]).includes('{token}');

function resolveRequest(value: unknown, where: string, method: string, required: boolean): ResolvedRequest | undefined {
  if (!isRecord(value)) return fail(`${where} must be an object, got ${JSON.stringify(value)}`);
  if (value.path === undefined && !required) return undefined;
  if (typeof value.path !== 'string' || !value.path.startsWith('/')) return fail(`${where}.path must be a path starting with "/", got ${JSON.stringify(value.path)}`);
  if (value.method !== undefined && (typeof value.method !== 'string' || !/^[A-Za-z]+$/.test(value.method))) return fail(`${where}.method must be an HTTP method such as "POST", got ${JSON.stringify(value.method)}`);
  if (value.headers !== undefined && (!isRecord(value.headers) || Object.values(value.headers).some((header) => typeof header !== 'string'))) {
    return fail(`${where}.headers must be an object of strings`);
  }
  const request: { -readonly [K in keyof ResolvedRequest]: ResolvedRequest[K] } = {
    method: (value.method ?? method).toUpperCase(),
    path: value.path,
    headers: (value.headers ?? {}) as Record<string, string>,
  };
  if (value.body !== undefined) request.body = value.body as JsonBody;
  return request;
}

function resolveWriter(value: unknown, where: string, needsToken: boolean): ResolvedWriter {
  if (!isRecord(value)) return fail(`${where} must be an object, got ${JSON.stringify(value)}`);
  if (value.write !== undefined && typeof value.write !== 'function') return fail(`${where}.write must be a function (token) => …, got ${typeof value.write}`);
  if (value.key !== undefined && (typeof value.key !== 'string' || value.key === '')) return fail(`${where}.key must be a non-empty string`);
  if (value.keys !== undefined && (!Array.isArray(value.keys) || value.keys.length === 0 || value.keys.some((key) => typeof key !== 'string' || key === ''))) {
    return fail(`${where}.keys must be a non-empty array of key names`);
  }
  const request = resolveRequest(value, where, 'POST', value.write === undefined);
  if (request === undefined && value.write === undefined) return fail(`${where} needs a path (a request) or a write function (in-page)`);
  if (needsToken && request !== undefined && !hasToken(request)) return fail(`${where} must hold the {token} placeholder in its path, body or headers, so that a read can name the write`);
  const templated = request !== undefined && JSON.stringify([request.path, request.body ?? null, request.headers]).includes('{key}');
  if (templated && value.keys === undefined) return fail(`${where} uses {key} but gives no keys: add keys: ['a', 'b']`);
  const keys = (value.keys as string[] | undefined) ?? [value.key as string | undefined];
  const writer: { -readonly [K in keyof ResolvedWriter]: ResolvedWriter[K] } = { keys };
  if (request !== undefined) writer.request = request;
  if (value.write !== undefined) writer.write = value.write as (token: string) => unknown;
  return writer;
}

function resolveReader(value: unknown, where: string): ResolvedReader {
  if (!isRecord(value)) return fail(`${where} must be an object, got ${JSON.stringify(value)}`);
  if (value.tokens !== undefined && typeof value.tokens !== 'function') return fail(`${where}.tokens must be a function (body) => string[]`);
  if (value.count !== undefined && typeof value.count !== 'function') return fail(`${where}.count must be a function (body) => number`);
  if (value.tokens === undefined && value.count === undefined) return fail(`${where} needs tokens: (body) => string[] (or count: (body) => number for increments)`);
  const reader: { -readonly [K in keyof ResolvedReader]: ResolvedReader[K] } = {};
  const request = resolveRequest(value, where, 'GET', true);
  if (request !== undefined) reader.request = request;
  if (value.tokens !== undefined) reader.tokens = value.tokens as ResolvedReader['tokens'] & object;
  if (value.count !== undefined) reader.count = value.count as ResolvedReader['count'] & object;
  return reader;
}

function positiveInteger(value: unknown, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return fail(`${where} must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

/** Validate a config and fill in the defaults; throws a TypeError naming the field at fault. */
export function resolveRaceConfig(config: RaceConfig): ResolvedRaceConfig {
  if (!isRecord(config)) return fail(`expected an object, got ${JSON.stringify(config)}`);
  let target: URL | undefined;
  try {
    target = new URL(String(config.target));
  } catch {
    target = undefined;
  }
  if (typeof config.target !== 'string' || target === undefined || !/^https?:$/.test(target.protocol)) return fail(`target must be an absolute http(s) URL such as "http://127.0.0.1:3000", got ${JSON.stringify(config.target)}`);
  if (config.writer === undefined) return fail('writer is required: { path: "/cart/add", body: { sku: "{token}" } }');
  if (config.reader === undefined) return fail('reader is required: { path: "/cart", tokens: (body) => body.items }');
  const writerList = Array.isArray(config.writer) ? (config.writer as readonly WriterConfig[]) : [config.writer as WriterConfig];
  if (writerList.length === 0) return fail('writer must not be an empty array');
  const writers = writerList.map((writer, index) => resolveWriter(writer, Array.isArray(config.writer) ? `writer[${index}]` : 'writer', true));
  const delay = config.delayMs ?? DEFAULTS.delayMs;
  const range: readonly [number, number] = typeof delay === 'number' ? [0, delay] : [delay[0], delay[1]];
  if (!Array.isArray(delay) && typeof delay !== 'number') return fail('delayMs must be a number or a [min, max] pair');
  if (!range.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) || range[0] > range[1]) return fail(`delayMs must be a maximum ≥ 0 or a [min, max] range with 0 ≤ min ≤ max, got ${JSON.stringify(delay)}`);
  if (config.cookie !== undefined && (typeof config.cookie !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(config.cookie))) return fail(`cookie must be a cookie name, got ${JSON.stringify(config.cookie)}`);
  if (config.page !== undefined && (typeof config.page !== 'string' || !config.page.startsWith('/'))) return fail(`page must be a path starting with "/", got ${JSON.stringify(config.page)}`);
  const resolved: { -readonly [K in keyof ResolvedRaceConfig]: ResolvedRaceConfig[K] } = {
    target: target.href.replace(/\/$/, ''),
    writers,
    reader: resolveReader(config.reader, 'reader'),
    clients: positiveInteger(config.clients, 'clients', DEFAULTS.clients),
    operations: positiveInteger(config.operations, 'operations', DEFAULTS.operations),
    delayMs: range,
    timeoutMs: positiveInteger(config.timeoutMs, 'timeoutMs', DEFAULTS.timeoutMs),
    page: config.page ?? DEFAULTS.page,
  };
  if (config.increment !== undefined) resolved.increment = resolveWriter(config.increment, 'increment', false);
  if (config.login !== undefined) resolved.login = resolveRequest(config.login, 'login', 'POST', true)!;
  if (config.logout !== undefined) resolved.logout = resolveRequest(config.logout, 'logout', 'POST', true)!;
  if (config.flash !== undefined) {
    if (!isRecord(config.flash)) return fail('flash must be { writer, reader }');
    resolved.flash = { writer: resolveWriter(config.flash.writer, 'flash.writer', true), reader: resolveReader(config.flash.reader, 'flash.reader') };
  }
  if (config.cookie !== undefined) resolved.cookie = config.cookie;
  return resolved;
}

/** Types and checks a race config (throws a TypeError on a bad one); returns it as written. */
export function defineRaceConfig<const C extends RaceConfig>(config: C): C {
  resolveRaceConfig(config);
  return config;
}
