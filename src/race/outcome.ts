import type { Operation } from './history.js';

/**
 * What an answer tells the checker about a write:
 * - `acknowledged`: a 2xx — the server says it applied the write;
 * - `rejected`: a 4xx other than 409 — the server says it applied nothing;
 * - `indeterminate`: a 5xx, a 409, a 3xx or no answer — it may have applied the write, at most once.
 *
 * A 409 is indeterminate because servers use it both for "refused" and for
 * "an attempt with this idempotency key is still running" (which may apply).
 * A 3xx is indeterminate unless the caller says redirects acknowledge (a
 * post/redirect/get app), since a redirect to a login page applied nothing.
 */
export type Outcome = 'acknowledged' | 'rejected' | 'indeterminate';

export interface OutcomeOptions {
  /**
   * Count a 3xx answer as an acknowledgement (apps that answer a write with a redirect).
   * @default false
   */
  readonly acknowledgeRedirects?: boolean;
}

export function classifyStatus(status: number | undefined, options: OutcomeOptions = {}): Outcome {
  if (status === undefined) return 'indeterminate';
  if (status >= 200 && status < 300) return 'acknowledged';
  if (status >= 300 && status < 400) return options.acknowledgeRedirects === true ? 'acknowledged' : 'indeterminate';
  if (status === 409) return 'indeterminate';
  if (status >= 400 && status < 500) return 'rejected';
  return 'indeterminate';
}

export function classifyOperation(operation: Operation, options: OutcomeOptions = {}): Outcome {
  return classifyStatus(operation.status, options);
}

export function isWrite(operation: Operation): boolean {
  return operation.kind === 'append' || operation.kind === 'increment';
}
