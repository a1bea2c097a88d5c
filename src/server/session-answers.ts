import { HEADER } from '../protocol/headers.js';
import { serializeKeyVersions, serializeStringItem } from '../protocol/versions.js';
import { AnswerHeaders } from './answer-headers.js';
import { ProblemError, problemResponse } from './problem-response.js';
import type { StoredEntry } from './store.js';

/** What a request knows when it answers: the session headers it adds by default. */
export interface AnswerContext {
  readonly epoch: string;
  readonly cookie: string | null;
  /** The keys the request declared (Session-Read, Session-Write), in header order. */
  readonly declaredKeys: readonly string[];
  readonly versionOf: (key: string) => number;
  readonly retryAfterSeconds: number;
  /** Keys whose values never leave the server: a 412 carries only their version. */
  readonly serverOnly: ReadonlySet<string>;
}

export interface SessionHeaderOverrides {
  epoch?: string;
  /** null: no Session-Versions (a 410: the versions of an ended session mean nothing). */
  versionOf?: ((key: string) => number) | null;
  cookie?: string | null;
  /** Keys Session-Versions names besides the declared ones (the keys a rotation carried over by name). */
  alsoKeys?: readonly string[];
}

/** The answer's headers with the session headers added; by default the request's epoch, versions and cookie. */
export function sessionHeaders(context: AnswerContext, response: Response, overrides: SessionHeaderOverrides = {}): AnswerHeaders {
  const { epoch = context.epoch, cookie = context.cookie } = overrides;
  const versionOf = overrides.versionOf === undefined ? context.versionOf : overrides.versionOf;
  const headers = new AnswerHeaders(response.headers);
  // An answer made from one user's session must not be served to another from a shared cache.
  if (!headers.has('cache-control')) headers.set('cache-control', 'private, no-store');
  headers.append('vary', 'Cookie');
  headers.set(HEADER.epoch, serializeStringItem(epoch));
  const declared = overrides.alsoKeys?.length ? [...new Set([...context.declaredKeys, ...overrides.alsoKeys])] : context.declaredKeys;
  if (declared.length > 0 && versionOf) headers.set(HEADER.versions, serializeKeyVersions(declared.map((key) => ({ key, version: versionOf(key) }))));
  if (cookie) headers.append('set-cookie', cookie);
  return headers;
}

/** Adds Session-Epoch, Session-Versions (declared keys) and Set-Cookie to an answer. */
export function decorate(context: AnswerContext, response: Response, overrides: SessionHeaderOverrides = {}): Response {
  const headers = sessionHeaders(context, response, overrides);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: headers.list });
}

export function withCookie(response: Response, cookie: string | null): Response {
  if (!cookie) return response;
  const headers = new Headers(response.headers);
  headers.append('set-cookie', cookie);
  return new Response(response.body, { status: response.status, headers });
}

/**
 * The 412 answer: each declared key's current version, and its value for the
 * client to rebase on — exactly the keys the request declared (never a key the
 * handler read besides them), and never the value of a server-only key.
 */
export function staleAnswer(context: AnswerContext, entries: ReadonlyMap<string, StoredEntry>, why: string): Response {
  const states: Record<string, { version: number; value?: unknown; withheld?: true }> = Object.create(null);
  for (const key of context.declaredKeys) {
    const entry = entries.get(key) ?? { version: 0 };
    if (entry.value === undefined) states[key] = { version: entry.version };
    // A server-only key's value stays on the server; `withheld` tells it apart from an absent key.
    else if (context.serverOnly.has(key)) states[key] = { version: entry.version, withheld: true };
    else states[key] = { version: entry.version, value: JSON.parse(entry.value) };
  }
  return decorate(context, problemResponse('stale', `${why}: refresh, rebase and retry`, { keys: states }), { versionOf: (key) => entries.get(key)?.version ?? 0 });
}

/** The problem answer of a ProblemError, with the session headers the server could read. */
export function problemAnswer(context: AnswerContext, error: ProblemError): Response {
  const headers: Record<string, string> = {};
  if (error.problem === 'storeUnavailable') headers['retry-after'] = String(context.retryAfterSeconds);
  const response = problemResponse(error.problem, error.detail, error.extensions, headers);
  // What the server could not read, it does not report.
  if (error.problem === 'invalidDeclaration' || error.problem === 'declarationRequired' || error.problem === 'storeUnavailable' || error.problem === 'bodyTooLarge') {
    return withCookie(response, context.cookie);
  }
  return decorate(context, response, error.problem === 'sessionEnded' ? { versionOf: null } : {});
}
