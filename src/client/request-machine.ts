/**
 * One request's way through the client, as a small state machine:
 *
 * ```text
 *   queued ──hold──▶ held ──send──▶ sent ──answered──▶ retry ──send──▶ sent …
 *                                            └──answered──▶ settled: done | ended | failed | lost
 *                                                                    | conflict | dropped | exhausted | deadline
 * ```
 *
 * The state is plain, serialisable data changed only by the pure
 * `stepRequest`: it says what to do next (send, wait `delay` ms and resend,
 * rebuild the body first, or settle and why). The client does the effects
 * (lanes, outbox, fetch, cache, sleeping) and turns a settlement into its
 * answer or error. Like the lanes, easy to test, persist and draw.
 */
import type { Answer } from './answer.js';
import type { RetryPolicy } from './retry.js';
import { retryDelay } from './retry.js';

/**
 * How the body of a request comes about, which decides what a 412 does:
 * `rebase`, rebuilt from current values and resent; `blind`, resent unchanged;
 * `static`, computed from the client's own view (a typed conflict at once);
 * `replayed`, an outbox entry resent exactly as it was sent (a 412 drops it).
 */
export type RequestBody = 'rebase' | 'blind' | 'static' | 'replayed';

/** How the body of a call comes about: a replay's as sent; else from its declaration. */
export function requestBody(replayed: boolean, { rebase, blind }: { readonly rebase?: unknown; readonly blind: boolean }): RequestBody {
  if (replayed) return 'replayed';
  if (rebase) return 'rebase';
  return blind ? 'blind' : 'static';
}

/** Why a request waits before its next send. */
export type RetryReason = 'stale' | 'in-progress' | 'unavailable' | 'network';

/**
 * How a request ended: `done` (the answer stands), `ended` (410), `failed`
 * (a problem of ours never retried), `lost` (a network error on a request
 * that is not resent), `conflict` (412 on a static body), `dropped` (412 on
 * a replay), `exhausted` (412 after every allowed retry), `deadline` (no
 * answer that stands before the deadline).
 */
export type Settlement = 'done' | 'ended' | 'failed' | 'lost' | 'conflict' | 'dropped' | 'exhausted' | 'deadline';

export interface RequestState {
  /** Where the request is; a settlement once it has ended (no action changes it any more). */
  readonly phase: 'queued' | 'held' | 'sent' | 'retry' | Settlement;
  readonly body: RequestBody;
  /** A network error or a gateway's answer is resent (a write, GET or HEAD). */
  readonly resendable: boolean;
  /** Sends so far (1 = the first). */
  readonly attempt: number;
  /** 412s met so far, and busy answers or network errors so far. */
  readonly conflicts: number;
  readonly busy: number;
  /** When the first send went out (ms). */
  readonly start: number;
  /** retry: the wait before the next send, its reason, and whether the body is rebuilt first. */
  readonly delay?: number;
  readonly reason?: RetryReason;
  readonly rebuild?: boolean;
}

/** What `stepRequest` reads of an answer (an `Answer` of `readAnswer`); `error`: a problem of ours never retried. */
export type AnswerSummary = Pick<Answer, 'kind' | 'reason' | 'retryAfter'> & { readonly error?: unknown };

export type RequestAction =
  /** Every lane is held (and, for a first write, the first-write lane). */
  | { readonly type: 'hold' }
  /** An attempt goes on the wire at `at` (ms). */
  | { readonly type: 'send'; readonly at: number }
  /**
   * The attempt came back at `at` (ms): with the server's `answer`, or with
   * none (the network failed). `random`, in [0, 1), is the jitter of a retry's backoff.
   */
  | { readonly type: 'answered'; readonly answer: AnswerSummary | undefined; readonly at: number; readonly random: number };

export const initialRequest = (body: RequestBody, resendable: boolean): RequestState => ({ phase: 'queued', body, resendable, attempt: 0, conflicts: 0, busy: 0, start: 0 });

/** The pure transition. An action that does not fit the phase changes nothing (the same state comes back). */
export function stepRequest(state: RequestState, action: RequestAction, policy: RetryPolicy): RequestState {
  const { phase, body, attempt, conflicts, busy, resendable } = state;
  const to = (next: Partial<RequestState>): RequestState => ({ ...state, ...next });
  const retry = (reason: RetryReason, delay: number | undefined, failed: Settlement, counts: Partial<RequestState>) =>
    to(delay === undefined ? { phase: failed } : { phase: 'retry', reason, delay, ...counts });
  const type = action.type;
  if (type === 'hold' && phase === 'queued') return to({ phase: 'held' });
  if (type === 'send' && (phase === 'held' || phase === 'retry')) return to({ phase: 'sent', attempt: attempt + 1, start: attempt ? state.start : action.at });
  if (type === 'answered' && phase === 'sent') {
    const { answer, at, random } = action;
    const kind = answer?.kind;
    // 412: rebuilt (rebase) or resent unchanged (blind), `retries` times at most.
    if (kind === 'stale') {
      if (body === 'static') return to({ phase: 'conflict' });
      if (body === 'replayed') return to({ phase: 'dropped' });
      return retry('stale', retryDelay(policy, 'stale', conflicts, 0, undefined, random), 'exhausted', { conflicts: conflicts + 1, rebuild: body === 'rebase' });
    }
    // 409, 503, no answer, a gateway's error: resent unchanged while the deadline allows, if resendable at all
    // (else no answer is an outcome unknown, and a gateway's error is the answer).
    const resend = answer ? kind === 'busy' && (answer.reason !== 'network' || resendable) : resendable;
    if (resend) return retry(answer?.reason ?? 'network', retryDelay(policy, 'busy', busy, at - state.start, answer?.retryAfter, random), 'deadline', { busy: busy + 1, rebuild: false });
    if (!answer) return to({ phase: 'lost' });
    if (answer.error) return to({ phase: 'failed' });
    return to({ phase: kind === 'busy' ? 'done' : kind! });
  }
  return state;
}
