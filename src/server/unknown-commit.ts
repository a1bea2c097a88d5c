import type { BeginResult, IdempotencyClaim, SessionStore } from './store.js';

/**
 * Waits about as long as a store blip lasts (a cut connection, a restart,
 * a failover: 100–200 ms), so that a call tried again after it finds the
 * store back instead of failing the request at once.
 */
export function afterBlip(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 100));
}

/** How many times a call is tried through a blip, at most… */
export const BLIP_TRIES = 3;
/** …and no try starts this long after the first: a store that is down for good costs a 503 one try later than before. */
export const BLIP_BUDGET_MS = 600;

/**
 * Tries `call` up to BLIP_TRIES times, each after a blip's length (the first
 * at once when `firstAtOnce`), while BLIP_BUDGET_MS have not passed, so that
 * a store that blinked, and a client that must reconnect to it, are back;
 * the last failure is thrown.
 */
export async function throughBlip<T>(call: () => Promise<T>, firstAtOnce = false): Promise<T> {
  let failure: unknown;
  const started = Date.now();
  for (let attempt = 0; attempt < BLIP_TRIES; attempt++) {
    if (attempt > 0 && Date.now() - started >= BLIP_BUDGET_MS) break;
    if (attempt > 0 || !firstAtOnce) await afterBlip();
    try {
      return await call();
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/**
 * Asks what became of a final commit that failed with an unknown outcome: round trip 1 again, once the blip is
 * over, with the attempt's own claim (same token); null when the store is still down. What the answer means is
 * decideOutcome's (request/decide-commit.ts).
 */
export async function askOutcome(store: SessionStore, sessionId: string, claim: IdempotencyClaim, now: () => number): Promise<BeginResult | null> {
  try {
    return await throughBlip(() => store.begin({ sessionId, keys: [], claim, now: now() }));
  } catch {
    return null;
  }
}
