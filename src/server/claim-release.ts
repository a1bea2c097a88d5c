import type { ValidatorEvent } from './options.js';
import type { ReleaseInput, SessionStore } from './store.js';

/**
 * Gives back the claims of attempts that ended, even when the store was down
 * as they ended (issue 20 §5). A release that fails is retried in the
 * background, with backoff, until the claim's lease ends (after it, a resend
 * takes the claim over anyway); a resend that meets the claim (409) in this
 * process releases it at once. Every retry goes through the store's
 * token-checked `release()`, which deletes only a claim that is still
 * pending and still bears the attempt's token.
 *
 * Why a release is safe in each case an attempt ends (PROTOCOL.md,
 * "Idempotency", says the same):
 * - It answered without committing (410, 412, no change, the handler threw or
 *   answered 5xx, begin failed twice): nothing of it was written but the
 *   pending claim. A begin still in flight that lands after the release takes
 *   the claim again; that blocks the key for a lease, never applies anything.
 * - Its commit failed with an unknown outcome (the store failed after the call
 *   was sent):
 *   - it applied: the same atomic operation replaced the pending claim with the
 *     record (done or partial, no token): release finds nothing to delete, and
 *     the resend replays the record;
 *   - it did not, and never will: the release frees the key for the resend;
 *   - it has not yet, and will (a PostgreSQL statement still queued behind a
 *     row lock on a connection the pool gave up on): the resend may claim the
 *     key meanwhile. Both attempts then carry the same bases (a write's commit
 *     checks the version of every key it changes; a logout or a login checks
 *     the epoch; a creation checks that the session does not exist), so only
 *     the first of the two commits applies and the other is stale: the data
 *     is applied once. If the late one wins, its record replaces the resend's
 *     claim and the resend answers 412, which a blind client resends
 *     unchanged and gets the late commit's recorded answer.
 * - A mid-request commit applied part of it: the claim is a partial record,
 *   never released (a resend gets 409 until the lease ends, then the
 *   partly-committed answer).
 * - The process crashed: no one is left to release; the claim blocks the key
 *   until its lease (`leaseMs`) ends.
 */
export class ClaimReleaser {
  /** Releases that failed, by session id and Idempotency-Key, waiting for the store to answer again. */
  private readonly waiting = new Map<string, WaitingRelease>();
  private closed = false;
  private lastSweep = 0;

  constructor(
    private readonly store: SessionStore,
    private readonly now: () => number,
    private readonly onEvent: (event: ValidatorEvent) => void,
  ) {}

  /** Gives the claim back now; if the store fails, again in the background until `leaseEndsAt`. */
  async release(claim: ReleaseInput, leaseEndsAt: number, url: string): Promise<void> {
    try {
      await this.store.release(claim);
    } catch (error) {
      this.onEvent({ type: 'store-error', error, url, phase: 'release' });
      this.retryLater(claim, leaseEndsAt);
    }
  }

  /**
   * A begin met the claim of `key` in flight: if it belongs to an attempt of
   * this process that ended (its release failed), release it now. True when
   * it was released, so that the begin may claim the key.
   */
  async releaseEnded(sessionId: string, key: string): Promise<boolean> {
    const waiting = this.waiting.get(idOf(sessionId, key));
    if (!waiting) return false;
    return this.attempt(waiting);
  }

  /** The store answered a call: every waiting release is tried now rather than at the end of its backoff. */
  storeAnswered(): void {
    // Many requests answer at once when the store comes back: one sweep is enough.
    const now = Date.now();
    if (this.waiting.size === 0 || now - this.lastSweep < FIRST_BACKOFF_MS) return;
    this.lastSweep = now;
    for (const waiting of this.waiting.values()) {
      if (waiting.timer === null) continue; // being tried now
      clearTimeout(waiting.timer);
      waiting.timer = null;
      void this.attempt(waiting);
    }
  }

  /** Stops every background retry (the claims then end with their leases). */
  close(): void {
    this.closed = true;
    for (const waiting of this.waiting.values()) if (waiting.timer) clearTimeout(waiting.timer);
    this.waiting.clear();
  }

  private retryLater(claim: ReleaseInput, leaseEndsAt: number): void {
    if (this.closed || this.now() >= leaseEndsAt) return;
    const id = idOf(claim.sessionId, claim.key);
    // A newer attempt's failed release of the same key replaces the older one's: the older claim was taken over.
    const previous = this.waiting.get(id);
    if (previous?.timer) clearTimeout(previous.timer);
    const waiting: WaitingRelease = { id, claim, leaseEndsAt, tries: 0, timer: null };
    this.waiting.set(id, waiting);
    this.schedule(waiting);
  }

  private schedule(waiting: WaitingRelease): void {
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** waiting.tries) * (0.5 + Math.random() / 2);
    waiting.timer = setTimeout(() => {
      waiting.timer = null;
      void this.attempt(waiting);
    }, delay);
    // A background retry must never keep the process alive.
    waiting.timer.unref?.();
  }

  /** One try; true once the store answered the release (whatever it deleted). */
  private async attempt(waiting: WaitingRelease): Promise<boolean> {
    if (this.waiting.get(waiting.id) !== waiting) return false;
    if (this.closed || this.now() >= waiting.leaseEndsAt) {
      this.waiting.delete(waiting.id);
      return false;
    }
    if (waiting.trying) return waiting.trying;
    waiting.tries++;
    waiting.trying = this.store.release(waiting.claim).then(
      () => {
        if (this.waiting.get(waiting.id) === waiting) this.waiting.delete(waiting.id);
        return true;
      },
      () => {
        waiting.trying = undefined;
        if (this.waiting.get(waiting.id) === waiting && !this.closed) this.schedule(waiting);
        return false;
      },
    );
    return waiting.trying;
  }
}

/** The first retry comes after about this long, each next one after twice as long, up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 500;

interface WaitingRelease {
  readonly id: string;
  readonly claim: ReleaseInput;
  readonly leaseEndsAt: number;
  tries: number;
  timer: ReturnType<typeof setTimeout> | null;
  /** The try in flight, if any. */
  trying?: Promise<boolean> | undefined;
}

function idOf(sessionId: string, key: string): string {
  return `${sessionId}\n${key}`;
}
