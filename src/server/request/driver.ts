import { creatingClaim } from '../creating-request.js';
import { onNodePath } from '../buffered-body.js';
import { readDeclaration } from '../declarations.js';
import { randomToken } from '../encoding.js';
import type { SessionCommitError } from '../errors.js';
import { realResponse } from '../held-response.js';
import { ProblemError, problemResponse } from '../problem-response.js';
import { replayAnswer } from '../recorded-answer.js';
import { readBody, requestFingerprint } from '../request-body.js';
import { tombstoneReplay } from '../rotation.js';
import { clearedCookie } from '../session-cookie.js';
import { identify } from '../session-identity.js';
import type { IdempotencyClaim } from '../store.js';
import { SessionTracker } from '../tracked-session.js';
import { begin } from './begin-call.js';
import { commit, partlyCommitted } from './commit-call.js';
import { decideBegin, decideTombstone, type BeginDecision } from './decide-begin.js';
import { commitFailureAnswer, decideAfterHandler, decideFinalCommitFailure, type HandlerDecision, type HandlerFailure } from './decide-handler.js';
import { decideIdentity } from './decide-identity.js';
import { begun as begunLedger, withCookie, withEpoch } from './ledger.js';
import { decorate, problem, releaseAt, releaseClaim, staleAnswer, startRun, storeFailure, type RequestDeps, type RequestRun } from './scope.js';

/**
 * Serves one request of one route: the seven commit steps of PROTOCOL.md. This file only carries decisions
 * out: the identity's (decide-identity.ts), round trip 1's (decide-begin.ts), the handler's
 * (decide-handler.ts) and round trip 2's (decide-commit.ts, through commit-call.ts).
 */
export async function serveRequest(deps: RequestDeps): Promise<Response> {
  const run = startRun(deps);
  try {
    return await beforeHandler(run);
  } catch (error) {
    if (error instanceof ProblemError) return problem(run, error);
    run.options.onEvent({ type: 'handler-error', error, url: run.request.url });
    if (run.ledger.partial) {
      const detail = 'The request failed after a mid-request commit';
      return deliver(run, await partlyCommitted(run, detail).catch(() => problemResponse('partlyCommitted', detail)));
    }
    await releaseClaim(run);
    return decorate(run, problemResponse('handlerFailed', 'The request failed unexpectedly; nothing was committed'));
  }
}

/** Steps 1–2: the declaration, the identity, round trip 1 and what it decides. */
async function beforeHandler(run: RequestRun): Promise<Response> {
  const { request, options, route } = run;
  const declaration = readDeclaration(request.headers, route.keys);
  run.declaration = declaration;
  let body: Uint8Array | null = null;
  if (run.writes) {
    ({ body, handlerRequest: run.handlerRequest } = await readBody(request, options.maxBodyBytes));
    run.fingerprint = requestFingerprint(request, body);
  }

  const identity = await identify(options, request, declaration, run.writes, run.args[0]);
  const who = decideIdentity(identity, run.writes);
  if (who.kind === 'refuse') {
    if (who.clearCookie) run.ledger = withCookie(run.ledger, clearedCookie(options.cookie, request, who.clearCookie));
    throw new ProblemError('sessionEnded', who.detail);
  }
  if (who.kind === 'visitor' || identity.kind !== 'session') {
    for (const key of route.keys.all) run.entries.set(key, { version: 0 });
    return runHandler(run);
  }
  run.cookieName = identity.cookieName;
  run.migrating = identity.migrate === true && run.writes;

  const claim: IdempotencyClaim | undefined =
    declaration.idempotencyKey !== null && body !== null
      ? {
          key: declaration.idempotencyKey,
          fingerprint: run.fingerprint,
          leaseMs: options.leaseMs,
          token: randomToken(16),
          // A creating request's one begin also looks under the previous id window's id (store contract 2).
          ...(identity.previousId !== undefined ? { alsoUnder: identity.previousId } : {}),
        }
      : undefined;
  if (claim && identity.previousId && options.store.admitSession && !(await options.store.admitSession(options.now()))) {
    throw new ProblemError('storeUnavailable', 'The session store admits no new sessions now (it is nearly full); existing sessions are served');
  }
  let sessionId = identity.id;
  let begun = await begin(run, claim, sessionId);
  if (claim && identity.creates && identity.previousId) {
    const calls = { begin: (id: string) => begin(run, claim, id), release: (id: string) => releaseAt(run, { sessionId: id, key: claim.key, token: claim.token }) };
    const creating = await creatingClaim(options, { current: sessionId, previous: identity.previousId }, begun, calls);
    if (creating instanceof Response) return creating;
    ({ sessionId, begun } = creating);
  }

  let decision: BeginDecision = decideBegin({ declaration, writes: run.writes, claimed: claim !== undefined, identity, appIds: options.sessionId !== undefined, begun });
  if (decision.kind === 'ask-tombstone') {
    const { tombstone } = decision;
    const replayed = await tombstoneReplay(options, begun, claim, (claimed) => releaseAt(run, claimed)).catch((error: unknown) => {
      throw storeFailure(run, error, 'begin');
    });
    decision = decideTombstone({ replayed, tombstone, now: options.now(), declaredEpoch: declaration.epoch });
  }
  for (const key of route.keys.all) run.entries.set(key, begun.entries.get(key) ?? { version: 0 });
  const held = claim && begun.claim?.status === 'claimed' ? { sessionId, key: claim.key, token: claim.token } : null;
  run.ledger = begunLedger(run.ledger, sessionId, 'existing', begun.session?.epoch ?? '', held);
  switch (decision.kind) {
    case 'ask-tombstone':
      throw new TypeError('unreachable: the tombstone was asked');
    case 'replay':
      return deliver(run, replayAnswer(decision.answer));
    case 'in-flight': {
      // Retry soon, not at the end of the lease: the first attempt usually finishes in far less.
      const seconds = Math.max(1, Math.min(options.retryAfterSeconds, Math.ceil(decision.retryAfterMs / 1000)));
      const answer = problemResponse('inProgress', 'A request with this Idempotency-Key is still being processed; resend it unchanged later', {}, { 'retry-after': String(seconds) });
      return decorate(run, answer);
    }
    case 'refuse':
      if (decision.release) await releaseClaim(run);
      run.ledger = withEpoch(run.ledger, decision.epoch);
      if (decision.clearCookie) run.ledger = withCookie(run.ledger, clearedCookie(options.cookie, request, run.cookieName));
      throw new ProblemError(decision.problem, decision.detail);
    case 'stale':
      await releaseClaim(run);
      run.ledger = withEpoch(run.ledger, decision.epoch);
      return staleAnswer(run, run.entries, decision.why);
    case 'run':
      run.ledger = begunLedger(run.ledger, sessionId, decision.mode, decision.epoch, held);
      return runHandler(run);
  }
}

