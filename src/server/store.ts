/**
 * The storage seam. Every store (memory, Redis, PostgreSQL) implements these
 * calls, and `begin` and `commit` are each ONE atomic operation in ONE round
 * trip: correctness of the whole protocol rests on them and on nothing else.
 * The conformance suite in test/store-conformance.ts holds every store to it.
 *
 * Values are canonical JSON text, opaque to the store. Versions are integers
 * that grow by one at each committed change of a key; 0 = never existed. A
 * deleted key keeps its version (a delete marker) for as long as its session
 * lives, so that a version number never comes back.
 *
 * The contract is versioned (STORE_CONTRACT); docs/stores.md, "Writing a
 * store", lists what each version added.
 */

/**
 * The version of this contract a store written against these types meets.
 * 1: begin, commit, release, touch; rotation and tombstones.
 * 2: begin's `claim.alsoUnder` (a session-creating request's record is
 *    looked for under two ids in ONE call) and `BeginResult.answeredFor`,
 *    and the optional `SessionStore.creatingId`. A store of version 1 still
 *    works: it answers without `answeredFor`, and the validator looks under
 *    the second id itself, with a second begin and a release.
 */
export const STORE_CONTRACT = 2;

/** A key as stored: `value` is absent when the key is absent (never set, or deleted). */
export interface StoredEntry {
  readonly version: number;
  readonly value?: string;
}

/** What `begin` claims: the Idempotency-Key of a request that declares a write. */
export interface IdempotencyClaim {
  readonly key: string;
  /** Hash of method, path with query, and body (never the session headers). */
  readonly fingerprint: string;
  /** How long the claim blocks the key before another attempt may take it over. */
  readonly leaseMs: number;
  /**
   * This attempt's identity (random, unique per attempt), kept with the
   * pending claim: only `release` and a failed `commit` with the same token
   * give the claim back, so that an attempt that outlived its lease never
   * frees the claim of the attempt that took the key over. A pending claim
   * that already bears this token is this attempt's own (its begin is retried
   * after an unknown outcome): begin answers 'claimed' and renews the lease.
   */
  readonly token: string;
  /**
   * Contract 2. A second session id the key may already be recorded under:
   * a session-creating request's id in the previous id window, where its
   * resend's record is when it crossed a window boundary. The store looks
   * under `sessionId`, then under `alsoUnder`, in the same atomic call, and
   * answers for the first that holds the key (any record but one this
   * attempt may claim: none, an expired one, its own pending claim, or a
   * pending claim of the same fingerprint whose lease ran out) or is a live
   * tombstone: its session, entries, tombstone and claim outcome, with
   * nothing claimed. Only when neither does is the key claimed, under
   * `sessionId` only. BeginResult.answeredFor tells which id it answered for.
   */
  readonly alsoUnder?: string;
}

export type ClaimOutcome =
  /** The key is ours until `commit` records the answer or `release` gives it back. */
  | { readonly status: 'claimed' }
  /** A finished record with the same fingerprint: answer with it, do nothing else. */
  | { readonly status: 'replay'; readonly answer: string }
  /** Another attempt holds the key (or finished only part of its work). */
  | { readonly status: 'in-flight'; readonly retryAfterMs: number }
  /**
   * The key was used for a different request. `answer` is that record's
   * answer once it has one (finished or partial): a session-creating
   * request's resend reads its time and epoch from it, so that past the
   * replay window a wrong body gets the same 410 as the right one.
   */
  | { readonly status: 'mismatch'; readonly answer?: string }
  /**
   * The key's request was applied, and its session has been evicted since
   * (a bounded store made room): nothing is applied again, the answer is a 410.
   */
  | { readonly status: 'evicted' };

export interface BeginInput {
  readonly sessionId: string;
  /** The keys to read: all of the route's keys. */
  readonly keys: readonly string[];
  readonly claim?: IdempotencyClaim;
  /**
   * Extend a live session's idle lifetime to now + idleTtlMs in the same round
   * trip (the validator throttles how often it asks). A store that refuses the
   * write fails the call; the validator then retries without the touch.
   */
  readonly touch?: { readonly idleTtlMs: number };
  /** Milliseconds since the epoch; stores take time from the validator so that tests can move it. */
  readonly now: number;
}

