import { Hono, type Context } from 'hono';
import type { RouteEntry } from '../../routes/types.js';
import type { SchemaMap } from '../tracked-session.js';
import type { RouteSession, Validator } from '../validator.js';
import { withSession } from './hono-middleware.js';
import { tableRoutes, type EntryPath } from './mounted-table.js';

/** A handler written the Hono way, with the route's typed session in `c.var.session` and its path's params in `c.req.param()`. */
export type SessionContextHandler<Session, Path extends string> = (c: Context<{ Variables: { session: Session } }, Path>) => Response | Promise<Response>;

/** A handler for each route of a table, by name: a missing one is a type error. */
export type HonoRouteHandlers<Schemas extends SchemaMap, T> = {
  readonly [N in keyof T & string]: SessionContextHandler<RouteSession<Schemas, T[N]>, EntryPath<T[N]> & string>;
};

/**
 * Mounts a whole route table on Hono, each route at the method and path its
 * entry gives, so that method and path cannot disagree with the table the
 * client tags its requests by:
 *
 * ```ts
 * import { sessionRoutes } from 'session-lanes/server/hono';
 *
 * app.use('/api/*', auth);
 * app.route('/', sessionRoutes(validator, routes, {
 *   addToCart: (c) => {
 *     c.var.session.set('cart', [...(c.var.session.get('cart') ?? []), c.req.param('sku')]); // typed from routes.addToCart
 *     return c.json({ cart: c.var.session.get('cart') }, 201);
 *   },
 *   showCart: (c) => c.json(c.var.session.get('cart') ?? []),
 * }));
 * ```
 *
 * It returns a Hono app of the table's routes, each served as
 * `withSession(validator, entry)` serves the handler after it; `app.route()`
 * merges them into the app, so that a request that matches none goes on to
 * the app's other routes and its `notFound`, and the app's `onError` and
 * middleware apply. A missing handler is a type error and a TypeError.
 */
export function sessionRoutes<Schemas extends SchemaMap, T extends { readonly [name: string]: RouteEntry }>(validator: Validator<Schemas>, routes: T, handlers: HonoRouteHandlers<Schemas, T>): Hono {
  const call = 'sessionRoutes(validator, routes, handlers)';
  if (!validator || typeof validator.route !== 'function') throw new TypeError(`${call}: validator must be what createValidator() returns`);
  const app = new Hono();
  for (const { route, handler } of tableRoutes<SessionContextHandler<unknown, string>>(call, routes, handlers)) {
    const [method, , entry] = route;
    app.on(method, entry.path, withSession(validator, entry as never), handler as never);
  }
  return app;
}
