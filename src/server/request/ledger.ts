import type { SessionCommitError } from '../errors.js';

/**
 * What one request knows about its session as it goes, as plain data: set at
 * round trip 1, moved on only by the pure transitions below (each returns a
 * new ledger), read by every answer. The driver keeps the one current ledger.
 */
export interface Ledger {
  readonly sessionId: string;
  /** 'create': the session does not exist yet; the next commit makes it. */
  readonly mode: 'existing' | 'create';
  /** This request creates its session (true still after a mid-request commit made it): its id comes from its key. */
  readonly createsSession: boolean;
  /** The Session-Epoch its answers carry. */
  readonly epoch: string;
  /** The Set-Cookie its answers carry, if any. */
  readonly cookie: string | null;
  /** The Idempotency-Key claim this attempt holds (released, or taken by the store, it is null). */
  readonly claim: HeldClaim | null;
  /** A commit applied (a mid-request one, or the final one): the claim is a record now, never released. */
  readonly partial: boolean;
  /** A mid-request commit failed before any part applied: the store released the claim, so nothing may commit after it. */
  readonly claimLost: SessionCommitError | null;
}

export interface HeldClaim {
  readonly sessionId: string;
  readonly key: string;
  readonly token: string;
}

export const EMPTY_LEDGER: Ledger = { sessionId: '', mode: 'existing', createsSession: false, epoch: '', cookie: null, claim: null, partial: false, claimLost: null };

/** Round trip 1 decided to run the handler on this session. */
export function begun(ledger: Ledger, sessionId: string, mode: 'existing' | 'create', epoch: string, claim: HeldClaim | null): Ledger {
  return { ...ledger, sessionId, mode, createsSession: mode === 'create', epoch, claim };
}

/** A commit applied: the session exists, maybe under a new id and epoch, and the claim is a record. */
export function committed(ledger: Ledger, sessionId: string, epoch: string, cookie: string | null): Ledger {
  return { ...ledger, sessionId, mode: 'existing', epoch, cookie: cookie ?? ledger.cookie, partial: true };
}

/** The claim is no longer this attempt's to give back (released, or released by the store with a failed commit). */
export function claimGone(ledger: Ledger, lost: SessionCommitError | null = null): Ledger {
  return { ...ledger, claim: null, claimLost: lost ?? ledger.claimLost };
}

export function withCookie(ledger: Ledger, cookie: string | null): Ledger {
  return { ...ledger, cookie };
}

export function withEpoch(ledger: Ledger, epoch: string): Ledger {
  return { ...ledger, epoch };
}
