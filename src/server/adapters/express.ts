/**
 * `session-lanes/server/express`: the validator in an Express 5 app — one
 * route at a time (`expressRoute`, `withSession`) or a whole route table at
 * once (`sessionRoutes`). Only exports; the two halves live in their own
 * modules, so that neither imports the other through this entry.
 */
export * from './express-middleware.js';
export { sessionRoutes, type ExpressRouteHandlers, type SessionRequestHandler, type SessionRoutesOptions } from './express-table.js';