/** What a tombstone tells: where its session was rotated to, and by which request. */
export interface Tombstone {
  /** The id the session moved to. */
  readonly sessionId: string;
  /** The epoch it moved to. */
  readonly epoch: string;
  /** The Idempotency-Key of the rotating request, whose resend with the old id may replay its answer… */
  readonly recordKey: string;
  /** …until then (ms since the epoch). */
  readonly replayUntil: number;
}

export interface BeginResult {
  /** null: no such session (never existed, destroyed, expired, or rotated away). */
  readonly session: { readonly epoch: string } | null;
  /**
   * Present when the id was rotated away and its tombstone is still live
   * (until the old session's idle expiry): `session` is null, and nothing
   * was claimed or touched, so `claim` is absent.
   */
  readonly rotated?: Tombstone;
  /** One entry per requested key ({version: 0} when absent); empty when session is null. */
  readonly entries: ReadonlyMap<string, StoredEntry>;
  /** Present exactly when a claim was asked for. Records outlive their session. */
  readonly claim?: ClaimOutcome;
  /**
   * Contract 2, present exactly when `claim.alsoUnder` was given and the
   * store looked under both ids: the id this answer is for (`sessionId`, or
   * `claim.alsoUnder` when the key or a tombstone was found there). Absent
   * (a store of contract 1), the validator looks under `alsoUnder` itself.
   */
  readonly answeredFor?: string;
}

/** The idempotency record a commit writes, atomically with the data. */
export interface IdempotencyRecord {
  readonly key: string;
  readonly fingerprint: string;
  /** The recorded answer, opaque to the store. */
  readonly answer: string;
  /** 'partial': a mid-request commit; the request is still running (answered in-flight until its lease ends, then its answer). */
  readonly state: 'done' | 'partial';
  readonly retentionMs: number;
  /**
   * How long from now a resend could apply this request again if the record
   * were gone with its session (a store that evicts sessions keeps at least
   * the key that long): 0 when the session id can never be made again once
   * the session is gone (a cookie names it). Absent: all of `retentionMs`.
   */
  readonly resendHorizonMs?: number;
  /** For a partial record: how long it keeps answering in-flight. */
  readonly leaseMs: number;
  /** The committing attempt's claim token: a failed commit releases the pending claim only if it still holds this token. */
  readonly token: string;
}

export interface CommitInput {
  readonly sessionId: string;
  /**
   * 'existing': the session must exist with this epoch.
   * 'create': the session must not exist; it is created with this epoch.
   */
  readonly session: { readonly mode: 'existing' | 'create'; readonly epoch: string };
  /** Every key checked, with the version it must still have. */
  readonly expect: ReadonlyMap<string, number>;
  /** Keys to change: canonical JSON, or null to delete. Each changed key's version grows by one. Every changed key is also in `expect`. */
  readonly changes: ReadonlyMap<string, string | null>;
  /** Destroy the session (logout): all its keys go; records stay until their retention ends. */
  readonly destroy: boolean;
  /**
   * Rotate the session (login), after this commit's changes, in the same
   * atomic operation: it moves to `sessionId` with `epoch`, with its versions
   * and values (unless `keepKeys` is false: then only `keptKeys` move) and its
   * idempotency records, `record` included; the old id becomes a tombstone
   * (see BeginResult.rotated) until `idleTtlMs` from now. Never with `destroy`.
   */
  readonly rotate?: RotateInput;
  /**
   * Written with the data, replacing whatever record the key holds (the committing attempt's answer is the truth).
   * On failure the pending claim under `record.key` is released instead, if it still has `record.token`.
   */
  readonly record?: IdempotencyRecord;
  /** The session's idle lifetime from now. */
  readonly idleTtlMs: number;
  readonly now: number;
}

