import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Connect, Plugin } from 'vite';
import { toNodeListener, type FetchHandler, type NodeListener } from './node.js';

export type { FetchHandler } from './node.js';

/** Routes keyed by `"METHOD /path"`, e.g. `'POST /api/cart'`; the path is matched exactly, the query ignored. */
export type FetchRoutes = Readonly<Record<string, FetchHandler>>;

export interface SessionLanesPluginOptions {
  /** The Fetch handlers to mount, keyed by `"METHOD /path"`. */
  routes: FetchRoutes;
  /**
   * Also mount the routes on `vite preview`.
   * @default true
   */
  preview?: boolean;
}

/**
 * Mounts Fetch handlers (as `validator.route()` returns) on the Vite dev
 * server, ahead of Vite's own middleware, so that a page served by Vite talks
 * to real routes on the same origin:
 *
 * ```ts
 * // vite.config.ts
 * export default defineConfig({
 *   plugins: [sessionLanes({ routes: { 'POST /api/cart': addToCart, 'GET /api/cart': showCart } })],
 * });
 * ```
 *
 * A request that matches no route goes on to Vite.
 */
export function sessionLanes(options: SessionLanesPluginOptions): Plugin {
  const middleware = routesMiddleware(options.routes);
  return {
    name: 'session-lanes',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      if (options.preview !== false) server.middlewares.use(middleware);
    },
  };
}

/** The Connect middleware behind `sessionLanes()`, for a Connect or Express app of your own. */
export function routesMiddleware(routes: FetchRoutes): Connect.NextHandleFunction {
  const table = new Map<string, NodeListener>();
  for (const [route, handler] of Object.entries(routes)) {
    const match = /^([A-Z]+) (\/\S*)$/.exec(route);
    if (!match) throw new TypeError(`Expected a route like "POST /api/cart", got ${JSON.stringify(route)}`);
    table.set(`${match[1]} ${match[2]}`, toNodeListener(handler));
  }
  return function sessionLanesMiddleware(request: IncomingMessage, response: ServerResponse, next: Connect.NextFunction) {
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const listener = table.get(`${request.method ?? 'GET'} ${path}`);
    if (!listener) return next();
    listener(request, response).catch(next);
  };
}
