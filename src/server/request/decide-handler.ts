import { InvalidValueError, SessionCommitError, UndeclaredKeyError } from '../errors.js';

/**
 * What a request does once its handler returned or threw (PROTOCOL.md steps
 * 3–5): pure, over whether a mid-request commit already applied part of it,
 * what the handler changed, and whether an earlier failed commit lost the claim.
 */
export interface HandlerFacts {
  /** The handler's result: its answer's status, or what it threw (a non-Response return counts as thrown). */
  readonly outcome: { readonly kind: 'answered'; readonly status: number } | { readonly kind: 'threw'; readonly error: unknown };
  /** A mid-request commit applied part of the request. */
  readonly partial: boolean;
  /** The request has something for the final commit: a change, a destroy, a rotation, or a plain cookie to migrate. */
  readonly hasWork: boolean;
  /** A mid-request commit failed before any part applied: the store released the claim. */
  readonly claimLost: SessionCommitError | null;
}

export type HandlerDecision =
  /** Send the handler's answer with the session headers; the claim goes back (nothing to commit, or a 5xx). */
  | { readonly kind: 'answer'; readonly release: true }
  /** The handler failed before anything applied: release the claim and answer this problem. */
  | { readonly kind: 'fail'; readonly release: true; readonly failure: HandlerFailure }
  /** Part of the request applied earlier: record and answer partly-committed. */
  | { readonly kind: 'partly-committed'; readonly detail: string; readonly report?: unknown }
  /** The final commit: the changes, the destroy, the rotation, and the answer recorded. */
  | { readonly kind: 'commit' };

/** How a handler's failure is answered (session-answers.ts decorates it); a commit failure maps to decideCommitFailure. */
export type HandlerFailure =
  | { readonly kind: 'problem'; readonly problem: 'undeclaredKey' | 'invalidValue' | 'handlerFailed'; readonly detail: string; readonly extensions: Record<string, unknown>; readonly report?: unknown }
  | { readonly kind: 'commit-failed'; readonly error: SessionCommitError };

export function decideAfterHandler(facts: HandlerFacts, serverOnly: ReadonlySet<string>): HandlerDecision {
  const { outcome } = facts;
  if (outcome.kind === 'threw') {
    if (facts.partial) return { kind: 'partly-committed', detail: 'The handler failed after a mid-request commit', report: outcome.error };
    return { kind: 'fail', release: true, failure: handlerFailure(outcome.error, serverOnly) };
  }
  if (outcome.status >= 500) {
    if (facts.partial) return { kind: 'partly-committed', detail: `The handler answered ${outcome.status} after a mid-request commit` };
    return { kind: 'answer', release: true };
  }
  if (!facts.hasWork && !facts.partial) return { kind: 'answer', release: true };
  if (facts.claimLost) return { kind: 'fail', release: true, failure: { kind: 'commit-failed', error: facts.claimLost } };
  return { kind: 'commit' };
}

/** What a handler threw, as the problem it answers. */
export function handlerFailure(error: unknown, serverOnly: ReadonlySet<string>): HandlerFailure {
  if (error instanceof UndeclaredKeyError) return { kind: 'problem', problem: 'undeclaredKey', detail: error.message, extensions: { key: error.key } };
  if (error instanceof InvalidValueError) {
    if (serverOnly.has(error.key)) {
      // A schema's message may quote the value it refused: a server-only key's answer names only where.
      const issues = [{ path: [], message: 'invalid (a server-only key: the path and message are not sent)' }];
      return { kind: 'problem', problem: 'invalidValue', detail: `session.set(${JSON.stringify(error.key)}): the value is invalid`, extensions: { key: error.key, issues } };
    }
    return { kind: 'problem', problem: 'invalidValue', detail: error.message, extensions: { key: error.key, issues: error.issues } };
  }
  if (error instanceof SessionCommitError) return { kind: 'commit-failed', error };
  return { kind: 'problem', problem: 'handlerFailed', detail: 'The route handler threw; nothing was committed', extensions: {}, report: error };
}

/**
 * A final commit that failed: after a mid-request commit applied part of the request, an unknown outcome
 * answers 503 (the store may have recorded the final answer: nothing is recorded over it, a resend replays
 * it), any other failure partly-committed; otherwise the failure's own answer.
 */
export function decideFinalCommitFailure(error: SessionCommitError, partial: boolean): HandlerDecision {
  if (partial && error.reason !== 'unavailable') return { kind: 'partly-committed', detail: 'The final commit failed after a mid-request commit' };
  return { kind: 'fail', release: true, failure: { kind: 'commit-failed', error } };
}

/** How a commit that applied nothing is answered (PROTOCOL.md: a 410 at commit time clears nothing). */
export type CommitFailureAnswer =
  /** 412 with the keys' current state (round trip 1's, moved on by what the store returned). */
  | { readonly kind: 'stale' }
  /**
   * Live in round trip 1, ended while the request ran: by a logout (the next request's 410 clears the dead cookie)
   * or a login (whose answer sets the new one). Clearing here would drop what the browser holds by the time this arrives.
   */
  | { readonly kind: 'problem'; readonly problem: 'sessionEnded'; readonly detail: string; readonly epoch: ''; readonly clearCookie: false }
  | { readonly kind: 'problem'; readonly problem: 'storeUnavailable'; readonly detail: string; readonly clearCookie: false };

export function commitFailureAnswer(reason: SessionCommitError['reason']): CommitFailureAnswer {
  switch (reason) {
    case 'stale':
      return { kind: 'stale' };
    case 'gone':
      return { kind: 'problem', problem: 'sessionEnded', detail: 'The session ended while the request ran; nothing was applied', epoch: '', clearCookie: false };
    case 'unavailable':
      return { kind: 'problem', problem: 'storeUnavailable', detail: 'The session store failed during the commit; nothing was applied, and a resend with the same Idempotency-Key is safe', clearCookie: false };
  }
}
