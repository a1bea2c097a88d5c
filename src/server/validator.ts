import type { EntryKeys, EntryWrites, RouteEntry } from '../routes/types.js';
import { servedBy } from './adapters/mounted-method.js';
import { ClaimReleaser } from './claim-release.js';
import type { RouteKeys } from './declarations.js';
import { checkRoutes } from '../routes/check.js';
import { checkedMethod, mountTable, wrongMethod, type MountOptions } from './route-table.js';
import { unstorable } from './storable-text.js';
import { resolveOptions, type ValidatorOptions } from './options.js';
import { serveRequest } from './request/driver.js';
import type { RouteHandler } from './request/scope.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { TouchThrottle } from './touch-throttle.js';
import type { SchemaMap, TrackedSession } from './tracked-session.js';

/** Session values as the key schemas type them; keys without a schema hold any JSON. */
export type SessionValues<Schemas extends SchemaMap> = { [K in keyof Schemas]: StandardSchemaV1.InferOutput<Schemas[K]> } & Record<string, unknown>;

/** The session's key types from the key schemas: what `defineRoutes<SessionKeys>()` takes (a type-only import keeps zod out of the browser). */
export type SessionKeysOf<Schemas extends SchemaMap> = { [K in keyof Schemas]: StandardSchemaV1.InferOutput<Schemas[K]> };

/**
 * The keys a route reads and writes. A key is in one list at most. A route
 * table entry (`routes.addToCart`) is one: its `method` is checked (405 for
 * another), and the rest of it is carried as it is.
 */
export interface RouteDeclaration<Key extends string = string> {
  /** Keys the handler reads but never writes. @default [] */
  reads?: readonly Key[];
  /** Keys the handler may write; every request to the route must declare them all in Session-Write. @default [] */
  writes?: readonly Key[];
  /** The method the route serves (a GET route serves HEAD too); any other is a 405 problem. @default any method */
  method?: string;
  /** The path pattern, for messages (the app's router, or `validator.mount()`, routes by it). */
  path?: string;
  /**
   * A login (or privilege change) route: its handler may call `session.rotate()`.
   * A write route for every rule: Idempotency-Key required, answer recorded. @default false
   */
  rotates?: boolean;
  /**
   * A logout route: its handler may call `session.destroy()` without declaring
   * keys. A write route for every rule, like `rotates`. @default false
   */
  ends?: boolean;
}

/**
 * The tracked session a route's handler gets: when the declaration names its
 * keys as literal types (a typed route table, or an inline declaration), only
 * those, `set` and `delete` only the written ones.
 */
export type RouteSession<Schemas extends SchemaMap, D> = string extends EntryKeys<D>
  ? TrackedSession<SessionValues<Schemas>>
  : TrackedSession<{ [K in EntryKeys<D> & string]: SessionValues<Schemas>[K] }, EntryWrites<D> & string>;

/** A handler for each route of a table, by name: a missing one is a type error. */
export type RouteHandlers<Schemas extends SchemaMap, T, Args extends unknown[] = []> = {
  readonly [N in keyof T & string]: (request: Request, session: RouteSession<Schemas, T[N]>, ...args: Args) => Response | Promise<Response>;
};

export interface Validator<Schemas extends SchemaMap> {
  /** True when the app resolves session ids itself (`options.sessionId`): then `session.rotate({ id })` takes the app's new id. */
  readonly resolvesIds: boolean;
  /**
   * Wraps a handler as a Fetch handler that serves wire protocol v1: it checks
   * the request's declarations, gives the handler a tracked session of the
   * route's keys, and commits only what changed, atomically.
   *
   * Every argument the platform passes after the request (Next.js's
   * `{ params }`, Deno's `info`, an adapter's `{ req, res }` or `{ c }`) is
   * handed to the handler after `session`, and the first of them to
   * `options.sessionId(request, context)`.
   *
   * @example
   * validator.route({ reads: ['prefs'], writes: ['cart'] }, async (request, session) => {
   *   session.set('cart', [...(session.get('cart') ?? []), 'sku-1']);
   *   return Response.json({ ok: true });
   * });
   * @example
   * // Next.js (app/api/cart/[sku]/route.ts)
   * export const POST = validator.route(routes.addToCart, async (request, session, { params }: { params: Promise<{ sku: string }> }) => {
   *   session.set('cart', [...(session.get('cart') ?? []), (await params).sku]);
   *   return Response.json({ cart: session.get('cart') });
   * });
   */
  route<const D extends RouteDeclaration<keyof Schemas & string> | RouteDeclaration, Args extends unknown[] = []>(
    declaration: D,
    handler: (request: Request, session: RouteSession<Schemas, D>, ...args: Args) => Response | Promise<Response>,
  ): (request: Request, ...args: Args) => Promise<Response>;

