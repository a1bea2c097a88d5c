import type { RouteKeys } from './declarations.js';
import { unstorable } from './storable-text.js';
import { resolveOptions, type ValidatorOptions } from './options.js';
import { RequestFlow, type RouteHandler } from './request-flow.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { TouchThrottle } from './touch-throttle.js';
import type { SchemaMap, TrackedSession } from './tracked-session.js';

/** Session values as the key schemas type them; keys without a schema hold any JSON. */
export type SessionValues<Schemas extends SchemaMap> = { [K in keyof Schemas]: StandardSchemaV1.InferOutput<Schemas[K]> } & Record<string, unknown>;

/** The keys a route reads and writes. A key is in one list at most. */
export interface RouteDeclaration<Key extends string = string> {
  /** Keys the handler reads but never writes. @default [] */
  reads?: readonly Key[];
  /** Keys the handler may write; every request to the route must declare them all in Session-Write. @default [] */
  writes?: readonly Key[];
}

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
  route<Args extends unknown[] = []>(
    declaration: RouteDeclaration<keyof Schemas & string> | RouteDeclaration,
    handler: (request: Request, session: TrackedSession<SessionValues<Schemas>>, ...args: Args) => Response | Promise<Response>,
  ): (request: Request, ...args: Args) => Promise<Response>;
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
  return { reads: new Set(reads), writes: new Set(writes), all: [...reads, ...writes] };
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
  return {
    resolvesIds: resolved.sessionId !== undefined,
    route(declaration, handler) {
      const keys = routeKeys(declaration);
      if (typeof handler !== 'function') throw new TypeError('validator.route(declaration, handler): handler must be a function');
      const route = { keys, handler: handler as unknown as RouteHandler };
      return (request: Request, ...args: unknown[]) => new RequestFlow(resolved, route, request, touches, args).serve();
    },
  };
}