export interface RotateInput {
  /** The new id: unguessable, never issued before (see SessionStore.rotationId). */
  readonly sessionId: string;
  readonly epoch: string;
  /** true: every key moves with its value and version; false: only `keptKeys` do, and the rest are dropped. */
  readonly keepKeys: boolean;
  /**
   * With `keepKeys` false: the keys that move anyway, with their values and
   * versions as this commit leaves them (the rotating request's own changes,
   * and the keys the app asked to carry over). Absent or empty: none; ignored with `keepKeys` true.
   */
  readonly keptKeys?: readonly string[];
  /** How long the rotating request's resend with the old id replays its answer. */
  readonly replayWindowMs: number;
}

export type CommitResult =
  /** Applied; `versions` holds the new version of each changed key. */
  | { readonly status: 'committed'; readonly versions: ReadonlyMap<string, number> }
  /** Nothing applied: a key moved (or, in 'create' mode, the session exists). `entries` is the current state of every expected key. */
  | { readonly status: 'stale'; readonly entries: ReadonlyMap<string, StoredEntry> }
  /** Nothing applied: the session is gone, or has another epoch; `rotated`: its id is a tombstone (rotated away). */
  | { readonly status: 'gone'; readonly rotated?: boolean }
  /**
   * Nothing applied: `rotate.sessionId` already holds something (a session,
   * a tombstone, idempotency records). Only an id the app gives
   * (`session.rotate({ id })` under a resolver) can; the store never moves a
   * session over another.
   */
  | { readonly status: 'occupied' };

export interface ReleaseInput {
  readonly sessionId: string;
  readonly key: string;
  /** The releasing attempt's claim token: a claim another attempt took over stays. */
  readonly token: string;
}

export interface TouchInput {
  readonly sessionId: string;
  readonly epoch: string;
  readonly idleTtlMs: number;
  readonly now: number;
}

/**
 * A session store. Methods throw (any error) when the store cannot serve the
 * call: down, or refusing writes. The validator answers 503 for it.
 */
export interface SessionStore {
  /**
   * True for a store several processes share (Redis, PostgreSQL): the
   * validator then requires a `secret`, so that every process derives the same
   * session id for a session-creating request.
   */
  readonly shared?: boolean;
  /**
   * A fresh id for a session rotated away from `from`, when the store needs
   * the two to share something (Redis Cluster: a hash slot, so that the move
   * is one script). Default: 32 random bytes, base64url.
   */
  rotationId?(from: string): string;
  /**
   * Contract 2. The id a session-creating request gets, made from the one
   * the validator derived from its Idempotency-Key and id window
   * (`derived`), when the store needs every window's id of one key to share
   * something (Redis Cluster: a hash slot, so that a begin with
   * `claim.alsoUnder` is one script). A pure function of its arguments, so
   * that every process makes the same id in every window, and as
   * unguessable as `derived`. Default: `derived`.
   */
  creatingId?(derived: string, idempotencyKey: string): string;
  /** Round trip 1: read the session and the keys' entries, and claim the Idempotency-Key, atomically. */
  begin(input: BeginInput): Promise<BeginResult>;
  /** Round trip 2: one compare-and-swap of the whole change, with the idempotency record. */
  commit(input: CommitInput): Promise<CommitResult>;
  /** Gives back a claim that is still pending and still has this attempt's token (never a finished record, never another attempt's claim). */
  release(input: ReleaseInput): Promise<void>;
  /**
   * Optional admission control, asked before a session-creating request
   * claims anything: false refuses the new session (503), so that a flood of
   * new sessions cannot take the memory existing sessions need to write.
   * (redisStore does not implement it: its begin and commit scripts refuse
   * every kind of growth past its reserve themselves, by throwing.)
   */
  admitSession?(now: number): Promise<boolean>;
  /** Extends an existing session's idle lifetime without changing data or versions. */
  touch(input: TouchInput): Promise<void>;
  /** Closes connections the store opened itself. */
  close(): Promise<void>;
}

/** A store failure the validator reports as 503; stores may throw it with a cause. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
