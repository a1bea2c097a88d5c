/**
 * What becomes of a write left by a tab that is gone, as the outbox hands it
 * over (outbox.ts): replayed as it was sent, sent as it was queued, or
 * dropped with its reason.
 *
 * The outbox is no persistence vector: an entry is replayed only if this
 * client could have written it. That is judged from what the client stored
 * with it, never from session headers (a write never sent has none yet): its
 * headers [name, value] pairs of the allowlist; its declaration a write; and
 * with a table, a write route of it; without one, same origin and a write
 * method.
 */
import { isWrite, type ResolvedDeclaration, type ResolvedOptions } from './options.js';
import { orphanFate, storedHeader } from './outbox.js';
import type { PendingWrite } from './pending.js';
import type { SessionDeclaration } from './declaration.js';

const WRITE_METHOD = /^(POST|PUT|PATCH|DELETE)$/;

/** Why an orphan is not sent: never sent and built by `rebase`, too old, or not one this client could have written. */
export type DropReason = 'rebase' | 'expired' | 'invalid';

type Rules = Pick<ResolvedOptions, 'tag' | 'outboxHeaders' | 'maxAge'>;

function permitted(entry: PendingWrite, route: SessionDeclaration | undefined, { tag, outboxHeaders }: Rules): boolean {
  const { input, init } = entry;
  const headersAllowed = (init.headers as string[][]).every((pair) => pair.length === 2 && storedHeader(pair[0]!, outboxHeaders));
  if (!headersAllowed || !isWrite(entry)) return false;
  if (tag) return route !== undefined && isWrite(route);
  const sameOrigin = !globalThis.location || new URL(input as string).origin === location.origin;
  return sameOrigin && WRITE_METHOD.test(init.method!);
}

/**
 * The outbox's `adopt` callback: each orphan is dropped (`drop`, with its reason) or run (`send`, with the
 * declaration it goes out with: its own, stored with it).
 */
export const orphanHandler =
  (rules: Rules, drop: (reason: DropReason, entry: PendingWrite) => Promise<unknown>, send: (entry: PendingWrite, declaration: ResolvedDeclaration) => Promise<unknown>) =>
  (entry: PendingWrite): Promise<unknown> => {
    // Marked invalid by the outbox (not well formed): it has none of a pending write's fields to judge.
    const malformed = (entry as { invalid?: true }).invalid === true;
    const route = malformed ? undefined : rules.tag?.(entry.input, { method: entry.init.method! });
    const fate = !malformed && permitted(entry, route, rules) ? orphanFate(entry, Date.now(), rules.maxAge) : 'invalid';
    if (fate !== 'send' && fate !== 'replay') return drop(fate, entry);
    // The entry is its own declaration (an entry of 0.1.0, which lacks rotates and ends, takes its route's). No
    // rebase: a never-sent one that needed it is dropped above, and a replay is sent as it was.
    const { reads, writes, blind, rotates = route?.rotates, ends = route?.ends } = entry;
    return send(entry, { reads, writes, blind, rotates, ends });
  };
