/**
 * Errors of the client: one base class and one subclass per case a caller
 * handles differently. Guards match by `name` too, so that an error that
 * crossed a realm (iframe, worker, structured clone) still matches. The
 * original failure, when there is one, travels in the standard `cause`.
 */

export interface SessionLanesErrorOptions extends ErrorOptions {
  /** The server's answer that caused the error, when there was one (its body may be unread). */
  response?: Response | undefined;
  /** The parsed problem body (RFC 9457), when the answer was a problem. */
  problem?: Record<string, unknown> | undefined;
  /** OutcomeUnknownError: the write's Idempotency-Key. */
  key?: string | undefined;
}

/** Base class of every error the client rejects with (an abort rejects with the standard AbortError instead). */
export class SessionLanesError extends Error {
  override name = 'SessionLanesError';
  /** The server's answer, when there was one. */
  declare readonly response: Response | undefined;
  /** Its problem body, when it was a problem. */
  declare readonly problem: Record<string, unknown> | undefined;
  constructor(message: string, options: SessionLanesErrorOptions = {}) {
    super(message, options);
    Object.assign(this, options);
  }
}

/**
 * 412 stale, not rebuilt: the request was `blind: false` without `rebase`
 * (a body computed from the client's own view), or every allowed retry met
 * another 412. Nothing of it was applied. `problem.keys`
 * holds the current versions (and values) the server reported.
 */
export class ConflictError extends SessionLanesError {
  override name = 'ConflictError';
}

/** 410: the session the request was made for is gone (logout, expiry, another login). Nothing was applied. */
export class SessionEndedError extends SessionLanesError {
  override name = 'SessionEndedError';
}

/**
 * A write was sent, but no answer came before the deadline (network errors,
 * 503 store unavailable, 409 in progress): it may or may not have been
 * applied (the message says "may have been applied"; in Node, when every
 * attempt's connection was refused, it says that nothing was applied). Resending it with the same Idempotency-Key is always safe:
 * `client.fetch(input, { ...init, headers: { 'Idempotency-Key': error.key } })`
 * is answered from the server's record if it was applied, else applies it.
 * `response` is the last answer (409 or 503), if the last attempt had one.
 */
export class OutcomeUnknownError extends SessionLanesError {
  override name = 'OutcomeUnknownError';
  /** The write's Idempotency-Key (without quotes); undefined for a read-only request. */
  declare readonly key: string | undefined;
}

/**
 * A read (GET, HEAD, or a request that writes nothing) could not reach the
 * server: every attempt within the `readDeadline` failed on the network (a
 * server down, no connection), or, in Node, the connection was refused.
 * Nothing was applied. `cause` holds the last failure.
 */
export class UnreachableError extends SessionLanesError {
  override name = 'UnreachableError';
}

/**
 * Whether a fetch failure says that the connection was refused, so that the request never reached a server:
 * Node's fetch (undici) puts the socket's error, code `ECONNREFUSED`, in its `cause`. A browser never says
 * (a refused connection and a lost answer are both a bare TypeError), so there this is always false.
 */
export const connectionRefused = (error: unknown): boolean => (error as { cause?: { code?: unknown } } | null)?.cause?.code === 'ECONNREFUSED';

/**
 * The server refused the request as malformed or never retryable: an invalid
 * declaration (400), a missing one (428), a reused Idempotency-Key (422), a
 * partly committed request (500), an undeclared key (500), a body too large
 * (413). `problem.type` says which. A programming error, or (partly
 * committed) a state to reload.
 */
export class RequestRejectedError extends SessionLanesError {
  override name = 'RequestRejectedError';
}

/** 422: a written value failed its key's schema on the server; `problem.key` and `problem.issues` say how. */
export class InvalidValueError extends SessionLanesError {
  override name = 'InvalidValueError';
}

/** The server's answer broke the protocol (a malformed session header or problem body): nothing is known of the outcome. */
export class InvalidAnswerError extends SessionLanesError {
  override name = 'InvalidAnswerError';
}

const NAMES = ['SessionLanesError', 'ConflictError', 'SessionEndedError', 'OutcomeUnknownError', 'UnreachableError', 'RequestRejectedError', 'InvalidValueError', 'InvalidAnswerError'];

const named = (error: unknown, name: string): boolean => typeof error === 'object' && error !== null && (error as Error).name === name;

/** True for every error of this library, also one from another realm. */
export const isSessionLanesError = (error: unknown): error is SessionLanesError =>
  error instanceof SessionLanesError || NAMES.includes((error as Error | null)?.name as string);
export const isConflictError = (error: unknown): error is ConflictError => named(error, 'ConflictError');
export const isSessionEndedError = (error: unknown): error is SessionEndedError => named(error, 'SessionEndedError');
export const isOutcomeUnknownError = (error: unknown): error is OutcomeUnknownError => named(error, 'OutcomeUnknownError');
export const isUnreachableError = (error: unknown): error is UnreachableError => named(error, 'UnreachableError');
export const isRequestRejectedError = (error: unknown): error is RequestRejectedError => named(error, 'RequestRejectedError');
export const isInvalidValueError = (error: unknown): error is InvalidValueError => named(error, 'InvalidValueError');
export const isInvalidAnswerError = (error: unknown): error is InvalidAnswerError => named(error, 'InvalidAnswerError');
