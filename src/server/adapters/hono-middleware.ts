import type { Context, MiddlewareHandler, Next } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { SchemaMap, TrackedSession } from '../tracked-session.js';
import type { SessionValues, Validator } from '../validator.js';
import { bodyAlreadyRead } from './consumed-body.js';
import { checkDeclaration, declaredMethod, servedBy, wrongMethodMessage } from './mounted-method.js';
import { watchedSession, type SessionFailures } from './session-failures.js';

/** What `sessionId(request, context)` is given under `withSession()`: Hono's context. */
export interface HonoContext {
  readonly c: Context;
}

/** The context variable `withSession()` sets: `c.var.session` (or the name given), the route's tracked session. */
export type SessionVariables<Values extends Record<string, unknown> = Record<string, unknown>, Name extends string = 'session'> = {
  [K in Name]: TrackedSession<Values>;
};

export interface WithSessionOptions<Name extends string = 'session'> {
  /**
   * The context variable to set, when the app's own session middleware already uses `session`.
   * @default 'session'
   */
  variable?: Name;
}

/**
 * A Hono middleware that serves its route through the validator: the handler
 * after it finds the tracked session of the route's keys in `c.var.session`
 * (`c.get('session')`), and what it answers is committed and answered with the
 * session headers added. Route params, context variables set by earlier
 * middleware, and headers (and cookies) the handler sets all survive into the
 * answer.
 *
 * ```ts
 * import { withSession } from 'session-lanes/server/hono';
 *
 * app.post('/api/cart/:sku', withSession(validator, routes.addToCart), (c) => {
 *   const session = c.var.session;
 *   session.set('cart', [...(session.get('cart') ?? []), c.req.param('sku')]);
 *   return c.json({ cart: session.get('cart') });
 * });
 * ```
 *
 * A handler that throws (or whose error Hono turns into a 5xx) commits
 * nothing; an `HTTPException` with a 4xx status is an answer like any other.
 */
export function withSession<Schemas extends SchemaMap, Name extends string = 'session'>(
  validator: Validator<Schemas>,
  declaration: Parameters<Validator<Schemas>['route']>[0],
  options: WithSessionOptions<Name> = {},
): MiddlewareHandler<{ Variables: SessionVariables<SessionValues<Schemas>, Name> }> {
  if (!validator || typeof validator.route !== 'function') throw new TypeError('withSession(validator, declaration): validator must be what createValidator() returns');
  checkDeclaration(declaration);
  const variable = options.variable ?? 'session';
  if (typeof variable !== 'string' || variable.length === 0) throw new TypeError('withSession(validator, declaration, { variable }): variable must be a non-empty string');
  const route = validator.route(declaration, async (request, session, { c, next }: HonoContext & { next: Next }) => {
    // The validator read a write's body to fingerprint it; the handler reads the copy it was given.
    c.req.raw = request;
    c.req.bodyCache = {};
    const failures: SessionFailures = {};
    c.set(variable as never, watchedSession(session as TrackedSession, failures) as never);
    await next();
    // Hono's compose caught what the handler threw and answered with onError's answer. A 5xx after the tracked session threw is
    // that error's problem (invalid-value, undeclared-key…); Hono's default "Internal Server Error" is the handler-failed problem.
    if (c.error && c.res.status >= 500) {
      if ('error' in failures) throw failures.error;
      if (await isHonoErrorPage(c.res)) throw c.error;
    }
    return c.res;
  });
  const declared = declaredMethod(declaration);
  return async function sessionLanesMiddleware(c, next) {
    const mounted = matchedRoutes(c)[c.req.routeIndex]?.method;
    if (declared && mounted && mounted !== 'ALL' && !servedBy(declared, mounted)) throw new TypeError(wrongMethodMessage(declaration, mounted));
    const request = await requestOf(c);
    const answer = request instanceof Response ? request : await route(request, { c, next });
    // Assigning c.res merges the old answer's headers into the new one, replacing its Set-Cookie: start afresh, since the answer already holds them all.
    c.res = undefined;
    c.res = answer;
  };
}

/** What to do about a body earlier middleware read with nothing exact left: the fix, for the problem's detail. */
const HONO_FIX =
  'Mount withSession() before the middleware that reads the body, or have that middleware read it with c.req.arrayBuffer() first ' +
  '(c.req.json() then parses those same bytes)';

/**
 * The request to serve: the raw one, or, when earlier middleware already read
 * the body through `c.req`, one over the bytes that arrived, which the
 * fingerprint must be over (a re-encoded body would make a resend another
 * request). Those are the cached bytes (`arrayBuffer()`, `blob()`), or the
 * cached text (`c.req.json()`, `c.req.text()` cache the text) when it is
 * provably the bytes decoded (no replacement character, and its UTF-8 length
 * is the Content-Length: a stripped BOM would be 3 bytes short). Anything
 * else is refused with the `body-already-read` problem.
 */
async function requestOf(c: Context): Promise<Request | Response> {
  const { raw } = c.req;
  if (raw.method === 'GET' || raw.method === 'HEAD') return raw;
  const cached = Object.keys(c.req.bodyCache) as (keyof typeof c.req.bodyCache)[];
  if (cached.length === 0 && !raw.bodyUsed) return raw;
  const over = (body: BodyInit) => new Request(raw.url, { method: raw.method, headers: raw.headers, signal: raw.signal, body });
  const cache = c.req.bodyCache;
  if (cache.arrayBuffer) return over(await cache.arrayBuffer);
  if (cache.blob) return over(await (await cache.blob).arrayBuffer());
  if (cache.text) {
    const bytes = new TextEncoder().encode(await cache.text);
    const declared = raw.headers.get('content-length');
    if (declared !== null && Number(declared) === bytes.byteLength && !(await cache.text).includes('\uFFFD')) return over(bytes);
  }
  const reader = cache.text || cache.json ? 'c.req.json() (or c.req.text())' : cache.formData ? 'c.req.formData() (or c.req.parseBody())' : 'a middleware';
  return bodyAlreadyRead(reader, `${raw.method} ${new URL(raw.url).pathname}`, HONO_FIX);
}

/** Hono's default error answer (no onError of the app's): never a protocol answer. */
async function isHonoErrorPage(response: Response): Promise<boolean> {
  return response.status === 500 && /^text\/plain/.test(response.headers.get('content-type') ?? '') && (await response.clone().text()) === 'Internal Server Error';
}

