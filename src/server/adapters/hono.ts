import type { Context, MiddlewareHandler, Next } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { SchemaMap, TrackedSession } from '../tracked-session.js';
import type { SessionValues, Validator } from '../validator.js';
import { declaredMethod, servedBy, wrongMethodMessage } from './mounted-method.js';

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
  const variable = options.variable ?? 'session';
  if (typeof variable !== 'string' || variable.length === 0) throw new TypeError('withSession(validator, declaration, { variable }): variable must be a non-empty string');
  const route = validator.route(declaration, async (request, session, { c, next }: HonoContext & { next: Next }) => {
    // The validator read a write's body to fingerprint it; the handler reads the copy it was given.
    c.req.raw = request;
    c.set(variable as never, session as never);
    await next();
    return c.res;
  });
  const declared = declaredMethod(declaration);
  return async function sessionLanesMiddleware(c, next) {
    const mounted = matchedRoutes(c)[c.req.routeIndex]?.method;
    if (declared && mounted && mounted !== 'ALL' && !servedBy(declared, mounted)) throw new TypeError(wrongMethodMessage(declaration, mounted));
    const answer = await route(await requestOf(c), { c, next });
    // Assigning c.res merges the old answer's headers into the new one, replacing its Set-Cookie: start afresh, since the answer already holds them all.
    c.res = undefined;
    c.res = answer;
  };
}

/** The request to serve: the raw one, or, when earlier middleware already parsed the body through `c.req`, one over the bytes it cached. */
async function requestOf(c: Context): Promise<Request> {
  const { raw } = c.req;
  if (Object.keys(c.req.bodyCache).length === 0 || raw.method === 'GET' || raw.method === 'HEAD') return raw;
  const body = await c.req.arrayBuffer();
  return new Request(raw.url, { method: raw.method, headers: raw.headers, signal: raw.signal, body });
}
