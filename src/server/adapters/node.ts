import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';

/** A Fetch API handler, as `validator.route()` returns. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A Node `http` request listener; Express 5 accepts it as a route handler too. */
export type NodeListener = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * Serves a Fetch handler from Node's `http` server or Express 5:
 *
 * ```ts
 * http.createServer(toNodeListener(handler)).listen(3000);
 * app.post('/api/cart', toNodeListener(addToCart)); // Express: mount before any body parser
 * ```
 *
 * The Node-to-Fetch bridge is `@hono/node-server`'s: well kept, streaming,
 * and tolerant of Express's request objects.
 */
export function toNodeListener(handler: FetchHandler): NodeListener {
  // overrideGlobalObjects: false, so that the app keeps the platform's own Request and Response.
  const listener = getRequestListener((request) => handler(request), { overrideGlobalObjects: false });
  return async (request, response) => {
    await listener(request, response);
  };
}
