import type { NextFunction, Request as ExpressRequest, Response as ExpressResponse } from 'express';
import { findRoute, pathSegments, type CompiledRoute } from '../../routes/pattern.js';
import type { RouteEntry } from '../../routes/types.js';
import type { SchemaMap } from '../tracked-session.js';
import type { RouteSession, Validator } from '../validator.js';
import { withSession, type ExpressMiddleware, type SessionLocals, type SessionMiddleware } from './express-middleware.js';
import { routeParams, tableRoutes, type EntryPath, type PathParams } from './mounted-table.js';


/** A handler written the Express way, with the route's typed session in `res.locals.session` and its path's params in `req.params`. */
export type SessionRequestHandler<Session, Params = Record<string, string>> = (
  req: ExpressRequest<Params>,
  res: ExpressResponse<any, SessionLocals<Session>>,
  next: NextFunction,
) => unknown;

/** A handler for each route of a table, by name: a missing one is a type error. */
export type ExpressRouteHandlers<Schemas extends SchemaMap, T> = {
  readonly [N in keyof T & string]: SessionRequestHandler<RouteSession<Schemas, T[N]>, PathParams<EntryPath<T[N]>>>;
};

export interface SessionRoutesOptions {
  /**
   * Where the table's paths start on this server: a path prefix such as
   * `'/shop'` (the client's `base` has the same path). The table is matched
   * against the whole path (`req.originalUrl`), wherever the app mounts it.
   * @default ''
   */
  prefix?: string;
}

/**
 * Mounts a whole route table on Express, each route at the method and path
 * its entry gives, so that method and path cannot disagree with the table
 * the client tags its requests by:
 *
 * ```ts
 * import { sessionRoutes } from 'session-lanes/server/express';
 *
 * app.use(sessionRoutes(validator, routes, {
 *   addToCart: (req, res) => {
 *     const { session } = res.locals;              // typed from routes.addToCart
 *     session.set('cart', [...(session.get('cart') ?? []), req.params.sku]);
 *     res.status(201).json({ cart: session.get('cart') });
 *   },
 *   showCart: (req, res) => void res.json(res.locals.session.get('cart') ?? []),
 * }));
 * ```
 *
 * Each handler is served as `withSession(validator, entry)` serves the
 * handler after it (every rule of `withSession()` holds: answers, errors,
 * bodies, express-session); a missing handler is a type error and a
 * TypeError. A request that matches no route of the table (another path, or
 * a path of the table under another method) goes on to `next()`. Mount it
 * after the middleware the handlers need (auth, cookies), as any route.
 */
export function sessionRoutes<Schemas extends SchemaMap, T extends { readonly [name: string]: RouteEntry }>(
  validator: Validator<Schemas>,
  routes: T,
  handlers: ExpressRouteHandlers<Schemas, T>,
  options: SessionRoutesOptions = {},
): ExpressMiddleware {
  const call = 'sessionRoutes(validator, routes, handlers)';
  if (!validator || typeof validator.route !== 'function') throw new TypeError(`${call}: validator must be what createValidator() returns`);
  const { prefix = '' } = options;
  if (typeof prefix !== 'string' || (prefix && !/^\/.*[^/]$/.test(prefix))) throw new TypeError(`${call}: prefix must be a path such as "/shop", without a trailing slash (got ${JSON.stringify(prefix)})`);
  type Handler = SessionRequestHandler<unknown>;
  const mounted = new Map<CompiledRoute, { handler: Handler; session: SessionMiddleware<unknown> }>();
  for (const { route, handler } of tableRoutes<Handler>(call, routes, handlers)) mounted.set(route, { handler, session: withSession(validator, route[2] as never) as SessionMiddleware<unknown> });
  const compiled = [...mounted.keys()];

  return function sessionLanesRoutes(incoming, outgoing, next) {
    const req = incoming as ExpressRequest;
    const res = outgoing as ExpressResponse;
    const path = pathOf(req.originalUrl ?? req.url ?? '/');
    const inside = path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/');
    const segments = inside ? pathSegments(path.slice(prefix.length)) : undefined;
    const route = segments && findRoute(compiled, req.method, segments);
    if (!route) return next();
    const { handler, session } = mounted.get(route)!;
    req.params = routeParams(route[2], segments);
    session(req, res as never, (error?: unknown) => {
      if (error !== undefined && error !== null) return next(error);
      // A handler that throws or rejects goes to the app's error handlers, as Express does with its own routes.
      try {
        const result = handler(req as never, res as never, next);
        if (result instanceof Promise) result.catch(next);
      } catch (thrown) {
        next(thrown);
      }
    });
  };
}

/**
 * The path of a request target as Express routing reads it: without the
 * query, and without the origin of an absolute-form target
 * (`POST http://host/cart HTTP/1.1`, as a request through a proxy has it).
 */
function pathOf(target: string): string {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (path.startsWith('/') || !URL.canParse(path)) return path;
  return new URL(path).pathname;
}
