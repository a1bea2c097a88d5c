/**
 * The checks of a route table, each a TypeError that names the route and what
 * to fix: an unknown field, a bad method, path or key list, or two patterns
 * that could match the same request (naming both).
 *
 * `defineRoutes()` runs them except in a production build (where the table is
 * the one that passed them in development), and the server runs them on every
 * table it mounts, whatever the build: a table reaches no request unchecked.
 */
import { rawSegments, served } from './pattern.js';
import type { RouteEntry } from './types.js';

const FIELDS = new Set(['method', 'path', 'reads', 'writes', 'rotates', 'ends', 'blind', 'outbox']);
const METHOD = /^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$/;
const PARAM = /^:[A-Za-z_$][\w$]*$/;

/** A route as the overlap check sees it: its name, method, path, and segments (null: a `:param`). */
interface CheckedRoute {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly segments: readonly (string | null)[];
}

/** Throws the TypeError of the first thing wrong with `table`; returns when it is a valid table. */
export function checkRoutes(table: unknown): void {
  if (!table || typeof table !== 'object' || Array.isArray(table)) throw new TypeError('defineRoutes(table): table must be an object of named routes');
  const checked: CheckedRoute[] = [];
  for (const [name, value] of Object.entries(table)) {
    const { method, path } = checkEntry(name, value);
    const route = { name, method, path, segments: checkPath(name, path) };
    for (const other of checked) {
      if (overlap(route, other)) {
        throw new TypeError(`defineRoutes(): routes ${describe(other)} and ${describe(route)} could match the same request; make one pattern more specific or merge them`);
      }
    }
    checked.push(route);
  }
}

const describe = ({ name, method, path }: CheckedRoute) => `${JSON.stringify(name)} (${method} ${path})`;

/** The same method (a HEAD route beside a GET route competes for its requests), and every segment could be equal. */
const overlap = (one: CheckedRoute, other: CheckedRoute) =>
  served(one.method) === served(other.method) &&
  one.segments.length === other.segments.length &&
  one.segments.every((segment, i) => segment === null || other.segments[i] === null || segment === other.segments[i]);

/** A thrower of the TypeError for route `name`: "defineRoutes(): route "name" " and what is wrong. */
const failing =
  (name: string) =>
  (what: string): never => {
    throw new TypeError(`defineRoutes(): route ${JSON.stringify(name)} ${what}`);
  };

function checkEntry(name: string, value: unknown): RouteEntry {
  const fail = failing(name);
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('must be an object { method, path, reads?, writes? }');
  const entry = value as Record<string, unknown>;
  for (const field of Object.keys(entry)) {
    if (!FIELDS.has(field)) fail(`has an unknown field ${JSON.stringify(field)} (known: ${[...FIELDS].join(', ')})`);
  }
  if (typeof entry.method !== 'string' || !METHOD.test(entry.method)) fail(`needs a method in upper case, such as "POST" (got ${JSON.stringify(entry.method)})`);
  if (typeof entry.path !== 'string' || !entry.path.startsWith('/')) fail(`needs a path that begins with "/" (got ${JSON.stringify(entry.path)})`);
  const seen = new Set<unknown>();
  for (const list of ['reads', 'writes'] as const) {
    const keys = entry[list] ?? [];
    if (!Array.isArray(keys)) fail(`${list} must be an array of key names`);
    for (const key of keys as unknown[]) {
      if (typeof key !== 'string' || !key) fail(`${list} must hold non-empty strings (got ${JSON.stringify(key)})`);
      if (seen.has(key)) fail(`names key ${JSON.stringify(key)} twice (a written key goes in writes only)`);
      seen.add(key);
    }
  }
  for (const flag of ['rotates', 'ends', 'blind', 'outbox'] as const) {
    if (entry[flag] !== undefined && typeof entry[flag] !== 'boolean') fail(`${flag} must be true or false`);
  }
  if (entry.rotates && entry.ends) fail('cannot both rotate and end the session');
  return entry as unknown as RouteEntry;
}

/** The path's segments as the overlap check compares them (decoded; null: a parameter), each one checked. */
function checkPath(name: string, path: string): (string | null)[] {
  const names = new Set<string>();
  const failRoute = failing(name);
  return rawSegments(path).map((segment) => {
    const fail = (what: string) => failRoute(`has path ${JSON.stringify(path)}, ${what}`);
    if (/[?#]/.test(segment)) fail('which holds "?" or "#": a pattern is a path only (queries never take part in matching)');
    if (segment.startsWith(':')) {
      if (!PARAM.test(segment)) fail(`whose parameter ${JSON.stringify(segment)} is not ":" and a name`);
      if (names.has(segment)) fail(`which names parameter ${segment} twice`);
      names.add(segment);
      return null;
    }
    if (!segment) fail('which has an empty segment');
    try {
      return decodeURIComponent(segment);
    } catch {
      return fail(`whose segment ${JSON.stringify(segment)} is not valid percent-encoding`);
    }
  });
}
