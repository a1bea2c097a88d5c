import { HEADER } from '../../protocol/headers.js';
import { creatingIdWindowMs } from '../creating-request.js';
import { randomToken } from '../encoding.js';
import { problemResponse } from '../problem-response.js';
import { recordAnswer } from '../recorded-answer.js';
import { planRotation } from '../rotation.js';
import { clearedCookie, sessionCookie } from '../session-cookie.js';
import type { CommitInput } from '../store.js';
import { commitCookie, type ExpectedRotation } from './decide-commit.js';
import { declaredKeys, sessionHeaders, type RequestRun } from './scope.js';

/** One commit about to be sent: the store's input, the answer to send once it applied, and what it will have made. */
export interface PlannedCommit {
  readonly input: CommitInput;
  /** 'done': the handler's answer, decorated and recorded; 'partial': null (a mid-request commit answers nothing). */
  readonly toSend: Response | null;
  readonly rotation: ExpectedRotation | null;
  readonly nextVersions: ReadonlyMap<string, number>;
  /** The epoch and cookie the session has once it applied. */
  readonly epoch: string;
  readonly cookie: string | null;
}

/**
 * Round trip 2's input: one compare-and-swap of `changes` with the idempotency record. 'done' records
 * `response` (decorated); 'partial' records the partly-committed answer, for a resend after a crash.
 */
export async function planCommit(run: RequestRun, changes: Map<string, string | null>, destroy: boolean, state: 'done' | 'partial', response: Response | null): Promise<PlannedCommit> {
  const { options, request, ledger } = run;
  const tracker = run.tracker!;
  const creating = ledger.mode === 'create';
  const epoch = creating ? randomToken(16) : ledger.epoch;
  // Only the final commit rotates: a mid-request commit's part lands in the session as it is.
  const wanted = tracker.rotation ?? (run.migrating && !destroy ? { keepKeys: true } : null);
  const rotation = state === 'done' && wanted ? planRotation(options, request, ledger.sessionId, creating ? '' : epoch, wanted, changes.keys()) : null;
  // The keys from before that a rotation carries over by name: their versions are checked and answered.
  const carried = Array.isArray(wanted?.keepKeys) && rotation ? wanted.keepKeys : [];

  const expect = new Map<string, number>();
  // A logout checks only the epoch (it is never stale), and a final commit with nothing left to change only records the answer.
  if (!destroy && (changes.size > 0 || carried.length > 0)) {
    for (const key of [...declaredKeys(run), ...tracker.touched(), ...changes.keys()]) expect.set(key, tracker.base.get(key)?.version ?? 0);
  }
  const nextVersions = new Map([...changes.keys()].map((key) => [key, (tracker.base.get(key)?.version ?? 0) + 1]));

  const answerEpoch = destroy ? '' : (rotation?.input.epoch ?? epoch);
  const cookie = commitCookie({
    appIds: options.sessionId !== undefined,
    destroy,
    rotationCookie: rotation?.cookie ?? null,
    creationCookie: creating && !options.sessionId ? sessionCookie(options.cookie, request, ledger.sessionId) : null,
    current: ledger.cookie,
  });
  // What the new session holds: every key (keepKeys: true), or only the kept ones (the request's own changes among them).
  const kept = rotation && !rotation.input.keepKeys ? new Set(rotation.input.keptKeys ?? []) : null;
  const dropped = (key: string) => destroy || (kept !== null && !kept.has(key));
  const versionsAfter = (key: string) => (dropped(key) ? 0 : (nextVersions.get(key) ?? tracker.base.get(key)?.version ?? 0));
  const toRecord = state === 'done' ? response! : problemResponse('partlyCommitted', 'The request applied part of its changes, then failed; it is not retried');
  const headers = sessionHeaders(run, toRecord, { epoch: answerEpoch, versionOf: versionsAfter, cookie, alsoKeys: carried });
  if (rotation) {
    headers.set(HEADER.rotated, rotation.header);
    // A session begun under the unprefixed name moves to __Host-<name>: the old cookie (now a tombstone) goes.
    if (rotation.cookie && run.cookieName && !rotation.cookie.startsWith(`${run.cookieName}=`)) headers.append('set-cookie', clearedCookie(options.cookie, request, run.cookieName));
  }
  const { answer, response: toSend } = await recordAnswer(toRecord, headers, options.maxRecordedAnswerBytes, options.now());
  const claim = ledger.claim;
  const input: CommitInput = {
    sessionId: ledger.sessionId,
    session: { mode: ledger.mode, epoch },
    expect,
    changes,
    destroy,
    ...(rotation ? { rotate: rotation.input } : {}),
    ...(claim
      ? { record: { key: claim.key, fingerprint: run.fingerprint, answer, state, retentionMs: options.retentionMs, ...resendHorizon(run), leaseMs: options.leaseMs, token: claim.token } }
      : {}),
    idleTtlMs: options.idleTimeoutMs,
    now: options.now(),
  };
  return {
    input,
    toSend: state === 'done' ? toSend : null,
    rotation: rotation ? { sessionId: rotation.input.sessionId, epoch: rotation.input.epoch } : null,
    nextVersions: destroy ? new Map() : nextVersions,
    epoch: answerEpoch,
    cookie,
  };
}

/**
 * How long a resend could make this session again, were its record gone with it: a cookie's id never comes
 * back once its session is gone; a creating request's id does for its resend, within two id windows (creatingIdWindowMs); the app's
 * ids (options.sessionId) may at any time (absent: the whole retention).
 */
function resendHorizon(run: RequestRun): { resendHorizonMs?: number } {
  const { options } = run;
  if (options.sessionId) return {};
  return { resendHorizonMs: run.ledger.createsSession ? 2 * creatingIdWindowMs(options.replayWindowMs) + options.leaseMs : 0 };
}
