import { checkRoutes } from './check.js';
import { COMPILED, rawSegments, type CompiledRoute } from './pattern.js';
import type { RouteEntry, RouteTable, sessionKeys } from './types.js';

/** An entry of `T` with no field an entry does not have (a type error shows the stray one). */
type Exact<T> = { [N in keyof T]: T[N] & { readonly [F in Exclude<keyof T[N], keyof RouteEntry>]: never } };

/** What `defineRoutes()` returns: the table as given (frozen), carrying `Keys` for the types. */
export type Routes<T, Keys extends object> = { readonly [N in keyof T]: T[N] } & { readonly [sessionKeys]?: Keys };

/**
 * Declares the app's routes once, for the server and the browser. Checks the
 * table and throws a TypeError naming the route: an unknown field, a bad
 * method, path or key list, or two patterns that could match the same
 * request (naming both). A production build (`globalThis.process?.env.NODE_ENV`
 * is 'production', as Vite inlines it) leaves the checks out of the browser;
 * the server runs them on every table it mounts.
 *
 * Typed: pass the session's key types first, `defineRoutes<SessionKeys>()({ … })`,
 * and key names are checked (`writes: ['crat']` does not compile), `rebase`
 * gets typed values, and a handler's session only its route's keys.
 *
 * @example
 * export const routes = defineRoutes({
 *   addToCart: { method: 'POST', path: '/api/cart/items', writes: ['cart'] },
 *   showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
 * });
 */
export function defineRoutes<Keys extends object = Record<string, unknown>>(): <const T extends { readonly [name: string]: RouteEntry<keyof Keys & string> }>(
  table: T & Exact<T>,
) => Routes<T, Keys>;
export function defineRoutes<const T extends { readonly [name: string]: RouteEntry }>(table: T & Exact<T>): Routes<T, Record<string, unknown>>;
export function defineRoutes(...args: unknown[]): unknown {
  return args.length ? define(args[0]) : define;
}

function define(table: unknown): RouteTable {
  // A production build leaves the checks out (Vite inlines NODE_ENV): its table passed them in development, and the
  // server checks every table it mounts (route-table.ts, adapters/mounted-table.ts) whatever the build.
  if (globalThis.process?.env.NODE_ENV !== 'production') checkRoutes(table);
  const compiled: CompiledRoute[] = [];
  const result: Record<string, RouteEntry> = {};
  for (const [name, given] of Object.entries(table as Record<string, RouteEntry>)) {
    const entry = frozenEntry(given);
    const segments = rawSegments(entry.path).map((segment) => (segment.startsWith(':') ? null : decodeURIComponent(segment)));
    compiled.push([entry.method, segments, entry, name]);
    result[name] = entry;
  }
  Object.defineProperty(result, COMPILED, { value: compiled });
  return Object.freeze(result);
}

/** A frozen copy of an entry, its key lists frozen copies too: the table cannot change once defined. */
function frozenEntry(entry: RouteEntry): RouteEntry {
  const copy: Record<string, unknown> = { ...entry };
  for (const list of ['reads', 'writes'] as const) if (entry[list]) copy[list] = Object.freeze([...entry[list]]);
  return Object.freeze(copy) as unknown as RouteEntry;
}