/** Steps 3–6: the handler, then what it decides. */
async function runHandler(run: RequestRun): Promise<Response> {
  const { options, route } = run;
  const tracker = new SessionTracker(run.entries, route.keys, run.writes, options.schemas, run.ledger.epoch, () => commitMidRequest(run), options.sessionId !== undefined);
  run.tracker = tracker;
  let response: Response | null = null;
  let outcome: Parameters<typeof decideAfterHandler>[0]['outcome'];
  try {
    response = await route.handler(run.handlerRequest, tracker.session(), ...run.args);
    if (!(response instanceof Response)) throw new TypeError('The route handler must return a Response');
    outcome = { kind: 'answered', status: response.status };
  } catch (error) {
    outcome = { kind: 'threw', error };
  }
  const hasWork = run.writes && (tracker.changes().size > 0 || tracker.destroyed || tracker.rotation !== null || run.migrating);
  const decision = decideAfterHandler({ outcome, partial: run.ledger.partial, hasWork, claimLost: run.ledger.claimLost }, options.serverOnly);
  return afterHandler(run, decision, response);
}

async function afterHandler(run: RequestRun, decision: HandlerDecision, response: Response | null): Promise<Response> {
  switch (decision.kind) {
    case 'answer':
      await releaseClaim(run);
      return decorate(run, response!);
    case 'fail':
      await releaseClaim(run);
      return failureAnswer(run, decision.failure);
    case 'partly-committed':
      if ('report' in decision) run.options.onEvent({ type: 'handler-error', error: decision.report, url: run.request.url });
      return deliver(run, await partlyCommitted(run, decision.detail));
    case 'commit': {
      const tracker = run.tracker!;
      const result = await commit(run, tracker.changes(), tracker.destroyed, 'done', response).catch((error: unknown) => error);
      if (result instanceof Response) return deliver(run, result);
      if (isCommitError(result)) return afterHandler(run, decideFinalCommitFailure(result, run.ledger.partial), response);
      throw result;
    }
  }
}

/** A recorded answer (held as bytes) goes back as it is only to the Node adapter, which writes it; the Fetch API entry answers with a real Response. */
function deliver(run: RequestRun, answer: Response): Response {
  return onNodePath(run.request) ? answer : realResponse(answer);
}

function isCommitError(error: unknown): error is SessionCommitError {
  return error instanceof Error && error.name === 'SessionCommitError';
}

function failureAnswer(run: RequestRun, failure: HandlerFailure): Response {
  if (failure.kind === 'problem') {
    if ('report' in failure) run.options.onEvent({ type: 'handler-error', error: failure.report, url: run.request.url });
    return decorate(run, problemResponse(failure.problem, failure.detail, failure.extensions));
  }
  const error = failure.error;
  const answer = commitFailureAnswer(error.reason);
  if (answer.kind === 'stale') {
    const entries = new Map(run.entries);
    for (const [key, entry] of error.entries ?? []) entries.set(key, entry);
    return staleAnswer(run, entries, 'A key changed while the request ran');
  }
  if ('epoch' in answer) run.ledger = withEpoch(run.ledger, answer.epoch);
  return problem(run, new ProblemError(answer.problem, answer.detail));
}

/** `session.commit()` inside the handler: queued behind the earlier ones. */
function commitMidRequest(run: RequestRun): Promise<void> {
  const next = run.commits.then(async () => {
    const tracker = run.tracker!;
    // The claim is gone with an earlier failed commit: committing now would leave no record, and a resend would apply it again.
    if (run.ledger.claimLost) throw run.ledger.claimLost;
    // A destroy ends the request's session: only the final commit applies it, with the answer recorded.
    if (tracker.destroyed) return;
    const changes = tracker.changes();
    if (!run.writes || changes.size === 0) return;
    await commit(run, changes, false, 'partial', null);
  });
  run.commits = next.catch(() => {});
  return next;
}
