/**
 * The race kit's history: what the drivers record and the checker, the HTML
 * report and the timelines read. One format for every driver (Playwright tabs,
 * Node HTTP clients) and every server under test, ours or not, so that a
 * history exported from one place (a bench, the devtools panel) can be
 * checked and drawn by another. Plain JSON: no Dates, no Maps, no functions.
 *
 * Times are milliseconds since the history's `startedAt`, on one monotonic
 * clock per history (a driver that runs in several pages maps each page's
 * clock onto its own).
 */

/** The `format` field of every history; bump the suffix on an incompatible change. */
export const HISTORY_FORMAT = 'session-lanes/race-history@1';

/**
 * What an operation is to the checker:
 * - `append`: a write that adds its unique `token` to the session (a list append, Elle's model);
 * - `increment`: a write that adds one to a counter (`token` still names the operation);
 * - `read`: a read of what the session holds (`observed` / `observedCount`);
 * - `login`: a request that may rotate the session (the session it ran in moves to `sessionAfter`);
 * - `logout`: a request that ends the session it ran in.
 */
export type OperationKind = 'append' | 'increment' | 'read' | 'login' | 'logout';

/** One step of a request on its way, for the timeline (optional: a driver that sees none omits them). */
export interface OperationEvent {
  readonly at: number;
  /**
   * `queued`: waiting (for a lane, a lock, a free connection); `sent`: an attempt on the wire;
   * `conflict`: a 412 or another rejection that is retried; `retry`: a resend after a backoff;
   * `answered`: an attempt's answer arrived.
   */
  readonly type: 'queued' | 'sent' | 'conflict' | 'retry' | 'answered';
  readonly status?: number;
  readonly detail?: string;
}

export interface Operation {
  /** Unique within the history. */
  readonly id: string;
  /** Who issued it: one tab, page or HTTP client (`tab-1`, `client-3`); one process runs one operation at a time or many. */
  readonly process: string;
  readonly kind: OperationKind;
  /** The unique token a write carries (append and increment), so that a read can name who wrote what. */
  readonly token?: string;
  /** The session key (or logical list) it touches, for timeline rows; scenarios with several keys set it. */
  readonly key?: string;
  readonly method: string;
  /** The URL as sent (absolute). */
  readonly url: string;
  /** When the first attempt was sent (or queued, for a driver that cannot tell). */
  readonly sentAt: number;
  /** When its final answer arrived; absent when none did (network error, abort, closed tab). */
  readonly answeredAt?: number;
  /** The final HTTP status; absent when no answer arrived. */
  readonly status?: number;
  /** Why there is no answer (the network error's message, `aborted`, `tab closed`). */
  readonly error?: string;
  /**
   * The session the request was sent in: an opaque, stable name of the session cookie's value
   * (a hash, never the cookie itself), or absent when it carried none.
   */
  readonly session?: string;
  /** The session its answer left the client in, when the answer set or cleared the cookie (`''`: cleared). */
  readonly sessionAfter?: string;
  /** A read's view: every token the session held (duplicates kept, in the order the server gave). */
  readonly observed?: readonly string[];
  /** A read of a counter: the value. */
  readonly observedCount?: number;
  /** A read made after the burst, over a quiet connection: the view the checker judges. */
  readonly final?: boolean;
  /**
   * A read that takes what it observes (a flash message): across every consuming read of a session,
   * each token is handed out exactly once. Added optional field; absent means a plain read.
   */
  readonly consumes?: boolean;
  readonly events?: readonly OperationEvent[];
}

export interface History {
  readonly format: typeof HISTORY_FORMAT;
  /** The seed that drew the schedule: the same seed against the same server gives the same schedule. */
  readonly seed: number;
  /** The scenario's name (`distinct-keys`, `read-erases-write`, `increments`, `logout-in-flight`, `login-in-flight`, `flash`, or the fuzzer's own). */
  readonly scenario: string;
  /** Which driver recorded it (`node-http1`, `node-http2`, `playwright`, `fuzzer`, `devtools`). */
  readonly driver: string;
  /** The server under test, as the user named it (a base URL). */
  readonly target: string;
  /** Wall-clock start, ISO 8601: only for the report's header; `sentAt` and `answeredAt` count from it. */
  readonly startedAt: string;
  readonly operations: readonly Operation[];
}
