/**
 * The route table on the server: a route mounted under another method than
 * its entry declares answers 405; a whole table mounts as one Fetch handler;
 * the table is served as JSON for tooling and other clients.
 */
import { routesDocument } from '../routes/document.js';
import { COMPILED, findRoute, matches, pathSegments, type CompiledRoute } from '../routes/pattern.js';
import type { RouteTable } from '../routes/types.js';
import { problemResponse } from './problem-response.js';

type FetchHandler = (request: Request, ...args: never[]) => Response | Promise<Response>;

// A GET route serves HEAD too.
const allowed = (method: string) => (method == 'GET' ? 'GET, HEAD' : method);

/** The method a declaration names (a route table entry's), checked; undefined when it names none. */
export function checkedMethod(declaration: { readonly method?: unknown }): string | undefined {
  const { method } = declaration;
  if (method === undefined) return;
  if (typeof method !== 'string' || !/^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$/.test(method)) {
    throw new TypeError(`validator.route(): method must be an HTTP method in upper case, such as "POST" (got ${JSON.stringify(method)})`);
  }
  return method;
}

/** The 405 of a route mounted under the wrong method: names both, nothing read or written. */
export function wrongMethod(declared: string, path: unknown, request: Request): Response {
  const route = typeof path == 'string' ? `${declared} ${path}` : declared;
  return problemResponse(
    'methodNotAllowed',
    `This route is ${route} in the route table; the request was ${request.method}. Mount the route under ${declared}, or change the table`,
    { method: request.method, allowed: allowed(declared).split(', ') },
    { allow: allowed(declared) },
  );
}

export interface MountOptions {
  /**
   * Where the table's paths start on this server: a path prefix such as
   * `'/shop'` (the client's `base` has the same path).
   * @default ''
   */
  prefix?: string;
  /**
   * Answers a request that matches no route of the table.
   * @default a 404 problem (`route-not-found`)
   */
  notFound?: (request: Request) => Response | Promise<Response>;
}

/**
 * One Fetch handler for a whole table: each request goes to its route's
 * handler (validator.route of the entry), a path of the table under another
 * method is a 405 naming the allowed ones, anything else `notFound`.
 */
export function mountTable(routes: RouteTable, served: Readonly<Record<string, FetchHandler>>, options: MountOptions = {}): (request: Request, ...args: unknown[]) => Promise<Response> {
  const compiled = (routes as { [COMPILED]?: CompiledRoute[] })[COMPILED];
  if (!compiled) throw new TypeError('validator.mount(routes, handlers): routes must come from defineRoutes() (session-lanes/routes)');
  const { prefix = '', notFound } = options;
  if (typeof prefix !== 'string' || (prefix && !/^\/.*[^/]$/.test(prefix))) throw new TypeError(`validator.mount(): prefix must be a path such as "/shop", without a trailing slash (got ${JSON.stringify(prefix)})`);
  if (notFound !== undefined && typeof notFound !== 'function') throw new TypeError('validator.mount(): notFound must be a function');
  return async (request, ...args) => {
    const path = new URL(request.url).pathname;
    const inside = path.startsWith(prefix) && (path.length == prefix.length || path[prefix.length] == '/');
    const segments = inside ? pathSegments(path.slice(prefix.length)) : undefined;
    if (segments) {
      const route = findRoute(compiled, request.method, segments);
      if (route) return (served[route[3]] as (request: Request, ...args: unknown[]) => Response | Promise<Response>)(request, ...args);
      const methods = compiled.filter(([, pattern]) => matches(pattern, segments)).map(([method]) => allowed(method));
      if (methods.length) {
        return problemResponse('methodNotAllowed', `${path} serves ${methods.join(', ')}, not ${request.method}`, { method: request.method, allowed: methods.join(', ').split(', ') }, { allow: methods.join(', ') });
      }
    }
    return notFound ? notFound(request) : problemResponse('routeNotFound', `No route of the table matches ${request.method} ${path}`);
  };
}

/**
 * A Fetch handler serving the table's JSON form (`routesDocument()`; PROTOCOL.md
 * documents it) to GET and HEAD, 405 to anything else.
 *
 * @example
 * app.get('/.well-known/session-lanes/routes', toNodeListener(serveRouteTable(routes)));
 */
export function serveRouteTable(routes: RouteTable): (request: Request) => Response {
  const body = JSON.stringify(routesDocument(routes));
  return (request) => {
    if (request.method != 'GET' && request.method != 'HEAD') return wrongMethod('GET', undefined, request);
    return new Response(request.method == 'HEAD' ? null : body, { headers: { 'content-type': 'application/json', 'cache-control': 'no-cache' } });
  };
}
