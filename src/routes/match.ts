/**
 * Which route of a table a request goes to. The client tags each fetch with
 * it; `matchRoute` offers the same answer to other code (the outbox's checks,
 * tooling), with the path parameters.
 */
import { COMPILED, findRoute, pathSegments, rawSegments, type CompiledRoute } from './pattern.js';
import type { RouteEntry, RouteTable } from './types.js';

/** fetch upper-cases these methods only; any other goes on the wire as written. */
const STANDARD = /^(delete|get|head|options|post|put)$/i;

/**
 * A matcher for one table under one base (origin plus an optional path
 * prefix): `(method, url)` → the compiled route, or undefined when the URL is
 * on another origin, outside the prefix, or matches no route. `url` must be
 * absolute (resolve a relative one first, as fetch would).
 */
export function createRouteMatcher(routes: RouteTable, base: string | URL): (method: string, url: string | URL) => CompiledRoute | undefined {
  const compiled = (routes as { [COMPILED]?: CompiledRoute[] })[COMPILED];
  if (!compiled) throw new TypeError('routes must come from defineRoutes() (session-lanes/routes)');
  const { origin, pathname } = absoluteBase(base);
  const prefix = pathname.replace(/\/$/, '');
  return (method, url) => {
    const target = typeof url === 'string' ? new URL(url) : url;
    const path = target.pathname;
    if (target.origin !== origin) return;
    if (!path.startsWith(prefix) || (path.length > prefix.length && path[prefix.length] !== '/')) return;
    const segments = pathSegments(path.slice(prefix.length));
    return segments && findRoute(compiled, STANDARD.test(method) ? method.toUpperCase() : method, segments);
  };
}

/** `base` as a URL; a TypeError with an exact message when it is not an absolute URL. */
export function absoluteBase(base: string | URL): URL {
  try {
    return new URL(base);
  } catch {
    throw new TypeError(`base must be an absolute URL, not ${JSON.stringify(String(base))}`);
  }
}

/** A request's route, by name, with its entry and its path parameters (decoded). */
export interface RouteMatch {
  readonly name: string;
  readonly entry: RouteEntry;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * The route of `routes` that a request with this method and absolute URL goes
 * to, under `base` (origin plus an optional path prefix); undefined when none.
 *
 * @example
 * matchRoute(routes, 'POST', 'https://shop.example/api/products/sku%201/view', 'https://shop.example')
 * // → { name: 'viewItem', entry: routes.viewItem, params: { sku: 'sku 1' } }
 */
export function matchRoute(routes: RouteTable, method: string, url: string | URL, base: string | URL): RouteMatch | undefined {
  const route = createRouteMatcher(routes, base)(method, url);
  if (!route) return;
  const [, , entry, name] = route;
  const { pathname } = typeof url === 'string' ? new URL(url) : url;
  const segments = pathSegments(pathname.slice(new URL(base).pathname.replace(/\/$/, '').length))!;
  const params: Record<string, string> = Object.create(null);
  rawSegments(entry.path).forEach((segment, i) => segment.startsWith(':') && (params[segment.slice(1)] = segments[i]!));
  return { name, entry, params };
}

/** Whether a request with this method and absolute URL goes to a route of `routes` that writes (or rotates or ends the session). */
export function isWriteRoute(routes: RouteTable, method: string, url: string | URL, base: string | URL): boolean {
  const entry = createRouteMatcher(routes, base)(method, url)?.[2];
  return !!entry && (!!entry.writes?.length || !!entry.rotates || !!entry.ends);
}
