import type { FetchHandler } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore, type SessionStore } from '../../src/server/index.js';
import { shopRoutes } from '../routes.js';
import { API_BASE, LIST_KEYS, SHOP_KEYS, appendItem, delayOf, itemOf, normalizeState, problem, sleep, type ListKey } from '../shop.js';
import { shopKeys } from './keys.js';

/**
 * The same shop through the validator: each route declares the keys it reads
 * and writes, and commits only the keys that changed, with a compare-and-swap
 * on their versions. The server delay sits at the same place as in the naive
 * routes: between reading the session and writing it.
 */

/** The session-lanes routes, keyed for `sessionLanes({ routes })`. */
export function lanesRoutes(store: SessionStore = memoryStore()): Record<string, FetchHandler> {
  const validator = createValidator({
    store,
    keys: shopKeys,
    // Redis and PostgreSQL stores need one secret for every server that shares them; the demo runs one.
    secret: process.env.SESSION_LANES_SECRET ?? 'session-lanes demo secret: never use this one in production',
    onEvent(event) {
      // The demo's terminal is its operator console.
      const error = event.error instanceof Error ? event.error : new Error(String(event.error));
      console.error(`[session-lanes] ${event.type} at ${new URL(event.url).pathname}: ${error.message}`);
      if (event.type === 'handler-error') console.error(error);
    },
  });
  const base = API_BASE.lanes;
  const routes: Record<string, FetchHandler> = {};

  const appendRoute = (key: ListKey) =>
    validator.route(shopRoutes[key], async (request, session) => {
      const item = await itemOf(request);
      if (item === undefined) return problem(400, 'Expected a JSON body {"item": "..."}');
      const list = session.get(key);
      await sleep(delayOf(request));
      session.set(key, appendItem(list, item));
      return Response.json({ [key]: session.get(key) });
    });
  for (const key of LIST_KEYS) routes[`POST ${base}/${key}`] = appendRoute(key);

  routes[`POST ${base}/visits`] = validator.route(shopRoutes.visits, async (request, session) => {
    const visits = (session.get('visits') ?? 0) + 1;
    await sleep(delayOf(request));
    session.set('visits', visits);
    return Response.json({ visits });
  });

  routes[`POST ${base}/prefs`] = validator.route(shopRoutes.prefs, async (request, session) => {
    const body = (await request.json().catch(() => undefined)) as { theme?: unknown } | undefined;
    if (body?.theme !== 'light' && body?.theme !== 'dark') return problem(400, 'Expected {"theme": "light" | "dark"}');
    await sleep(delayOf(request));
    session.set('prefs', { theme: body.theme });
    return Response.json({ prefs: { theme: body.theme } });
  });

  // A read-only route: never rejected as stale, never writes.
  routes[`GET ${base}/state`] = validator.route(shopRoutes.state, async (request, session) => {
    await sleep(delayOf(request));
    return Response.json(normalizeState(Object.fromEntries(SHOP_KEYS.map((key) => [key, session.get(key)]))));
  });

  routes[`POST ${base}/reset`] = validator.route(shopRoutes.reset, async (_request, session) => {
    for (const key of SHOP_KEYS) session.delete(key);
    return Response.json(normalizeState({}));
  });
  return routes;
}
