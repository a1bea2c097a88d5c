import { HEADER, IDEMPOTENCY_KEY_MAX_LENGTH, IDEMPOTENCY_KEY_MIN_LENGTH } from '../protocol/headers.js';
import { DeclarationSyntaxError, parseKeyVersions, parseStringItem, type KeyVersion } from '../protocol/versions.js';
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
}

/** What a request declared; a version of undefined means blind. */
export interface RequestDeclaration {
  readonly reads: ReadonlyMap<string, number | undefined>;
  readonly writes: ReadonlyMap<string, number | undefined>;
  readonly epoch: string | null;
  readonly idempotencyKey: string | null;
}

const invalid = (header: string, detail: string) => new ProblemError('invalidDeclaration', detail, { header });

function parse<T>(header: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DeclarationSyntaxError) throw invalid(header, error.message);
    throw error;
  }
}

/**
 * Reads and checks a request's session headers against its route. Throws a
 * ProblemError: 400 for anything malformed or outside the route, 428 for a
 * write route whose written keys are not all declared.
 */
export function readDeclaration(headers: Headers, route: RouteKeys): RequestDeclaration {
  const reads = parse(HEADER.read, () => parseKeyVersions(HEADER.read, headers.get(HEADER.read)));
  const writes = parse(HEADER.write, () => parseKeyVersions(HEADER.write, headers.get(HEADER.write)));
  const epoch = parse(HEADER.epoch, () => parseStringItem(HEADER.epoch, headers.get(HEADER.epoch)));

  const check = (header: string, members: KeyVersion[], allowed: (key: string) => boolean, why: string) => {
    for (const { key } of members) if (!allowed(key)) throw invalid(header, `${header} names ${JSON.stringify(key)}, ${why}`);
  };
  check(HEADER.read, reads, (key) => route.reads.has(key) || route.writes.has(key), 'which is not a key of this route');
  check(HEADER.write, writes, (key) => route.reads.has(key) || route.writes.has(key), 'which is not a key of this route');
  check(HEADER.write, writes, (key) => route.writes.has(key), 'which this route only reads');
  const written = new Set(writes.map((member) => member.key));
  check(HEADER.read, reads, (key) => !written.has(key), 'which Session-Write also declares (a key written is not also declared read)');

  const missing = [...route.writes].filter((key) => !written.has(key));
  if (route.writes.size > 0 && missing.length > 0) {
    throw new ProblemError('declarationRequired', `This route writes ${missing.map((key) => JSON.stringify(key)).join(', ')}: declare every written key in Session-Write`, {
      keys: missing,
    });
  }

  let idempotencyKey: string | null = null;
  if (route.writes.size > 0 || route.rotates || route.ends) {
    idempotencyKey = parse(HEADER.idempotencyKey, () => parseStringItem(HEADER.idempotencyKey, headers.get(HEADER.idempotencyKey)));
    if (idempotencyKey === null) throw invalid(HEADER.idempotencyKey, 'A request that declares a write needs an Idempotency-Key');
    if (idempotencyKey.length < IDEMPOTENCY_KEY_MIN_LENGTH || idempotencyKey.length > IDEMPOTENCY_KEY_MAX_LENGTH) {
      throw invalid(
        HEADER.idempotencyKey,
        `Idempotency-Key must be ${IDEMPOTENCY_KEY_MIN_LENGTH} to ${IDEMPOTENCY_KEY_MAX_LENGTH} characters, not ${idempotencyKey.length}`,
      );
    }
  }

  const toMap = (members: KeyVersion[]) => new Map(members.map(({ key, version }) => [key, version] as const));
  return { reads: toMap(reads), writes: toMap(writes), epoch, idempotencyKey };
}

/** The highest base a request declared: above 0 means it was made from an existing session. */
export function highestBase(declaration: RequestDeclaration): number {
  let highest = 0;
  for (const map of [declaration.reads, declaration.writes]) for (const version of map.values()) highest = Math.max(highest, version ?? 0);
  return highest;
}
