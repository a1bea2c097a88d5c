import type { BeginResult, IdempotencyClaim } from '../store.js';
import { throughBlip } from '../unknown-commit.js';
import { releaseAt, storeFailure, type RequestRun } from './scope.js';

/**
 * Round trip 1 on `sessionId`: read the route's keys and claim the key, touching the session when due. An
 * unknown outcome (a connection cut after the store ran the call) is tried again with the same claim token,
 * so that a claim the first call took is found as this attempt's own instead of as a 409; a few times, each
 * after a blip's length (the first at once if only the touch was refused). Every try failing: 503.
 */
export async function begin(run: RequestRun, claim: IdempotencyClaim | undefined, sessionId: string): Promise<BeginResult> {
  const { options } = run;
  const now = options.now();
  // The store touches only a live session, so asking for a session about to be created costs nothing.
  const touch = run.touches.due(sessionId, now) ? { idleTtlMs: options.idleTimeoutMs } : undefined;
  const input = { sessionId, keys: run.route.keys.all, now, ...(claim ? { claim } : {}) };
  if (claim && run.leaseEndsAt === 0) run.leaseEndsAt = now + claim.leaseMs;
  try {
    const result = await options.store.begin(touch ? { ...input, touch } : input);
    if (touch) run.touches.done(sessionId, now);
    run.claims.storeAnswered();
    // The claim in the way may be an attempt of this process that ended while the store was down: released now, the key is ours.
    if (claim && result.claim?.status === 'in-flight' && (await run.claims.releaseEnded(sessionId, claim.key))) {
      return await options.store.begin({ ...input, now: options.now() });
    }
    return result;
  } catch (error) {
    if (touch) {
      // The touch is what a read-only store refuses; the request must not fail for it.
      options.onEvent({ type: 'touch-failed', error, url: run.request.url });
      run.touches.done(sessionId, now);
    } else {
      options.onEvent({ type: 'store-error', error, url: run.request.url, phase: 'begin' });
    }
    try {
      return await throughBlip(() => options.store.begin({ ...input, now: options.now() }), touch !== undefined);
    } catch (retryError) {
      if (claim) await releaseAt(run, { sessionId, key: claim.key, token: claim.token });
      throw storeFailure(run, retryError, 'begin');
    }
  }
}
