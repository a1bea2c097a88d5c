import type { BeginResult, CommitResult, StoredEntry } from '../store.js';

/**
 * What round trip 2 returned, and what the request does with it: pure. The
 * driver (commit-call.ts) sends the commit and, when its outcome is unknown,
 * asks the store what became of it (unknown-commit.ts).
 */
export type CommitDecision =
  /** Applied: the committed keys get these versions (each changed key's base + 1). */
  | { readonly kind: 'committed'; readonly versions: ReadonlyMap<string, number> }
  /** `session.rotate({ id })` named an id that holds something: nothing applied; the store released the claim. */
  | { readonly kind: 'occupied' }
  /**
   * Nothing applied, the store released the claim ('gone': the session ended, or has another epoch; 'stale': a
   * key moved). `claimLost`: a mid-request commit's failure, after which nothing may commit (its resend would apply it again).
   */
  | { readonly kind: 'failed'; readonly reason: 'gone' | 'stale'; readonly entries?: ReadonlyMap<string, StoredEntry>; readonly claimLost: boolean }
  /** A rotation's retry met the id rotated away: perhaps by this very commit, landed late. Ask (decideOutcome). */
  | { readonly kind: 'ask-outcome' };

/** What the request knows of its own commit: which rotation it makes, if any, and its state before. */
export interface CommitFacts {
  /** The rotation this commit makes (the new id and epoch), if it rotates. */
  readonly rotation: ExpectedRotation | null;
  /** The commit was sent again after a first one's unknown outcome. */
  readonly retried: boolean;
  readonly partial: boolean;
  readonly claimed: boolean;
  /** The versions it gives the keys it changes; none after a destroy. */
  readonly nextVersions: ReadonlyMap<string, number>;
}

export interface ExpectedRotation {
  readonly sessionId: string;
  readonly epoch: string;
}

export function decideCommitResult(result: CommitResult | 'applied', facts: CommitFacts): CommitDecision {
  if (result === 'applied') return { kind: 'committed', versions: facts.nextVersions };
  switch (result.status) {
    case 'committed':
      return { kind: 'committed', versions: result.versions };
    case 'occupied':
      return { kind: 'occupied' };
    case 'gone':
      // The first commit's outcome was unknown and it landed after the query found it pending: the id is its tombstone.
      if (result.rotated === true && facts.retried && facts.rotation) return { kind: 'ask-outcome' };
      return { kind: 'failed', reason: 'gone', claimLost: !facts.partial && facts.claimed };
    case 'stale':
      return { kind: 'failed', reason: 'stale', entries: result.entries, claimLost: !facts.partial && facts.claimed };
  }
}

export type CommitOutcome = 'applied' | 'not-applied' | 'unknown';

/**
 * What became of a final commit with an unknown outcome, from round trip 1 asked again with the attempt's own
 * claim (same token): its record (a finished record of this fingerprint, which only this attempt can have
 * written while it holds the claim) means applied; its claim still pending means not applied (the same commit
 * may go again: both expect the same bases, so at most one applies); the id rotated away to the very id and
 * epoch this commit rotates to means applied (the epoch is this attempt's own random token); anything else, or
 * no answer, is unknown (503, the claim released).
 */
export function decideOutcome(begun: BeginResult | null, key: string, rotation: ExpectedRotation | null): CommitOutcome {
  if (begun === null) return 'unknown';
  const tombstone = begun.rotated;
  if (tombstone && rotation && tombstone.recordKey === key && tombstone.sessionId === rotation.sessionId && tombstone.epoch === rotation.epoch) return 'applied';
  if (begun.claim?.status === 'replay') return 'applied';
  if (begun.claim?.status === 'claimed') return 'not-applied';
  return 'unknown';
}

/**
 * The Set-Cookie a commit's answer carries: none under the app's ids, and none for a logout (the browser's
 * other tabs may have made the next session before its answer arrives, under the same name: the dead cookie
 * goes with the 410 of the next request that names no epoch); a rotation's new cookie; a creation's cookie;
 * else whatever the request already answers.
 */
export function commitCookie(facts: { readonly appIds: boolean; readonly destroy: boolean; readonly rotationCookie: string | null; readonly creationCookie: string | null; readonly current: string | null }): string | null {
  if (facts.appIds || facts.destroy) return null;
  return facts.rotationCookie ?? facts.creationCookie ?? facts.current;
}
