/**
 * What a request says about the session: the keys it reads and writes, and
 * how its body is built. Types only, shared by the options, the route table
 * tagger and the client.
 */

/** A key name of `Keys`; any string when the keys are not typed. */
export type KeyName<Keys extends object> = [keyof Keys] extends [never] ? string : keyof Keys & string;

/** The values `rebase` is given: each key's value at the base the request sends; absent when unknown or absent. */
export type CurrentValues<Keys extends object = Record<string, unknown>> = [keyof Keys] extends [never]
  ? { readonly [key: string]: unknown }
  : { readonly [K in keyof Keys]?: Keys[K] };

/**
 * The session part of a request's init; with a route table, only what the
 * call changes (its fields win over the route's, field by field).
 *
 * Three kinds of write: with `rebase`, the body is built from current values
 * at every send; without it, **blind** by default (sent without bases, resent
 * unchanged after a 412: right when the server computes the change);
 * `blind: false` without `rebase` declares the bases the client knows, and a
 * 412 is a `ConflictError` at once (a body computed from the client's view).
 */
export type SessionDeclaration<Keys extends object = Record<string, unknown>> = {
  /** Keys the request reads (shared lanes). @default [] (or the route's) */
  readonly reads?: readonly KeyName<Keys>[];
  /** Keys the request writes (exclusive lanes); a write route needs all its written keys here. @default [] (or the route's) */
  readonly writes?: readonly KeyName<Keys>[];
  /** The request may rotate the session (login): carried for the session-wide lane. @default false (or the route's) */
  readonly rotates?: boolean;
  /** The request ends the session (logout): carried for the session-wide lane. @default false (or the route's) */
  readonly ends?: boolean;
  /**
   * `false`: this write is never stored in the durable outbox (a login that
   * carries a password): nothing of it reaches IndexedDB, and a tab closed
   * or crashed before its answer loses it, as a plain fetch would.
   * @default true; false for a request that `rotates` (a login is not replayed by another tab) (or the route's)
   */
  readonly outbox?: boolean;
} & (
  | {
      /**
       * Builds the body from the values the client knows, at every send (the
       * first, and after each 412). `current[key]` is the value at the version
       * sent as base; undefined when the key is absent or its value unknown
       * (then the base is 0, and a 412 brings the value). Excludes `blind: true`.
       * @example rebase: (current) => ({ body: JSON.stringify([...(current.cart ?? []), 'sku-1']) })
       */
      readonly rebase: (current: CurrentValues<Keys>) => RebaseResult | Promise<RebaseResult>;
      readonly blind?: false;
    }
  | {
      readonly rebase?: undefined;
      /**
       * `true`: the body does not depend on the client's view of the keys: sent
       * without bases, resent unchanged after a 412 (the server's own
       * read-modify-write check still applies). `false`: bases declared, a 412
       * is a `ConflictError` at once.
       * @default true without `rebase` (or the route's `blind`)
       */
      readonly blind?: boolean;
    }
);

/** What `rebase` returns: the body to send this time (absent: no body; init's `body` is never used with `rebase`). */
export interface RebaseResult {
  readonly body?: BodyInit | null;
}

/** fetch's init, plus `session`. */
export interface SessionRequestInit<Keys extends object = Record<string, unknown>> extends RequestInit {
  session?: SessionDeclaration<Keys>;
}
