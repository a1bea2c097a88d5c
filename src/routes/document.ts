/**
 * The table as JSON, for tooling and for clients in other languages
 * (PROTOCOL.md, "The route table as JSON", documents the format).
 */
import type { RouteTable } from './types.js';

/** Format 1 of the route table's JSON form. Every field is present, defaults filled in. */
export interface RoutesDocument {
  readonly version: 1;
  readonly routes: {
    readonly [name: string]: {
      readonly method: string;
      readonly path: string;
      readonly reads: readonly string[];
      readonly writes: readonly string[];
      readonly rotates: boolean;
      readonly ends: boolean;
      readonly blind: boolean;
    };
  };
}

/**
 * The JSON form of a table made by `defineRoutes()`; `defineRoutes(document.routes)`
 * makes a table of it again (the defaults it fills in are the defaults).
 *
 * @example
 * app.get('/api/routes.json', () => Response.json(routesDocument(routes)));
 */
export function routesDocument(routes: RouteTable): RoutesDocument {
  const out: Record<string, RoutesDocument['routes'][string]> = {};
  for (const [name, entry] of Object.entries(routes)) {
    const { method, path, reads = [], writes = [], rotates = false, ends = false, blind = true } = entry;
    out[name] = { method, path, reads: [...reads], writes: [...writes], rotates, ends, blind };
  }
  return { version: 1, routes: out };
}
