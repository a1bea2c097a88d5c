import { serializeStringItem } from '../protocol/versions.js';
import { randomToken } from './encoding.js';
import type { ResolvedOptions } from './options.js';
import { sessionCookie } from './session-cookie.js';
import type { BeginResult, IdempotencyClaim, ReleaseInput, RotateInput } from './store.js';

/** What `session.rotate()` asked for, kept until the final commit applies it. */
export interface RotationRequest {
  /** `true`: every key moves; `false` or a list: only the listed keys from before (and what the request changed). */
  readonly keepKeys: boolean | readonly string[];
  /** Under an app's `sessionId()` resolver: the id the app moves the session to. */
  readonly id?: string;
}

/** A rotation about to commit: the store's input, and what its answer says. */
export interface RotationPlan {
  readonly input: RotateInput;
  /** The new cookie; null under a `sessionId()` resolver (the app owns the id). */
  readonly cookie: string | null;
  /** Session-Rotated: the epoch rotated from, and whether the keys came along. */
  readonly header: string;
}

/** The keys a rotation keeps besides every key (`keepKeys: true`): the request's own changes and the app's list. */
export function keptKeys(wanted: RotationRequest, changed: Iterable<string>): readonly string[] | null {
  if (wanted.keepKeys === true) return null;
  return [...new Set([...(wanted.keepKeys === false ? [] : wanted.keepKeys), ...changed])];
}

/** `changed`: the keys the rotating request sets or deletes, which always land in the new session. */
export function planRotation(options: ResolvedOptions, request: Request, sessionId: string, fromEpoch: string, wanted: RotationRequest, changed: Iterable<string>): RotationPlan {
  const newId = wanted.id ?? options.store.rotationId?.(sessionId) ?? randomToken(32);
  if (newId === sessionId) throw new TypeError('session.rotate({ id }): the new id must differ from the current one');
  const kept = keptKeys(wanted, changed);
  return {
    input: { sessionId: newId, epoch: randomToken(16), keepKeys: kept === null, keptKeys: kept ?? [], replayWindowMs: options.replayWindowMs },
    cookie: options.sessionId ? null : sessionCookie(options.cookie, request, newId),
    // Not every key came along: the client starts the new epoch empty and learns the kept ones from Session-Versions.
    header: serializeStringItem(fromEpoch) + (kept === null ? '' : ';keys=?0'),
  };
}

/**
 * A request whose id was rotated away. Only the rotating request's own resend
 * (same Idempotency-Key and fingerprint: its answer was lost, so the browser
 * never got the new cookie) replays its recorded answer, and only within the
 * replay window and while the session still has the epoch it rotated to.
 * Everything else gets 410: null here.
 */
export async function tombstoneReplay(
  options: ResolvedOptions,
  begun: BeginResult,
  claim: IdempotencyClaim | undefined,
  /** Gives back the claim the question took on the moved session (claim-release.ts: retried in the background if the store fails). */
  release: (claim: ReleaseInput) => Promise<void>,
): Promise<string | null> {
  const tombstone = begun.rotated;
  if (!tombstone || !claim || claim.key !== tombstone.recordKey || options.now() >= tombstone.replayUntil) return null;
  const moved = await options.store.begin({ sessionId: tombstone.sessionId, keys: [], claim, now: options.now() });
  if (moved.claim?.status === 'claimed') await release({ sessionId: tombstone.sessionId, key: claim.key, token: claim.token });
  if (moved.session?.epoch !== tombstone.epoch || moved.claim?.status !== 'replay') return null;
  return moved.claim.answer;
}
