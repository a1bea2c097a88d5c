import { HEADER, IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_MIN_LENGTH } from '../protocol/headers.js';
import { DeclarationSyntaxError, parseKeyVersions, parseStringItem } from '../protocol/versions.js';
import { ProblemError } from './problem-response.js';

/** A route's keys, as `validator.route()` was given them. */
export interface RouteKeys {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
  /** reads then writes, in declaration order: what round trip 1 reads. */
  readonly all: readonly string[];
  /** A login route: it may call `session.rotate()`. A write route for every rule, keys or not. */
  readonly rotates?: boolean;
  /** A logout route: `session.destroy()` without a key list. A write route for every rule. */
  readonly ends?: boolean;
  /** The route table entry's method and path (`POST /api/cart/:sku`), for messages; absent for an inline declaration. */
  readonly entry?: string;
}

/** What a request declared; a version of undefined means blind. */
export interface RequestDeclaration {
  readonly reads: ReadonlyMap<string, number | undefined>;
  readonly writes: ReadonlyMap<string, number | undefined>;
  readonly epoch: string | null;
  readonly idempotencyKey: string | null;
}

const invalid = (header: string, detail: string) => new ProblemError('invalidDeclaration', detail, { header });

/** Reads one header with `parser`; a syntax error is the 400 problem naming the header. */
function parse<T>(headers: Headers, header: string, parser: (header: string, value: string | null) => T): T {
  try {
    return parser(header, headers.get(header));
  } catch (error) {
    if (error instanceof DeclarationSyntaxError) throw invalid(header, error.message);
    throw error;
  }
}

function refuse(header: string, key: string, why: string): never {
  throw invalid(header, `${header} names ${JSON.stringify(key)}, ${why}`);
}

const NOT_A_ROUTE_KEY = 'which is not a key of this route';

/**
 * Reads and checks a request's session headers against its route. Throws a
 * ProblemError: 400 for anything malformed or outside the route, 428 for a
 * write route whose written keys are not all declared.
 */
export function readDeclaration(headers: Headers, route: RouteKeys): RequestDeclaration {
  const readList = parse(headers, HEADER.read, parseKeyVersions);
  const writeList = parse(headers, HEADER.write, parseKeyVersions);
  const epoch = parse(headers, HEADER.epoch, parseStringItem);

  // Loops rather than closures: this runs on every request. The checks and their order are the protocol's.
  const inRoute = (key: string) => route.reads.has(key) || route.writes.has(key);
  for (const { key } of readList) if (!inRoute(key)) refuse(HEADER.read, key, NOT_A_ROUTE_KEY);
  for (const { key } of writeList) if (!inRoute(key)) refuse(HEADER.write, key, NOT_A_ROUTE_KEY);
  for (const { key } of writeList) if (!route.writes.has(key)) refuse(HEADER.write, key, 'which this route only reads');
  const writes = new Map<string, number | undefined>();
  for (const { key, version } of writeList) writes.set(key, version);
  for (const { key } of readList) if (writes.has(key)) refuse(HEADER.read, key, 'which Session-Write also declares (a key written is not also declared read)');

  // Every declared write is one of the route's (checked above): fewer means some are missing.
  if (writes.size < route.writes.size) {
    const missing = [...route.writes].filter((key) => !writes.has(key));
    const named = missing.map((key) => JSON.stringify(key)).join(', ');
    const detail = declaresNothing(headers)
      ? undeclaredRequest(route, named)
      : `This route writes ${named}: declare every written key in Session-Write`;
    throw new ProblemError('declarationRequired', detail, { keys: missing });
  }

  let idempotencyKey: string | null = null;
  if (route.writes.size > 0 || route.rotates || route.ends) {
    idempotencyKey = parse(headers, HEADER.idempotencyKey, parseStringItem);
    if (idempotencyKey === null) throw invalid(HEADER.idempotencyKey, 'A request that declares a write needs an Idempotency-Key');
    if (idempotencyKey.length < IDEMPOTENCY_KEY_MIN_LENGTH || idempotencyKey.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
      throw invalid(
        HEADER.idempotencyKey,
        `Idempotency-Key must be ${IDEMPOTENCY_KEY_MIN_LENGTH} to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters, not ${idempotencyKey.length}`,
      );
    }
  }

  const reads = new Map<string, number | undefined>();
  for (const { key, version } of readList) reads.set(key, version);
  return { reads, writes, epoch, idempotencyKey };
}

/** A request with no session header at all: a plain fetch or curl, not one tagged by the client. */
function declaresNothing(headers: Headers): boolean {
  for (const name of [HEADER.read, HEADER.write, HEADER.epoch, HEADER.idempotencyKey]) if (headers.has(name)) return false;
  return true;
}

/** The 428 detail for a request that declared nothing: the route is known, so the client did not tag the call; the two usual reasons. */
function undeclaredRequest(route: RouteKeys, named: string): string {
  const entry = route.entry ? ` (${route.entry})` : '';
  return (
    `This route${entry} is in the server's route table and writes ${named}, but the request declared nothing (no Session-Write, no Idempotency-Key). ` +
    'Likely causes: the client was created without `routes` (createSessionClient({ routes })), ' +
    `or the call's method and path do not match the route's entry${entry ? ` ${route.entry}` : ''}. ` +
    'Without the client, send Session-Write and Idempotency-Key yourself (PROTOCOL.md)'
  );
}

/** The highest base a request declared: above 0 means it was made from an existing session. */
export function highestBase(declaration: RequestDeclaration): number {
  let highest = 0;
  for (const map of [declaration.reads, declaration.writes]) for (const version of map.values()) highest = Math.max(highest, version ?? 0);
  return highest;
}
