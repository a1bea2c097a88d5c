import { COMPILED, rawSegments, served, type CompiledRoute } from './pattern.js';
import type { RouteEntry, RouteTable, sessionKeys } from './types.js';

const FIELDS = new Set(['method', 'path', 'reads', 'writes', 'rotates', 'ends', 'blind', 'outbox']);
const METHOD = /^[A-Z][A-Z0-9!#$%&'*+.^_`|~-]*$/;
const PARAM = /^:[A-Za-z_$][\w$]*$/;

/** An entry of `T` with no field an entry does not have (a type error shows the stray one). */
type Exact<T> = { [N in keyof T]: T[N] & { readonly [F in Exclude<keyof T[N], keyof RouteEntry>]: never } };

/** What `defineRoutes()` returns: the table as given (frozen), carrying `Keys` for the types. */
export type Routes<T, Keys extends object> = { readonly [N in keyof T]: T[N] } & { readonly [sessionKeys]?: Keys };

/**
 * Declares the app's routes once, for the server and the browser. Checks the
 * table and throws a TypeError naming the route: an unknown field, a bad
 * method, path or key list, or two patterns that could match the same
 * request (naming both).
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
  if (!table || typeof table !== 'object' || Array.isArray(table)) throw new TypeError('defineRoutes(table): table must be an object of named routes');
  const compiled: CompiledRoute[] = [];
  const result: Record<string, RouteEntry> = {};
  for (const [name, value] of Object.entries(table)) {
    const entry = checkEntry(name, value);
    const route: CompiledRoute = [entry.method, compilePath(name, entry.path), entry, name];
    for (const other of compiled) {
      if (overlap(route, other)) {
        throw new TypeError(`defineRoutes(): routes ${describe(other)} and ${describe(route)} could match the same request; make one pattern more specific or merge them`);
      }
    }
    compiled.push(route);
    result[name] = entry;
  }
  Object.defineProperty(result, COMPILED, { value: compiled });
  return Object.freeze(result);
}

const describe = ([method, , entry, name]: CompiledRoute) => `${JSON.stringify(name)} (${method} ${entry.path})`;

/** The same method (a HEAD route beside a GET route competes for its requests), and every segment could be equal. */
const overlap = ([m1, s1]: CompiledRoute, [m2, s2]: CompiledRoute) =>
  served(m1) === served(m2) && s1.length === s2.length && s1.every((segment, i) => segment === null || s2[i] === null || segment === s2[i]);

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
  const copy = { ...entry };
  for (const list of ['reads', 'writes'] as const) if (copy[list]) copy[list] = Object.freeze([...(copy[list] as string[])]);
  return Object.freeze(copy) as unknown as RouteEntry;
}

function compilePath(name: string, path: string): (string | null)[] {
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
