/**
 * What one attempt of a request sends: the caller's init with the session
 * headers, the bases taken from the version cache at that moment (the lanes
 * held), and for a `rebase` write the body rebuilt from the values at those
 * bases.
 */
import { HEADER } from '../protocol/headers.js';
import { serializeKey, serializeMembers, type Member } from './codec.js';
import type { ResolvedDeclaration } from './options.js';
import type { VersionCache } from './version-cache.js';

/** One call as the client runs it: fetch's arguments without `session`, its declaration, and a write's Idempotency-Key. */
export interface Call {
  readonly input: RequestInfo | URL;
  readonly init: RequestInit;
  readonly declaration: ResolvedDeclaration;
  readonly key: string | undefined;
}

/** The init of the next attempt, sent with `epoch` (undefined: none known). */
export async function buildRequest(cache: Pick<VersionCache, 'get'>, { input, init, declaration, key }: Call, epoch: string | undefined): Promise<RequestInit> {
  const { reads, writes, blind, rebase } = declaration;
  // No prototype: a session key may be named "__proto__".
  const current: Record<string, unknown> = Object.create(null);
  const member = (name: string): Member => {
    const known = cache.get(name);
    if (blind) return [name];
    if (!rebase) return [name, known?.version ?? 0];
    // Never a newer version with an older value: when the value at the latest version is unknown, base 0 (a 412 brings it).
    if (!known?.known) return [name, 0];
    if ('value' in known) current[name] = structuredClone(known.value);
    return [name, known.version];
  };
  const headers = new Headers(init.headers ?? (input as Partial<Request>).headers);
  if (reads.length) headers.set(HEADER.read, serializeMembers(reads.map(member)));
  if (writes.length) headers.set(HEADER.write, serializeMembers(writes.map(member)));
  if (epoch) headers.set(HEADER.epoch, serializeKey(epoch));
  if (key) headers.set(HEADER.idempotencyKey, `"${key}"`);
  let body = init.body;
  if (rebase) {
    const result = await rebase(current);
    if (Object(result) !== result) throw new TypeError('session.rebase must return { body }');
    // Its body only, never init's: no body is null.
    body = result.body ?? null;
  }
  return { ...init, headers, ...(body === undefined ? {} : { body }) };
}
