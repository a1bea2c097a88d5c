/**
 * What the frameworks' table-mounting calls (`sessionRoutes()` of the Express
 * and Hono adapters) share: the table checked against its handlers (one per
 * route, none extra), and the route parameters a path pattern names, as types.
 */
import { checkRoutes } from '../../routes/check.js';
import { COMPILED, type CompiledRoute } from '../../routes/pattern.js';
import type { RouteEntry } from '../../routes/types.js';

/** The names of a path pattern's `:name` segments. */
type ParamNames<Path extends string> = Path extends `${infer Head}/${infer Rest}` ? ParamNames<Head> | ParamNames<Rest> : Path extends `:${infer Name}` ? Name : never;

/** The route parameters of a path pattern: `'/api/cart/:sku'` → `{ sku: string }`. */
export type PathParams<Path> = Path extends string ? (string extends Path ? Record<string, string> : { [K in ParamNames<Path>]: string }) : Record<string, string>;

/** The path of a table entry, as its literal type. */
export type EntryPath<Entry> = Entry extends { readonly path: infer Path } ? Path : string;

/** The table's compiled routes, each with its handler; a TypeError naming the route for a missing handler or one that names no route. */
export function tableRoutes<Handler>(call: string, routes: unknown, handlers: unknown): { route: CompiledRoute; handler: Handler }[] {
  const compiled = (routes as { [COMPILED]?: CompiledRoute[] } | null)?.[COMPILED];
  if (!compiled) throw new TypeError(`${call}: routes must come from defineRoutes() (session-lanes/routes)`);
  // Whatever the build: defineRoutes() leaves its checks out when NODE_ENV is 'production'.
  checkRoutes(routes);
  if (!handlers || typeof handlers !== 'object') throw new TypeError(`${call}: handlers must be an object with a handler per route`);
  for (const name of Object.keys(handlers)) if (!Object.hasOwn(routes as object, name)) throw new TypeError(`${call}: handler ${JSON.stringify(name)} names no route of the table`);
  return compiled.map((route) => {
    const [method, , entry, name] = route;
    const handler = (handlers as Record<string, unknown>)[name];
    if (typeof handler !== 'function') throw new TypeError(`${call}: route ${JSON.stringify(name)} (${method} ${(entry as RouteEntry).path}) has no handler`);
    return { route, handler: handler as Handler };
  });
}

/** The parameters of a matched route: each `:name` segment of its pattern, by name (the segments are already decoded). */
export function routeParams(entry: RouteEntry, segments: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  entry.path
    .replace(/^\/|\/$/g, '')
    .split('/')
    .forEach((segment, at) => {
      if (segment.startsWith(':')) params[segment.slice(1)] = segments[at]!;
    });
  return params;
}
