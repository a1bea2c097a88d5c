import type { ValidatorEvent } from './options.js';
import type { ReleaseInput, SessionStore } from './store.js';

/**
 * Gives back the claims of attempts that ended, even when the store was down
 * as they ended (issue 20 §5). A release that fails is retried in the
 * background until the claim's lease ends (after it, a resend takes the claim
 * over anyway): one release at a time, oldest first, stopping at the first
 * failure and trying again after a backoff, so that a store coming back is
 * not met by a burst; any store call that succeeds starts the next round at
 * once. A resend that meets the claim (409) in this process releases it at
 * once. Every retry goes through the store's token-checked `release()`, which
 * deletes only a claim that is still pending and still bears the attempt's
 * token.
 *
 * Why a release is safe in each case an attempt ends (PROTOCOL.md,
 * "Idempotency", says the same):
 * - It answered without committing (410, 412, no change, the handler threw or
 *   answered 5xx, every try of begin failed): nothing of it was written but the
 *   pending claim. A begin still in flight that lands after the release takes
 *   the claim again; that blocks the key for a lease, never applies anything.
 * - Its commit failed with an unknown outcome (the store failed after the call
 *   was sent):
 *   - it applied: the same atomic operation replaced the pending claim with the
 *     record (done or partial, no longer pending): release deletes nothing, and
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
  /** Releases that failed, by session id and Idempotency-Key, oldest first, waiting for the store to answer again. */
  private readonly waiting = new Map<string, WaitingRelease>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private draining = false;
  /** Failed rounds in a row: the next round waits FIRST_BACKOFF_MS × 2^failures, at most MAX_BACKOFF_MS. */
  private failures = 0;
  private closed = false;

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
      if (this.closed || this.now() >= leaseEndsAt) return;
      const id = idOf(claim.sessionId, claim.key);
      // A newer attempt's failed release of the same key replaces the older one's (the older claim was taken over).
      this.waiting.delete(id);
      this.waiting.set(id, { claim, leaseEndsAt });
      if (!this.draining && this.timer === null) this.schedule();
    }
  }

  /**
   * A begin met the claim of `key` in flight: if it belongs to an attempt of
   * this process that ended (its release failed), release it now. True when
   * the store took the release, so that the begin may claim the key.
   */
  async releaseEnded(sessionId: string, key: string): Promise<boolean> {
    const id = idOf(sessionId, key);
    const waiting = this.waiting.get(id);
    if (!waiting || this.now() >= waiting.leaseEndsAt) return false;
    try {
      await this.store.release(waiting.claim);
    } catch {
      return false;
    }
    if (this.waiting.get(id) === waiting) this.waiting.delete(id);
    return true;
  }

  /** The store answered a call: the waiting releases are tried now rather than at the end of their backoff. */
  storeAnswered(): void {
    if (this.waiting.size === 0 || this.draining || this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.failures = 0;
    void this.drain();
  }

  /** Stops every background retry (the claims then end with their leases). */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
  }

  private schedule(): void {
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.failures) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, delay);
    // A background retry must never keep the process alive.
    this.timer.unref?.();
  }

  /** One round: each waiting release in turn, until one fails (the store is still down) or none is left. */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (const [id, waiting] of this.waiting) {
        if (this.closed) return;
        if (this.now() >= waiting.leaseEndsAt) {
          this.waiting.delete(id);
          continue;
        }
        try {
          await this.store.release(waiting.claim);
        } catch {
          this.failures++;
          return;
        }
        if (this.waiting.get(id) === waiting) this.waiting.delete(id);
        this.failures = 0;
      }
    } finally {
      this.draining = false;
      if (!this.closed && this.waiting.size > 0 && this.timer === null) this.schedule();
    }
  }
}

/** The first retry comes after about this long, each next one after twice as long, up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 500;

interface WaitingRelease {
  readonly claim: ReleaseInput;
  readonly leaseEndsAt: number;
}

function idOf(sessionId: string, key: string): string {
  return `${sessionId}\n${key}`;
}
