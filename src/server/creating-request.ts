import { HEADER } from '../protocol/headers.js';
import { parseStringItem } from '../protocol/versions.js';
import { hmacBase64Url } from './encoding.js';
import type { ResolvedOptions } from './options.js';
import { ProblemError, problemResponse } from './problem-response.js';
import type { BeginResult } from './store.js';

/**
 * A session-creating request (a write without a cookie) gets its session id
 * from its Idempotency-Key, so that its resend finds its record on any
 * server. That makes the key worth guarding: it must look random, its resend
 * replays the new session's cookie only for a short window, and the id also
 * depends on the window it was first sent in, so that the same request never
 * gets an id that was issued before (after a logout, an expiry, the end of
 * retention).
 */

/** What a key that creates a session must look like: a UUID does, and the client's keys do. */
export const CREATING_KEY = /^[A-Za-z0-9_-]{22,255}$/;

export function assertCreatingKey(key: string): void {
  if (!CREATING_KEY.test(key)) {
    throw new ProblemError(
      'invalidDeclaration',
      'An Idempotency-Key that creates a session must be 22 to 255 characters of A-Z, a-z, 0-9, "-" and "_", from a cryptographic random source (a UUID is)',
      { header: HEADER.idempotencyKey },
    );
  }
}

/**
 * A creating request's id window: twice its replay window. Looking in the
 * current and the previous id window then finds a record for at least two
 * replay windows after its commit, so a resend just past the replay window
 * always meets its record and the one fixed 410 (R39), wherever in its window
 * the first write came; with one replay window per id window, a first write
 * late in its window was found in neither and ran again as a new session.
 */
export function creatingIdWindowMs(replayWindowMs: number): number {
  return 2 * replayWindowMs;
}

/**
 * The ids a creating request may have: the one of the id window it is in, and the previous id window's (its resend
 * crossed a boundary). `shape` is the store's SessionStore.creatingId, when it has one.
 */
export function creatingIds(
  secret: Uint8Array,
  key: string,
  now: number,
  replayWindowMs: number,
  shape?: (derived: string, key: string) => string,
): { current: string; previous: string } {
  const window = Math.floor(now / creatingIdWindowMs(replayWindowMs));
  const id = (w: number) => {
    const derived = hmacBase64Url(secret, `session-lanes/create\u0000${w}\u0000${key}`);
    return shape ? shape(derived, key) : derived;
  };
  return { current: id(window), previous: id(window - 1) };
}

/** The Session-Epoch a recorded answer carries, and when it was recorded (0 for records older than this field). */
export function recordedSession(answer: string): { epoch: string | null; at: number } {
  const recorded = JSON.parse(answer) as { h: [string, string][]; t?: number };
  const header = recorded.h.find(([name]) => name === HEADER.epoch)?.[1] ?? null;
  let epoch: string | null = null;
  try {
    epoch = parseStringItem(HEADER.epoch, header);
  } catch {
    epoch = null;
  }
  return { epoch, at: recorded.t ?? 0 };
}

/**
 * The one answer to a creating resend outside its window, or after its
 * session's epoch changed: the same bytes whatever the body, so that nobody
 * learns whether a guessed body was the right one, and no Set-Cookie.
 */
export function creatingReplayRefused(): Response {
  const response = problemResponse(
    'sessionEnded',
    'This session-creating request is past its replay window, or its session changed since; start again with a new Idempotency-Key',
  );
  response.headers.set('vary', 'Cookie');
  response.headers.set(HEADER.epoch, '""');
  return response;
}

/** The store calls a creating request's claim makes, on the session id it names. */
export interface ClaimCalls {
  begin(sessionId: string): Promise<BeginResult>;
  release(sessionId: string): Promise<void>;
}

/**
 * A creating request's claim, once round trip 1 claimed or found its key:
 * its record may be under the previous window's id instead of the current
 * one (a resend across a window boundary). Round trip 1 asked the store to
 * look there too (`claim.alsoUnder`), and a store of contract 2 answers for
 * the id it found the key under (`answeredFor`): nothing more to ask. A
 * store of contract 1 looked under the current id only: a fresh claim then
 * looks under the previous id with a second begin and keeps the one that
 * found something, releasing the other. It replays only within
 * replayWindowMs of its commit and only while its session keeps the epoch
 * it was created with; otherwise, right body or wrong, one fixed 410.
 */
export async function creatingClaim(
  options: Pick<ResolvedOptions, 'now' | 'replayWindowMs'>,
  ids: { current: string; previous: string },
  begun: BeginResult,
  calls: ClaimCalls,
): Promise<{ sessionId: string; begun: BeginResult } | Response> {
  let sessionId = begun.answeredFor ?? ids.current;
  if (begun.answeredFor === undefined && begun.claim?.status === 'claimed') {
    const earlier = await calls.begin(ids.previous);
    if (earlier.claim?.status === 'claimed') {
      await calls.release(ids.previous);
    } else {
      await calls.release(ids.current);
      begun = earlier;
      sessionId = ids.previous;
    }
  }
  const outcome = begun.claim;
  // Within the replay window of its commit, while its session keeps the epoch it was created with.
  const replayable = (answer: string) => {
    const recorded = recordedSession(answer);
    return options.now() - recorded.at <= options.replayWindowMs && begun.session !== null && begun.session.epoch === recorded.epoch;
  };
  if (outcome?.status === 'replay' && !replayable(outcome.answer)) return creatingReplayRefused();
  if (outcome?.status === 'mismatch') {
    // A wrong body is 422 only where the right one would replay; a record still in flight (no answer yet) is
    // judged by its session alone, and a store that does not return the answer by the id window it was found in.
    const replayableHere = outcome.answer === undefined ? sessionId === ids.current && begun.session !== null : replayable(outcome.answer);
    if (!replayableHere) return creatingReplayRefused();
  }
  return { sessionId, begun };
}
