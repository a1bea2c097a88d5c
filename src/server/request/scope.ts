import type { ClaimReleaser } from '../claim-release.js';
import type { RequestDeclaration, RouteKeys } from '../declarations.js';
import type { ResolvedOptions } from '../options.js';
import { ProblemError } from '../problem-response.js';
import * as answers from '../session-answers.js';
import type { AnswerContext, SessionHeaderOverrides } from '../session-answers.js';
import type { AnswerHeaders } from '../answer-headers.js';
import type { StoredEntry } from '../store.js';
import type { TouchThrottle } from '../touch-throttle.js';
import type { SessionTracker, TrackedSession } from '../tracked-session.js';
import { EMPTY_LEDGER, claimGone, type HeldClaim, type Ledger } from './ledger.js';

/** `args`: what the platform passed after the request (Next.js's `{ params }`, an adapter's context), handed on after the session. */
export type RouteHandler = (request: Request, session: TrackedSession, ...args: unknown[]) => Response | Promise<Response>;

export interface Route {
  readonly keys: RouteKeys;
  readonly handler: RouteHandler;
}

/** What serves every request of a validator: its options, and the process-wide helpers. */
export interface RequestDeps {
  readonly options: ResolvedOptions;
  readonly route: Route;
  readonly request: Request;
  readonly touches: TouchThrottle;
  /** Gives back the claims of ended attempts, in the background when the store was down (claim-release.ts). */
  readonly claims: ClaimReleaser;
  /** The Fetch handler's arguments after the request; the first is the context `sessionId()` is given. */
  readonly args: readonly unknown[];
}

/**
 * One request as it runs: the facts read up front, and the one slot the driver keeps its ledger in (replaced
 * whole by ledger.ts's transitions), beside the tracked session and the queue of mid-request commits.
 */
export interface RequestRun extends RequestDeps {
  /** A write route (keys written, a login, a logout): every write rule applies. */
  readonly writes: boolean;
  declaration: RequestDeclaration | null;
  /** The request's fingerprint (method, path with query, body) once its body was read. */
  fingerprint: string;
  /** What the handler is given: the request, or a copy over its buffered body. */
  handlerRequest: Request;
  /** The route's keys as round trip 1 read them; the tracked session's base, moved on by each commit. */
  readonly entries: Map<string, StoredEntry>;
  /** The cookie name the session id came under (`__Host-<name>` or `<name>`): a clearing answer clears that one. */
  cookieName: string | undefined;
  /** A plain cookie read under `cookie.migratePlain`: the final commit of a write moves the session to a fresh `__Host-` id. */
  migrating: boolean;
  /** When this attempt's claim lease ends at the latest: its background release stops there. */
  leaseEndsAt: number;
  ledger: Ledger;
  tracker: SessionTracker | null;
  /** Mid-request commits run one at a time, in the order the handler asked for them. */
  commits: Promise<void>;
}

export function startRun(deps: RequestDeps): RequestRun {
  const keys = deps.route.keys;
  // Every field written out, not spread from deps: one object shape for every run, which the driver reads on each step.
  return {
    options: deps.options,
    route: deps.route,
    request: deps.request,
    touches: deps.touches,
    claims: deps.claims,
    args: deps.args,
    // A login or logout route is a write route for every rule, keys or not.
    writes: keys.writes.size > 0 || keys.rotates === true || keys.ends === true,
    declaration: null,
    fingerprint: '',
    handlerRequest: deps.request,
    entries: new Map(),
    cookieName: undefined,
    migrating: false,
    leaseEndsAt: 0,
    ledger: EMPTY_LEDGER,
    tracker: null,
    commits: Promise.resolve(),
  };
}

export function declaredKeys(run: RequestRun): string[] {
  return run.declaration ? [...run.declaration.reads.keys(), ...run.declaration.writes.keys()] : [];
}

function answerContext(run: RequestRun): AnswerContext {
  return {
    epoch: run.ledger.epoch,
    cookie: run.ledger.cookie,
    declaredKeys: declaredKeys(run),
    versionOf: (key) => run.entries.get(key)?.version ?? 0,
    retryAfterSeconds: run.options.retryAfterSeconds,
    serverOnly: run.options.serverOnly,
  };
}

export const decorate = (run: RequestRun, response: Response, overrides: SessionHeaderOverrides = {}): Response => answers.decorate(answerContext(run), response, overrides);
export const problem = (run: RequestRun, error: ProblemError): Response => answers.problemAnswer(answerContext(run), error);
export const staleAnswer = (run: RequestRun, entries: ReadonlyMap<string, StoredEntry>, why: string): Response => answers.staleAnswer(answerContext(run), entries, why);
export const sessionHeaders = (run: RequestRun, response: Response, overrides: SessionHeaderOverrides = {}): AnswerHeaders =>
  answers.sessionHeaders(answerContext(run), response, overrides);

/** The answer does not wait for a store that is down: the release is retried in the background, within the lease. */
export async function releaseAt(run: RequestRun, claim: HeldClaim): Promise<void> {
  await run.claims.release(claim, run.leaseEndsAt, run.request.url);
}

/** Gives back the claim this attempt holds, unless a commit made it a record. */
export async function releaseClaim(run: RequestRun): Promise<void> {
  const { claim, partial } = run.ledger;
  if (!claim || partial) return;
  run.ledger = claimGone(run.ledger);
  await releaseAt(run, claim);
}

export function storeFailure(run: RequestRun, error: unknown, phase: 'begin' | 'commit'): ProblemError {
  run.options.onEvent({ type: 'store-error', error, url: run.request.url, phase });
  return new ProblemError('storeUnavailable', `The session store failed (${phase}); a resend with the same Idempotency-Key is safe`);
}
