import { HEADER } from '../protocol/headers.js';
import type { AnswerHeaders } from './answer-headers.js';
import type { ClaimReleaser } from './claim-release.js';
import { creatingClaim, creatingIdWindowMs, recordedSession } from './creating-request.js';
import { readDeclaration, type RequestDeclaration, type RouteKeys } from './declarations.js';
import { randomToken } from './encoding.js';
import { InvalidValueError, SessionCommitError, UndeclaredKeyError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { ProblemError, problemResponse } from './problem-response.js';
import { recordAnswer, replayAnswer } from './recorded-answer.js';
import { readBody, requestFingerprint } from './request-body.js';
import { planRotation, tombstoneClears, tombstoneReplay } from './rotation.js';
import * as answers from './session-answers.js';
import type { AnswerContext, SessionHeaderOverrides } from './session-answers.js';
import { clearedCookie, sessionCookie } from './session-cookie.js';
import { identify } from './session-identity.js';
import type { BeginResult, ClaimOutcome, CommitInput, CommitResult, IdempotencyClaim, StoredEntry } from './store.js';
import { SessionTracker, type TrackedSession } from './tracked-session.js';
import { throughBlip, unknownCommitOutcome } from './unknown-commit.js';
import type { TouchThrottle } from './touch-throttle.js';

/** `args`: what the platform passed after the request (Next.js's `{ params }`, an adapter's context), handed on after the session. */
export type RouteHandler = (request: Request, session: TrackedSession, ...args: unknown[]) => Response | Promise<Response>;

export interface Route {
  readonly keys: RouteKeys;
  readonly handler: RouteHandler;
}

/** Serves one request of one route: the seven commit steps of PROTOCOL.md. */
export class RequestFlow {
  private readonly writes: boolean;
  private claimed: { sessionId: string; key: string; token: string } | null = null;
  /** Set once a mid-request commit applied part of the request. */
  private partial = false;
  private sessionId = '';
  private sessionMode: 'existing' | 'create' = 'existing';
  /** This request creates its session (it stays true after a mid-request commit made it): its id comes from its key. */
  private createsSession = false;
  private epoch = '';
  private setCookie: string | null = null;
  private tracker: SessionTracker | null = null;
  private declaration!: RequestDeclaration;
  private fingerprint = '';
  /** What the handler is given: the request, or a copy over its buffered body. */
  private handlerRequest: Request;
  /** Mid-request commits run one at a time, in the order the handler asked for them. */
  private commits: Promise<void> = Promise.resolve();
  /** The route's keys as round trip 1 read them; the tracked session's base, moved on by each commit. */
  private readonly entries = new Map<string, StoredEntry>();
  /** A mid-request commit failed before any part applied: the store released the claim, so nothing may commit after it. */
  private claimLost: SessionCommitError | null = null;
  /** The cookie name the session id came under (`__Host-<name>` or `<name>`): a clearing answer clears that one. */
  private cookieName: string | undefined;
  /** A plain cookie read under `cookie.migratePlain`: the final commit of a write moves the session to a fresh `__Host-` id. */
  private migrating = false;
  /** When this attempt's claim lease ends at the latest: its background release stops there. */
  private leaseEndsAt = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly route: Route,
    private readonly request: Request,
    private readonly touches: TouchThrottle,
    /** Gives back the claims of ended attempts, in the background when the store was down (claim-release.ts). */
    private readonly claims: ClaimReleaser,
    /** The Fetch handler's arguments after the request; the first is the context `sessionId()` is given. */
    private readonly args: readonly unknown[] = [],
  ) {
    // A login or logout route is a write route for every rule, keys or not.
    this.writes = route.keys.writes.size > 0 || route.keys.rotates === true || route.keys.ends === true;
    this.handlerRequest = request;
  }

  async serve(): Promise<Response> {
    try {
      return await this.run();
    } catch (error) {
      if (error instanceof ProblemError) return this.problem(error);
      this.options.onEvent({ type: 'handler-error', error, url: this.request.url });
      if (this.partial) return this.partlyCommitted('The request failed after a mid-request commit').catch(() => problemResponse('partlyCommitted', 'The request failed after a mid-request commit'));
      await this.releaseClaim();
      return this.decorate(problemResponse('handlerFailed', 'The request failed unexpectedly; nothing was committed'));
    }
  }

  private async run(): Promise<Response> {
    const { request, options, route } = this;
    this.declaration = readDeclaration(request.headers, route.keys);
    const body = this.writes ? await this.readBody() : null;

    const identity = await identify(options, request, this.declaration, this.writes, this.args[0]);
    if (identity.kind === 'ended') {
      if (identity.clearCookie) this.setCookie = clearedCookie(options.cookie, request, identity.clearCookie);
      throw new ProblemError('sessionEnded', identity.detail);
    }
    if (identity.kind === 'visitor') {
      if (this.writes) throw new ProblemError('sessionEnded', 'This request has no session to write to');
      for (const key of route.keys.all) this.entries.set(key, { version: 0 });
      return this.runHandler(this.entries);
    }
    this.sessionId = identity.id;
    this.cookieName = identity.cookieName;
    this.migrating = identity.migrate === true && this.writes;

    const claim: IdempotencyClaim | undefined =
      this.declaration.idempotencyKey !== null && body !== null
        ? { key: this.declaration.idempotencyKey, fingerprint: this.fingerprintOf(body), leaseMs: options.leaseMs, token: randomToken(16), ...(identity.previousId !== undefined ? { alsoUnder: identity.previousId } : {}) }
        : undefined;
    if (claim && identity.previousId && options.store.admitSession && !(await options.store.admitSession(options.now()))) {
      throw new ProblemError('storeUnavailable', 'The session store admits no new sessions now (it is nearly full); existing sessions are served');
    }
    let begun = await this.begin(claim);
    if (claim && identity.creates && identity.previousId) {
      const calls = { begin: (sessionId: string) => this.begin(claim, sessionId), release: (sessionId: string) => this.releaseAt(sessionId, claim) };
      const creating = await creatingClaim(options, { current: this.sessionId, previous: identity.previousId }, begun, calls);
      if (creating instanceof Response) return creating;
      ({ sessionId: this.sessionId, begun } = creating);
    }
    if (begun.rotated) {
      const answer = await tombstoneReplay(options, begun, claim).catch((error: unknown) => {
        throw this.storeFailure(error, 'begin');
      });
      if (answer !== null) return replayAnswer(answer);
      if (tombstoneClears(options, begun.rotated)) this.clearEndedCookie();
      throw new ProblemError('sessionEnded', 'The session id was rotated away (a login or a privilege change); nothing was applied');
    }
    if (claim && begun.claim?.status === 'replay' && begun.session === null && identity.viaCookie && recordedSession(begun.claim.answer).epoch !== '') {
      // The session was destroyed (logout, expiry): its old cookie replays nothing of it but the logout's own answer (epoch "").
      this.clearEndedCookie();
      throw new ProblemError('sessionEnded', 'The session named by the cookie does not exist any more (logout or expiry)');
    }
    this.epoch = begun.session?.epoch ?? '';
    for (const key of route.keys.all) this.entries.set(key, begun.entries.get(key) ?? { version: 0 });
    if (claim) {
      const answer = this.claimAnswer(begun.claim);
      if (answer) return answer;
      this.claimed = { sessionId: this.sessionId, key: claim.key, token: claim.token };
    }

    if (begun.session === null) {
      if (!identity.creates) {
        await this.releaseClaim();
        if (identity.viaCookie) this.clearEndedCookie();
        throw new ProblemError('sessionEnded', 'The session named by the cookie does not exist any more (logout or expiry)');
      }
      if (this.declaration.epoch !== null) {
        await this.releaseClaim();
        throw new ProblemError('sessionEnded', 'Session-Epoch names a session that does not exist');
      }
      this.sessionMode = 'create';
      this.createsSession = true;
      this.epoch = '';
    } else {
      this.epoch = begun.session.epoch;
      if (this.declaration.epoch !== null && this.declaration.epoch !== begun.session.epoch) {
        await this.releaseClaim();
        throw new ProblemError('sessionEnded', 'Session-Epoch names another session than the current one');
      }
      // A session-creating request whose session exists but whose record is gone (past its retention): no
      // legitimate resend comes this late, and joining would make an old Idempotency-Key a credential.
      if (identity.creates && !identity.viaCookie && !options.sessionId) {
        await this.releaseClaim();
        this.epoch = '';
        throw new ProblemError('sessionEnded', 'This session-creating request is older than its idempotency record; start again with a new Idempotency-Key');
      }
    }

    const entries = this.entries;
    if (this.writes) {
      const stale = this.staleBases(entries);
      if (stale) {
        await this.releaseClaim();
        return this.staleAnswer(entries, stale);
      }
    }
    return this.runHandler(entries);
  }

  // --- step 1: who, and round trip 1 ---

  private async begin(claim: IdempotencyClaim | undefined, sessionId = this.sessionId): Promise<BeginResult> {
    const { options } = this;
    const now = options.now();
    // The store touches only a live session, so asking for a session about to be created costs nothing.
    const touch = this.touches.due(sessionId, now) ? { idleTtlMs: options.idleTimeoutMs } : undefined;
    const input = { sessionId, keys: this.route.keys.all, now, ...(claim ? { claim } : {}) };
    if (claim && this.leaseEndsAt === 0) this.leaseEndsAt = now + claim.leaseMs;
    try {
      const result = await options.store.begin(touch ? { ...input, touch } : input);
      if (touch) this.touches.done(sessionId, now);
      this.claims.storeAnswered();
      // The claim in the way may be an attempt of this process that ended while the store was down: released now, the key is ours.
      if (claim && result.claim?.status === 'in-flight' && (await this.claims.releaseEnded(sessionId, claim.key))) {
        return await options.store.begin({ ...input, now: options.now() });
      }
      return result;
    } catch (error) {
      if (touch) {
        // The touch is what a read-only store refuses; the request must not fail for it.
        options.onEvent({ type: 'touch-failed', error, url: this.request.url });
        this.touches.done(sessionId, now);
      } else {
        options.onEvent({ type: 'store-error', error, url: this.request.url, phase: 'begin' });
      }
      // The outcome is unknown (a connection cut after the store ran the call): again, with the same claim token,
      // so that a claim the first call took is found as this attempt's own instead of as a 409; a few times, each
      // after a blip's length (the first at once if only the touch was refused), so that a store that blinked is back.
      try {
        return await throughBlip(() => options.store.begin({ ...input, now: options.now() }), touch !== undefined);
      } catch (retryError) {
        if (claim) await this.releaseQuietly({ sessionId, key: claim.key, token: claim.token });
        throw this.storeFailure(retryError, 'begin');
      }
    }
  }

  private async releaseAt(sessionId: string, claim: IdempotencyClaim): Promise<void> {
    await this.releaseQuietly({ sessionId, key: claim.key, token: claim.token });
  }

  private claimAnswer(outcome: ClaimOutcome | undefined): Response | null {
    switch (outcome?.status) {
      case 'claimed':
        return null;
      case 'replay':
        return replayAnswer(outcome.answer);
      case 'in-flight':
        // Retry soon, not at the end of the lease: the first attempt usually finishes in far less.
        return this.decorate(
          problemResponse('inProgress', 'A request with this Idempotency-Key is still being processed; resend it unchanged later', {}, {
            'retry-after': String(Math.max(1, Math.min(this.options.retryAfterSeconds, Math.ceil(outcome.retryAfterMs / 1000)))),
          }),
        );
      case 'mismatch':
        throw new ProblemError('keyReused', 'This Idempotency-Key was used for a different request (method, path, query or body)');
      case 'evicted':
        throw new ProblemError('sessionEnded', 'The session this request was applied to has been evicted from the store; it is not applied again');
      default:
        throw new TypeError('The store answered begin() without the claim outcome');
    }
  }

  // --- step 2: bases ---

  private *declaredKeys(): Iterable<string> {
    yield* this.declaration.reads.keys();
    yield* this.declaration.writes.keys();
  }

  private staleBases(entries: ReadonlyMap<string, StoredEntry>): string | null {
    for (const map of [this.declaration.reads, this.declaration.writes]) {
      for (const [key, base] of map) {
        const current = entries.get(key)?.version ?? 0;
        if (base !== undefined && base !== current) return `${JSON.stringify(key)} is at version ${current}, not ${base}`;
      }
    }
    return null;
  }

  // --- steps 3–6: handler and commit ---

  private async runHandler(entries: Map<string, StoredEntry>): Promise<Response> {
    const { options, route } = this;
    const tracker = new SessionTracker(entries, route.keys, this.writes, options.schemas, this.epoch, () => this.commitMidRequest(), options.sessionId !== undefined);
    this.tracker = tracker;
    let response: Response;
    try {
      response = await route.handler(this.handlerRequest, tracker.session(), ...this.args);
      if (!(response instanceof Response)) throw new TypeError('The route handler must return a Response');
    } catch (error) {
      return this.handlerFailed(error);
    }
    if (response.status >= 500) {
      if (this.partial) return this.partlyCommitted('The handler answered ' + response.status + ' after a mid-request commit');
      await this.releaseClaim();
      return this.decorate(response);
    }
    return this.finish(response);
  }

  private async handlerFailed(error: unknown): Promise<Response> {
    if (this.partial) {
      this.options.onEvent({ type: 'handler-error', error, url: this.request.url });
      return this.partlyCommitted('The handler failed after a mid-request commit');
    }
    await this.releaseClaim();
    if (error instanceof UndeclaredKeyError) {
      return this.decorate(problemResponse('undeclaredKey', error.message, { key: error.key }));
    }
    if (error instanceof InvalidValueError) {
      if (this.options.serverOnly.has(error.key)) {
        // A schema's message may quote the value it refused: a server-only key's answer names only where.
        const issues = [{ path: [], message: 'invalid (a server-only key: the path and message are not sent)' }];
        return this.decorate(problemResponse('invalidValue', `session.set(${JSON.stringify(error.key)}): the value is invalid`, { key: error.key, issues }));
      }
      return this.decorate(problemResponse('invalidValue', error.message, { key: error.key, issues: error.issues }));
    }
    if (error instanceof SessionCommitError) return this.commitFailureAnswer(error);
    this.options.onEvent({ type: 'handler-error', error, url: this.request.url });
    return this.decorate(problemResponse('handlerFailed', 'The route handler threw; nothing was committed'));
  }

  private async finish(response: Response): Promise<Response> {
    const tracker = this.tracker!;
    const changes = tracker.changes();
    if (!this.writes || (changes.size === 0 && !tracker.destroyed && !tracker.rotation && !this.migrating)) {
      if (!this.partial) {
        await this.releaseClaim();
        return this.decorate(response);
      }
    }
    if (this.claimLost) return this.commitFailureAnswer(this.claimLost);
    const result = await this.commit(changes, tracker.destroyed, 'done', response).catch((error: unknown) => error);
    if (result instanceof SessionCommitError) {
      // The store may have applied and recorded the final commit before failing: record nothing over it.
      // A resend then replays the final answer, or the partial record's once its lease ends.
      if (this.partial && result.reason === 'unavailable') return this.commitFailureAnswer(result);
      if (this.partial) return this.partlyCommitted('The final commit failed after a mid-request commit');
      return this.commitFailureAnswer(result);
    }
    if (result instanceof Error || !(result instanceof Response)) throw result;
    return result;
  }

  private commitMidRequest(): Promise<void> {
    const next = this.commits.then(async () => {
      const tracker = this.tracker!;
      // The claim is gone with an earlier failed commit: committing now would leave no record, and a resend would apply it again.
      if (this.claimLost) throw this.claimLost;
      // A destroy ends the request's session: only the final commit applies it, with the answer recorded.
      if (tracker.destroyed) return;
      const changes = tracker.changes();
      if (!this.writes || changes.size === 0) return;
      await this.commit(changes, false, 'partial', null);
    });
    this.commits = next.catch(() => {});
    return next;
  }

  /**
   * Round trip 2: one compare-and-swap of `changes` with the idempotency
   * record. 'done' records `response` (decorated) and returns it to send;
   * 'partial' records the partly-committed answer, for a resend after a crash.
   */
  private async commit(
    changes: Map<string, string | null>,
    destroy: boolean,
    state: 'done' | 'partial',
    response: Response | null,
  ): Promise<Response | null> {
    const { options, tracker } = { options: this.options, tracker: this.tracker! };
    const creating = this.sessionMode === 'create';
    const epoch = creating ? randomToken(16) : this.epoch;
    // Only the final commit rotates: a mid-request commit's part lands in the session as it is.
    const wanted = tracker.rotation ?? (this.migrating && !destroy ? { keepKeys: true } : null);
    const rotation = state === 'done' && wanted ? planRotation(options, this.request, this.sessionId, creating ? '' : epoch, wanted, changes.keys()) : null;
    // The keys from before that a rotation carries over by name: their versions are checked and answered.
    const carried = Array.isArray(wanted?.keepKeys) && rotation ? wanted.keepKeys : [];

    const expect = new Map<string, number>();
    // A logout checks only the epoch (it is never stale), and a final commit with nothing left to change only records the answer.
    if (!destroy && (changes.size > 0 || carried.length > 0)) {
      for (const key of [...this.declaredKeys(), ...tracker.touched(), ...changes.keys()]) expect.set(key, tracker.base.get(key)?.version ?? 0);
    }
    const nextVersions = new Map([...changes.keys()].map((key) => [key, (tracker.base.get(key)?.version ?? 0) + 1]));

    const answerEpoch = destroy ? '' : (rotation?.input.epoch ?? epoch);
    // A logout clears no cookie: the browser's other tabs may have made the next session before its answer
    // arrives, under the same name. The dead cookie goes with the 410 of the next request (clearEndedCookie).
    const cookie = this.options.sessionId || destroy
      ? null
      : rotation
          ? rotation.cookie
          : creating
            ? sessionCookie(options.cookie, this.request, this.sessionId)
            : this.setCookie;
    // What the new session holds: every key (keepKeys: true), or only the kept ones (the request's own changes among them).
    const kept = rotation && !rotation.input.keepKeys ? new Set(rotation.input.keptKeys ?? []) : null;
    const dropped = (key: string) => destroy || (kept !== null && !kept.has(key));
    const versionsAfter = (key: string) => (dropped(key) ? 0 : (nextVersions.get(key) ?? tracker.base.get(key)?.version ?? 0));
    const toRecord = state === 'done' ? response! : problemResponse('partlyCommitted', 'The request applied part of its changes, then failed; it is not retried');
    const headers = this.sessionHeaders(toRecord, { epoch: answerEpoch, versionOf: versionsAfter, cookie, alsoKeys: carried });
    if (rotation) {
      headers.set(HEADER.rotated, rotation.header);
      // A session begun under the unprefixed name moves to __Host-<name>: the old cookie (now a tombstone) goes.
      if (rotation.cookie && this.cookieName && !rotation.cookie.startsWith(`${this.cookieName}=`)) headers.append('set-cookie', clearedCookie(options.cookie, this.request, this.cookieName));
    }
    const { answer, response: toSend } = await recordAnswer(toRecord, headers, options.maxRecordedAnswerBytes, options.now());

    let result: CommitResult;
    const input: CommitInput = {
      sessionId: this.sessionId,
      session: { mode: this.sessionMode, epoch },
      expect,
      changes,
      destroy,
      ...(rotation ? { rotate: rotation.input } : {}),
      ...(this.claimed ? { record: { key: this.claimed.key, fingerprint: this.fingerprint, answer, state, retentionMs: options.retentionMs, ...this.resendHorizon(), leaseMs: options.leaseMs, token: this.claimed.token } } : {}),
      idleTtlMs: options.idleTimeoutMs,
      now: options.now(),
    };
    try {
      const outcome = await this.commitThroughBlip(input, state);
      // Applied, as its record shows: with the versions its compare-and-swap gave (each changed key's base + 1).
      result = outcome === 'applied' ? { status: 'committed', versions: destroy ? new Map() : nextVersions } : outcome;
    } catch (error) {
      // The outcome is unknown. Safe: release() only ever deletes this attempt's pending claim, never a record this
      // commit may have written; and a commit of it that lands late is stale against the resend (claim-release.ts).
      await this.releaseClaim();
      const failure = new SessionCommitError('unavailable', undefined, { cause: error });
      if (!this.partial) this.claimLost = failure;
      throw failure;
    }
    if (result.status === 'occupied') {
      this.claimed = null; // the store released it
      throw new TypeError(
        `session.rotate({ id }): the id the app gave already holds a session (or one rotated away from it); nothing was applied. Rotate to a fresh id, such as the one express-session's regenerate() gives`,
      );
    }
    if (result.status !== 'committed') {
      const failure = result.status === 'gone' ? new SessionCommitError('gone') : new SessionCommitError('stale', result.entries);
      if (!this.partial && this.claimed) {
        this.claimed = null; // the store released it
        this.claimLost = failure;
      }
      throw failure;
    }
    tracker.rebase(changes, result.versions);
    if (rotation) this.sessionId = rotation.input.sessionId;
    this.sessionMode = 'existing';
    this.epoch = answerEpoch;
    tracker.epoch = answerEpoch;
    if (cookie) this.setCookie = cookie;
    this.partial = true;
    return toSend;
  }

  /**
   * Round trip 2; if a final commit fails with an unknown outcome, its outcome is asked once the blip is over
   * (unknown-commit.ts): applied, it stands as committed; not applied, it is sent once more, unchanged.
   */
  private async commitThroughBlip(input: CommitInput, state: 'done' | 'partial'): Promise<CommitResult | 'applied'> {
    try {
      return await this.options.store.commit(input);
    } catch (error) {
      this.options.onEvent({ type: 'store-error', error, url: this.request.url, phase: 'commit' });
      if (state !== 'done' || this.partial || !this.claimed) throw error;
      const claim = { key: this.claimed.key, fingerprint: this.fingerprint, leaseMs: this.options.leaseMs, token: this.claimed.token };
      const outcome = await unknownCommitOutcome(this.options.store, this.sessionId, claim, this.options.now);
      if (outcome === 'applied') return 'applied';
      if (outcome === 'unknown') throw error;
      try {
        return await this.options.store.commit({ ...input, now: this.options.now() });
      } catch (again) {
        this.options.onEvent({ type: 'store-error', error: again, url: this.request.url, phase: 'commit' });
        throw again;
      }
    }
  }

  private commitFailureAnswer(error: SessionCommitError): Promise<Response> | Response {
    switch (error.reason) {
      case 'stale': {
        const entries = new Map(this.entries);
        for (const [key, entry] of error.entries ?? []) entries.set(key, entry);
        return this.staleAnswer(entries, 'A key changed while the request ran');
      }
      case 'gone':
        // Live in round trip 1, ended while the request ran: by a logout (the next request's 410 clears the dead cookie)
        // or a login (whose answer sets the new one). Clearing here would drop what the browser holds by the time this arrives.
        this.epoch = '';
        return this.problem(new ProblemError('sessionEnded', 'The session ended while the request ran; nothing was applied'));
      case 'unavailable':
        return this.problem(new ProblemError('storeUnavailable', 'The session store failed during the commit; nothing was applied, and a resend with the same Idempotency-Key is safe'));
    }
  }

  /**
   * How long a resend could make this session again, were its record gone with it: a cookie's id never comes
   * back once its session is gone; a creating request's id does for its resend, within two id windows (creatingIdWindowMs); the app's
   * ids (options.sessionId) may at any time (absent: the whole retention).
   */
  private resendHorizon(): { resendHorizonMs?: number } {
    if (this.options.sessionId) return {};
    return { resendHorizonMs: this.createsSession ? 2 * creatingIdWindowMs(this.options.replayWindowMs) + this.options.leaseMs : 0 };
  }

  /** The partly-committed answer, recorded as the request's final answer (best effort: the partial record already holds it). */
  private async partlyCommitted(detail: string): Promise<Response> {
    const problem = problemResponse('partlyCommitted', `${detail}; the part committed earlier stays applied, and the request must not be retried`);
    if (!this.claimed) return this.decorate(problem);
    const { answer, response: toSend } = await recordAnswer(problem, this.sessionHeaders(problem), this.options.maxRecordedAnswerBytes, this.options.now());
    try {
      await this.options.store.commit({
        sessionId: this.sessionId,
        session: { mode: 'existing', epoch: this.epoch },
        expect: new Map(),
        changes: new Map(),
        destroy: false,
        record: { key: this.claimed.key, fingerprint: this.fingerprint, answer, state: 'done', retentionMs: this.options.retentionMs, leaseMs: this.options.leaseMs, token: this.claimed.token },
        idleTtlMs: this.options.idleTimeoutMs,
        now: this.options.now(),
      });
    } catch (error) {
      this.options.onEvent({ type: 'store-error', error, url: this.request.url, phase: 'commit' });
    }
    return toSend;
  }

  /**
   * What clears the cookie of an ended session (destroyed, expired, unknown): only a 410 to a request that
   * names no Session-Epoch. Answers come back in any order: by the time one arrives, the browser may hold a
   * newer session's cookie under the same name (logged out in one tab, a write in another made a new
   * session), and a clearing Set-Cookie would drop it, and with it, out of the browser's reach, what was
   * acknowledged in that session. A request that names the epoch was made for a session its client knew; one
   * that knows no epoch is the client's first since it learned of the end (a 410, a logout's answer) or a fresh
   * page's, and the client sends such writes one at a time, as it sends the write that makes a new session (and
   * no such read beside them), so this clear cannot overtake a newer cookie. A client that sent it knowing there is no session resends it once.
   */
  private clearEndedCookie(): void {
    if (this.declaration.epoch === null) this.setCookie = clearedCookie(this.options.cookie, this.request, this.cookieName);
  }

  // --- answers (session-answers.ts) ---

  private answerContext(): AnswerContext {
    return {
      epoch: this.epoch,
      cookie: this.setCookie,
      declaredKeys: this.declaration ? [...this.declaredKeys()] : [],
      versionOf: (key) => this.entries.get(key)?.version ?? 0,
      retryAfterSeconds: this.options.retryAfterSeconds,
      serverOnly: this.options.serverOnly,
    };
  }

  private staleAnswer(entries: ReadonlyMap<string, StoredEntry>, why: string): Response {
    return answers.staleAnswer(this.answerContext(), entries, why);
  }

  private problem(error: ProblemError): Response {
    return answers.problemAnswer(this.answerContext(), error);
  }

  private decorate(response: Response, overrides: SessionHeaderOverrides = {}): Response {
    return answers.decorate(this.answerContext(), response, overrides);
  }

  private sessionHeaders(response: Response, overrides: SessionHeaderOverrides = {}): AnswerHeaders {
    return answers.sessionHeaders(this.answerContext(), response, overrides);
  }

  // --- helpers ---

  private async readBody(): Promise<Uint8Array> {
    const { body, handlerRequest } = await readBody(this.request, this.options.maxBodyBytes);
    this.handlerRequest = handlerRequest;
    return body;
  }

  private fingerprintOf(body: Uint8Array): string {
    this.fingerprint = requestFingerprint(this.request, body);
    return this.fingerprint;
  }

  private async releaseClaim(): Promise<void> {
    if (!this.claimed || this.partial) return;
    const claimed = this.claimed;
    this.claimed = null;
    await this.releaseQuietly(claimed);
  }

  /** The answer does not wait for a store that is down: the release is retried in the background, within the lease. */
  private async releaseQuietly(claimed: { sessionId: string; key: string; token: string }): Promise<void> {
    await this.claims.release(claimed, this.leaseEndsAt, this.request.url);
  }

  private storeFailure(error: unknown, phase: 'begin' | 'commit'): ProblemError {
    this.options.onEvent({ type: 'store-error', error, url: this.request.url, phase });
    return new ProblemError('storeUnavailable', `The session store failed (${phase}); a resend with the same Idempotency-Key is safe`);
  }
}
