/**
 * Types of the route table: one entry per route, declared once, read by the
 * validator (`validator.route(entry, handler)`) and by the client
 * (`createSessionClient({ routes })`). Types only: no server code, no zod.
 */

/**
 * One route of the app: how a request reaches it, and which session keys it
 * reads and writes.
 *
 * @example
 * { method: 'POST', path: '/api/products/:sku/view', reads: ['prefs'], writes: ['recent'] }
 */
export interface RouteEntry<Key extends string = string> {
  /** The HTTP method, in upper case (`'GET'`, `'POST'`, …). A `GET` route also serves `HEAD`. */
  readonly method: string;
  /**
   * The path pattern, from the client's `base` (on the server: the request's
   * path). Segments are separated by `/`; a segment `:name` matches any one
   * non-empty segment. Case-sensitive; one trailing slash is ignored; segments
   * are compared percent-decoded.
   * @example '/api/products/:sku/view'
   */
  readonly path: string;
  /** Keys the route reads but never writes (shared lanes). @default [] */
  readonly reads?: readonly Key[];
  /** Keys the route may write (exclusive lanes); each request declares them all. @default [] */
  readonly writes?: readonly Key[];
  /** The route may rotate the session (login, a privilege change): it runs alone, in every tab. @default false */
  readonly rotates?: boolean;
  /** The route ends the session (logout): it runs alone, in every tab. @default false */
  readonly ends?: boolean;
  /**
   * How the client sends a write that has no `rebase`: `true` (blind, the
   * default), without bases, resent unchanged after a 412 (the server computes
   * the change: add to cart, increment); `false`, with the bases the client
   * knows, a 412 being a `ConflictError` at once (a body computed from the
   * client's own view). A call's own `session.blind` wins.
   * @default true (false when the call passes `rebase`)
   */
  readonly blind?: boolean;
  /**
   * Whether the browser client stores the route's writes in its durable
   * outbox (IndexedDB) until answered, so that another tab replays them if
   * this one closes. `false` for a route whose body carries a secret. Read by
   * the client only (not part of the table's JSON form); a call's own
   * `session.outbox` wins.
   * @default true; false for a route that `rotates` (a login is not replayed by another tab)
   */
  readonly outbox?: boolean;
}

/** Names a table's key types without a value at run time. */
export declare const sessionKeys: unique symbol;

/**
 * A table made by `defineRoutes()`: route name → entry. `Keys` (session key →
 * value type) is carried for the types of the client and the validator only.
 */
export type RouteTable<Keys extends object = Record<string, unknown>> = { readonly [name: string]: RouteEntry<[keyof Keys] extends [never] ? string : keyof Keys & string> } & {
  readonly [sessionKeys]?: Keys;
};

/** The key types a table was defined with (`Record<string, unknown>` when untyped). */
export type KeysOf<Table> = Table extends { readonly [sessionKeys]?: infer Keys } ? (Keys extends object ? Keys : Record<string, unknown>) : Record<string, unknown>;

/** The members of a key list (never when absent). */
type Members<List> = List extends readonly (infer K)[] ? K : never;

/** The keys an entry reads or writes, as literal types when the table declared them so. */
export type EntryKeys<Entry> = (Entry extends { readonly reads?: infer List } ? Members<List> : never) | EntryWrites<Entry>;

/** The keys an entry writes. */
export type EntryWrites<Entry> = Entry extends { readonly writes?: infer List } ? Members<List> : never;
