import { SessionCommitError } from '../errors.js';
import { problemResponse } from '../problem-response.js';
import { recordAnswer } from '../recorded-answer.js';
import type { CommitResult } from '../store.js';
import { askOutcome } from '../unknown-commit.js';
import { planCommit, type PlannedCommit } from './commit-input.js';
import { decideCommitResult, decideOutcome } from './decide-commit.js';
import { claimGone, committed } from './ledger.js';
import { decorate, releaseClaim, sessionHeaders, type RequestRun } from './scope.js';

/**
 * Round trip 2, carried out: plans the commit (commit-input.ts), sends it (through a blip), and moves the
 * ledger on as decideCommitResult says. Returns the answer to send ('done'); throws SessionCommitError when
 * nothing applied.
 */
export async function commit(run: RequestRun, changes: Map<string, string | null>, destroy: boolean, state: 'done' | 'partial', response: Response | null): Promise<Response | null> {
  const plan = await planCommit(run, changes, destroy, state, response);
  let result: CommitResult | 'applied';
  try {
    result = await sendThroughBlip(run, plan, state);
  } catch (error) {
    // The outcome is unknown. Safe: release() only ever deletes this attempt's pending claim, never a record this
    // commit may have written; and a commit of it that lands late is stale against the resend (claim-release.ts).
    await releaseClaim(run);
    const failure = new SessionCommitError('unavailable', undefined, { cause: error });
    if (!run.ledger.partial) run.ledger = claimGone(run.ledger, failure);
    throw failure;
  }
  const { partial, claim } = run.ledger;
  const decision = decideCommitResult(result, { rotation: plan.rotation, retried: false, partial, claimed: claim !== null, nextVersions: plan.nextVersions });
  switch (decision.kind) {
    case 'occupied':
      run.ledger = claimGone(run.ledger); // the store released it
      throw new TypeError(
        `session.rotate({ id }): the id the app gave already holds a session (or one rotated away from it); nothing was applied. Rotate to a fresh id, such as the one express-session's regenerate() gives`,
      );
    case 'failed':
    case 'ask-outcome': {
      const failure = decision.kind === 'failed' && decision.reason === 'stale' ? new SessionCommitError('stale', decision.entries) : new SessionCommitError('gone');
      if (decision.kind === 'failed' && decision.claimLost) run.ledger = claimGone(run.ledger, failure); // the store released it
      throw failure;
    }
    case 'committed':
      run.tracker!.rebase(changes, decision.versions);
      run.ledger = committed(run.ledger, plan.rotation?.sessionId ?? run.ledger.sessionId, plan.epoch, plan.cookie);
      run.tracker!.epoch = plan.epoch;
      return plan.toSend;
  }
}

/**
 * Sends the commit; if a final commit fails with an unknown outcome, asks what became of it once the blip is
 * over (decideOutcome): applied, it stands as committed; not applied, it is sent once more, unchanged; and if
 * that second one meets the id rotated away, asks again, for the first may have landed meanwhile.
 */
async function sendThroughBlip(run: RequestRun, plan: PlannedCommit, state: 'done' | 'partial'): Promise<CommitResult | 'applied'> {
  const { options } = run;
  try {
    return await options.store.commit(plan.input);
  } catch (error) {
    options.onEvent({ type: 'store-error', error, url: run.request.url, phase: 'commit' });
    const { claim, partial, sessionId } = run.ledger;
    if (state !== 'done' || partial || !claim) throw error;
    const asked = { key: claim.key, fingerprint: run.fingerprint, leaseMs: options.leaseMs, token: claim.token };
    const outcome = decideOutcome(await askOutcome(options.store, sessionId, asked, options.now), claim.key, plan.rotation);
    if (outcome === 'applied') return 'applied';
    if (outcome === 'unknown') throw error;
    let again: CommitResult;
    try {
      again = await options.store.commit({ ...plan.input, now: options.now() });
    } catch (failure) {
      options.onEvent({ type: 'store-error', error: failure, url: run.request.url, phase: 'commit' });
      throw failure;
    }
    const retried = decideCommitResult(again, { rotation: plan.rotation, retried: true, partial, claimed: true, nextVersions: plan.nextVersions });
    if (retried.kind === 'ask-outcome' && decideOutcome(await askOutcome(options.store, sessionId, asked, options.now), claim.key, plan.rotation) === 'applied') return 'applied';
    return again;
  }
}

/** The partly-committed answer, recorded as the request's final answer (best effort: the partial record already holds it). */
export async function partlyCommitted(run: RequestRun, detail: string): Promise<Response> {
  const { options, ledger } = run;
  const problem = problemResponse('partlyCommitted', `${detail}; the part committed earlier stays applied, and the request must not be retried`);
  if (!ledger.claim) return decorate(run, problem);
  const { answer, response: toSend } = await recordAnswer(problem, sessionHeaders(run, problem), options.maxRecordedAnswerBytes, options.now());
  try {
    await options.store.commit({
      sessionId: ledger.sessionId,
      session: { mode: 'existing', epoch: ledger.epoch },
      expect: new Map(),
      changes: new Map(),
      destroy: false,
      record: { key: ledger.claim.key, fingerprint: run.fingerprint, answer, state: 'done', retentionMs: options.retentionMs, leaseMs: options.leaseMs, token: ledger.claim.token },
      idleTtlMs: options.idleTimeoutMs,
      now: options.now(),
    });
  } catch (error) {
    options.onEvent({ type: 'store-error', error, url: run.request.url, phase: 'commit' });
  }
  return toSend;
}
