/**
 * Path patterns and their matching, shared by the client (tagging each fetch)
 * and the server (mounting a table). Kept tiny: it is in the browser bundle.
 *
 * A pattern is '/'-separated; a segment `:name` matches any one non-empty
 * segment, every other segment matches itself. Matching is case-sensitive,
 * ignores one trailing slash, and compares each segment percent-decoded.
 */
import type { RouteEntry } from './types.js';

/** A compiled route: its method, its segments (null: a `:param`), its entry, its name in the table. */
export type CompiledRoute = readonly [method: string, segments: readonly (string | null)[], entry: RouteEntry, name: string];

/**
 * Where `defineRoutes()` keeps a table's compiled routes: a registered symbol,
 * so that a table made by one copy of the package is read by another.
 */
export const COMPILED: unique symbol = Symbol.for('session-lanes.routes') as never;

/**
 * A path's segments, each percent-decoded, one trailing slash ignored
 * ('/a/b/' → ['a', 'b'], '/' → []); undefined when a segment does not decode.
 */
export function pathSegments(path: string): string[] | undefined {
  const segments = rawSegments(path);
  if (path.includes('%')) {
    try {
      for (let i = 0; i < segments.length; i++) segments[i] = decodeURIComponent(segments[i]!);
    } catch {
      return;
    }
  }
  return segments;
}

/** A path or pattern split at '/', one leading and one trailing slash ignored, nothing decoded ('/' → []). */
export function rawSegments(path: string): string[] {
  const trimmed = path.replace(/^\/|\/$/g, '');
  return trimmed ? trimmed.split('/') : [];
}

/** The method whose routes serve a request of `method`: a GET route serves HEAD too. */
export const served = (method: string): string => (method === 'HEAD' ? 'GET' : method);

/** The route of `compiled` whose method and pattern match; a GET route serves HEAD too. */
export function findRoute(compiled: readonly CompiledRoute[], method: string, segments: readonly string[]): CompiledRoute | undefined {
  for (const route of compiled) {
    const [m, pattern] = route;
    if ((m === method || m === served(method)) && matches(pattern, segments)) return route;
  }
}

/** Whether a pattern's segments match a path's. */
export const matches = (pattern: readonly (string | null)[], segments: readonly string[]): boolean =>
  pattern.length === segments.length && pattern.every((part, i) => (part === null ? segments[i] !== '' : part === segments[i]));