  /**
   * Mounts a whole route table (`defineRoutes()`) as one Fetch handler: each
   * request goes to its route's handler, served as `route(entry, handler)`;
   * a path of the table under another method is a 405 naming the allowed
   * ones; anything else is `options.notFound` (default: a 404 problem).
   *
   * @example
   * const api = validator.mount(routes, {
   *   addToCart: async (request, session) => { … },
   *   showCart: async (request, session) => Response.json(session.get('cart') ?? []),
   * });
   * http.createServer(toNodeListener(api)).listen(3000);
   */
  mount<T extends { readonly [name: string]: RouteEntry }, Args extends unknown[] = []>(
    routes: T,
    handlers: RouteHandlers<Schemas, T, Args>,
    options?: MountOptions,
  ): (request: Request, ...args: Args) => Promise<Response>;

  /**
   * Stops the validator's background work: the retried releases of claims
   * whose attempts ended while the store was down (each would otherwise stop
   * at its lease's end, and none keeps the process alive). Call it before
   * closing the store; the store stays yours to close.
   * @example
   * validator.close();
   * await store.close();
   */
  close(): void;
}

function routeKeys(declaration: RouteDeclaration): RouteKeys {
  if (!declaration || typeof declaration !== 'object') throw new TypeError('validator.route(declaration, handler): declaration must be an object');
  const list = (name: 'reads' | 'writes') => {
    const keys = declaration[name] ?? [];
    if (!Array.isArray(keys)) throw new TypeError(`validator.route(): ${name} must be an array of key names`);
    for (const key of keys) {
      if (typeof key !== 'string' || key.length === 0) throw new TypeError(`validator.route(): ${name} must hold non-empty strings, got ${JSON.stringify(key)}`);
      if (key.startsWith('\uFEFF')) throw new TypeError(`validator.route(): key ${JSON.stringify(key)} begins with U+FEFF, which the headers cannot carry intact`);
      const fault = unstorable(key);
      if (fault) throw new TypeError(`validator.route(): key ${JSON.stringify(key)} ${fault}; key names must be well-formed text without U+0000`);
    }
    if (new Set(keys).size !== keys.length) throw new TypeError(`validator.route(): ${name} names a key twice`);
    return keys as readonly string[];
  };
  const reads = list('reads');
  const writes = list('writes');
  const both = reads.filter((key) => writes.includes(key));
  if (both.length > 0) throw new TypeError(`validator.route(): ${JSON.stringify(both[0])} is in both reads and writes; list a written key in writes only`);
  for (const flag of ['rotates', 'ends'] as const) {
    if (declaration[flag] !== undefined && typeof declaration[flag] !== 'boolean') throw new TypeError(`validator.route(): ${flag} must be a boolean`);
  }
  const keys: RouteKeys = { reads: new Set(reads), writes: new Set(writes), all: [...reads, ...writes], rotates: declaration.rotates === true, ends: declaration.ends === true };
  // An entry's method and path, for the messages that name the route.
  return typeof declaration.method === 'string' && typeof declaration.path === 'string' ? { ...keys, entry: `${declaration.method} ${declaration.path}` } : keys;
}

/**
 * Creates the server half of session-lanes.
 *
 * @example
 * const validator = createValidator({ store: memoryStore(), keys: { cart: z.array(z.string()) } });
 */
export function createValidator<Schemas extends SchemaMap = Record<never, never>, Context = unknown>(options: ValidatorOptions<Schemas, Context>): Validator<Schemas> {
  const resolved = resolveOptions(options);
  const touches = new TouchThrottle(resolved.touchIntervalMs);
  const claims = new ClaimReleaser(resolved.store, resolved.now, resolved.onEvent);
  const validator: Validator<Schemas> = {
    resolvesIds: resolved.sessionId !== undefined,
    route(declaration: RouteDeclaration, handler: unknown) {
      const keys = routeKeys(declaration);
      const method = checkedMethod(declaration);
      if (typeof handler !== 'function') throw new TypeError('validator.route(declaration, handler): handler must be a function');
      const route = { keys, handler: handler as RouteHandler };
      return (request: Request, ...args: unknown[]) =>
        method && !servedBy(method, request.method) ? Promise.resolve(wrongMethod(method, declaration.path, request)) : serveRequest({ options: resolved, route, request, touches, claims, args });
    },
    mount(routes, handlers, mountOptions) {
      if (!handlers || typeof handlers !== 'object') throw new TypeError('validator.mount(routes, handlers): handlers must be an object with a handler per route');
      // Whatever the build (defineRoutes() leaves its checks out when NODE_ENV is 'production'), and before any entry is
      // mounted, so that a bad table gets the same TypeError in any build.
      checkRoutes(routes);
      const served: Record<string, (request: Request, ...args: unknown[]) => Promise<Response>> = {};
      for (const name of Object.keys(handlers)) if (!Object.hasOwn(routes, name)) throw new TypeError(`validator.mount(): handler ${JSON.stringify(name)} names no route of the table`);
      for (const [name, entry] of Object.entries(routes)) {
        const handler = (handlers as Record<string, unknown>)[name];
        if (typeof handler !== 'function') throw new TypeError(`validator.mount(): route ${JSON.stringify(name)} (${entry.method} ${entry.path}) has no handler`);
        served[name] = validator.route(entry, handler as never) as (request: Request, ...args: unknown[]) => Promise<Response>;
      }
      return mountTable(routes, served, mountOptions) as never;
    },
    close() {
      claims.close();
    },
  } as Validator<Schemas>;
  return validator;
}
