/**
 * `session-lanes/server/hono`: the validator in a Hono app — one route at a
 * time (`withSession`) or a whole route table at once (`sessionRoutes`).
 * Only exports, so that the two halves do not import each other through it.
 */
export * from './hono-middleware.js';
export { sessionRoutes, type HonoRouteHandlers, type SessionContextHandler } from './hono-table.js';
