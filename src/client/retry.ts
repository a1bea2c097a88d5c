/**
 * The retry policy, explicit: which failure is retried, how long to wait.
 *
 * - 'stale' (412): rebuilt with `rebase` or resent when blind, after jittered
 *   backoff, at most `retries` times.
 * - 'busy' (409 in progress, 503 store unavailable, network error): resent
 *   unchanged with the same Idempotency-Key after `Retry-After` (or jittered
 *   backoff), as long as the resend starts before `deadline` ms after the
 *   first send (a read's policy has the client's `readDeadline` here).
 */

export interface RetryPolicy {
  readonly retries: number;
  readonly deadline: number;
  readonly backoff: number;
  readonly maxBackoff: number;
}

/**
 * How long to wait before attempt number `attempt + 1` of this kind, or
 * undefined to give up. `elapsed`: ms since the first send; `retryAfter`: ms
 * the server asked for; `random`: the jitter, in [0, 1).
 */
export function retryDelay(
  policy: RetryPolicy,
  kind: 'stale' | 'busy',
  attempt: number,
  elapsed: number,
  retryAfter?: number,
  random = Math.random(),
): number | undefined {
  // "Full jitter": spreads competing clients apart better than a fixed step.
  const delay = retryAfter ?? random * Math.min(policy.maxBackoff, policy.backoff * 2 ** Math.min(attempt, 30));
  if (kind === 'stale') return attempt < policy.retries ? delay : undefined;
  return elapsed + delay <= policy.deadline ? delay : undefined;
}

/** Retry-After in ms: delta-seconds or an HTTP-date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      if (signal?.aborted) reject(signal.reason);
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}
