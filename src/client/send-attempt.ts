/**
 * One attempt on the wire. A network failure is returned, to be judged by
 * the request machine; an abort and the caller's own invalid request (a bad
 * URL, a GET with a body) are thrown, as fetch throws them.
 */
import { isRequest } from './request-input.js';

export interface Attempt {
  /** The server's answer, or undefined when the attempt failed. */
  readonly response: Response | undefined;
  /** What fetch threw, when it threw. */
  readonly failure: unknown;
}

export async function sendAttempt(fetch: typeof globalThis.fetch, input: RequestInfo | URL, sent: RequestInit, signal: AbortSignal | null | undefined): Promise<Attempt> {
  // A Request input is consumed by each fetch: every attempt sends a copy.
  const target = () => (isRequest(input) ? input.clone() : input);
  try {
    // Headers of its own for each attempt, copied from what was built before any fetch saw them: a fetch that
    // adds to the Headers it is given (fetch-cookie appends its Cookie) would otherwise add again on a resend.
    return { response: await fetch(target(), { ...sent, headers: new Headers(sent.headers) }), failure: undefined };
  } catch (failure) {
    // Aborted in flight: the standard AbortError; the outcome is unknown and it is not replayed.
    if (signal?.aborted) throw failure;
    // An invalid request throws its own TypeError here: the caller's error, not the network's.
    new Request(target(), sent);
    return { response: undefined, failure };
  }
}
