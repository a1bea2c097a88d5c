/**
 * The error a request that settled without a standing answer rejects with: one
 * pure function of how it settled (the request machine's phase) and what its
 * attempts met, so that every message is in one place.
 */
import { ConflictError, OutcomeUnknownError, SessionEndedError, UnreachableError, type SessionLanesError } from './errors.js';
import type { Settlement } from './request-machine.js';

export interface SettledRequest {
  readonly phase: Exclude<Settlement, 'done' | 'failed'>;
  /** The last attempt's answer and its problem body, if it had one; else its network failure. */
  readonly response: Response | undefined;
  readonly problem: Record<string, unknown> | undefined;
  readonly failure: unknown;
  /** The write's Idempotency-Key; undefined for a read. */
  readonly key: string | undefined;
  /** Whether any attempt got an answer, and whether any may have reached the server (in a browser, any attempt). */
  readonly answered: boolean;
  readonly reached: boolean;
  /** The deadline that applied (ms): `deadline` for a write, `readDeadline` for a read. */
  readonly deadline: number;
  readonly retries: number;
}

export function settlementError(settled: SettledRequest): SessionLanesError {
  const { phase, response, problem, failure, key, deadline } = settled;
  switch (phase) {
    case 'ended':
      return new SessionEndedError('410: session ended; nothing applied', { response, problem });
    case 'lost':
      if (!settled.reached) return new UnreachableError('The server could not be reached; nothing was sent', { cause: failure });
      return new OutcomeUnknownError('Network failure; not resent (not a write, GET or HEAD)', { cause: failure });
    case 'deadline': {
      // No attempt reached a server (every connection refused), or a read got no answer: nothing was applied.
      if (!settled.reached || (!key && !settled.answered)) {
        const message = `The server could not be reached within ${deadline} ms; nothing was applied`;
        return key ? new OutcomeUnknownError(message, { cause: failure, key }) : new UnreachableError(message, { cause: failure });
      }
      return new OutcomeUnknownError(`No answer within ${deadline} ms; may have been applied`, { cause: failure ?? problem, response, key });
    }
    case 'dropped':
      return new ConflictError('412: a replayed write is stale; not resent', { response, problem });
    case 'conflict':
      return new ConflictError('412: a key moved; blind: false without rebase', { response, problem });
    case 'exhausted':
      return new ConflictError(`412: still stale after ${settled.retries} retries`, { response, problem });
  }
}
