/**
 * Events for observers: a timeline of each request through its lanes
 * (queued → sent → committed | conflict/retry → … | failed), and what
 * happens to the tab: the session ended, a fallback, an outbox entry dropped.
 */
import type { PendingWrite } from './pending.js';

/** What every event of a request carries. */
export interface RequestEventBase {
  /** When it happened: ms since the Unix epoch, sub-millisecond and monotonic within a page (`performance.timeOrigin + performance.now()`). */
  readonly at: number;
  /** The request's id, unique within one client. */
  readonly id: number;
  /** Keys the request declared as read. */
  readonly reads: readonly string[];
  /** Keys the request declared as written. */
  readonly writes: readonly string[];
}

export type SessionClientEvent =
  | (RequestEventBase &
      (
        /** Waiting for its lanes. */
        | { readonly type: 'queued' }
        /** Lanes held; an attempt goes on the wire (attempt 1 is the first send). */
        | { readonly type: 'sent'; readonly attempt: number }
        /** Answered, and the answer stands (for a request that writes nothing: served). Lanes are released right after. */
        | { readonly type: 'committed'; readonly status: number }
        /** A 412: another writer moved a declared key. */
        | { readonly type: 'conflict'; readonly attempt: number }
        /** About to resend after `delay` ms. */
        | { readonly type: 'retry'; readonly reason: 'stale' | 'in-progress' | 'unavailable' | 'network'; readonly delay: number }
        /** Rejected (also on abort); lanes are released right after. */
        | { readonly type: 'failed'; readonly error: unknown }
      ))
  | ({ readonly at: number } & (
      /**
       * The session `epoch` ended: a 410, a logout, or another session seen, in this tab or another. The
       * cache is void, writes queued for it are rejected unsent, and the outbox forgets its writes.
       */
      | { readonly type: 'sessionended'; readonly epoch: string | undefined }
      /**
       * The session was rotated (a login): epoch `from` moved to `to`, in this tab or another; told once per
       * tab. Writes queued for `from` go out in `to`; the versions moved along when the keys were kept.
       */
      | { readonly type: 'rotated'; readonly from: string; readonly to: string }
      /**
       * Reported once per part: `locks`, no Web Locks (lanes, the first write and the outbox's claims stay
       * within the tab); `storage`, IndexedDB missing or failing (versions and the outbox stay in memory).
       */
      | { readonly type: 'fallback'; readonly part: 'locks' | 'storage'; readonly error: unknown }
      /**
       * An outbox entry forgotten. A write of a tab that is gone, not replayed: never sent and built by `rebase` ('rebase'), queued
       * longer ago than `maxAge` ('expired'; a sent session-creating write: 120 s, the server's replay window),
       * replayed as sent and answered 412 ('stale': its body was computed from values that changed; it is never
       * resent), or one this client could not have written ('invalid': a field missing, extra or mistyped, `at`
       * in the future, a header off the allowlist, not a write route of the table or, without one, not a
       * same-origin POST/PUT/PATCH/DELETE with Session-Write). `entry` is then what was found, as is. Or
       * dropped by hand, `client.dropOutboxEntry()` in this tab ('manual'; `entry` is the `OutboxEntry` it was).
       */
      | { readonly type: 'dropped'; readonly reason: 'rebase' | 'expired' | 'stale' | 'invalid' | 'manual'; readonly entry: PendingWrite }
    ));

export type SessionClientEventType = SessionClientEvent['type'];
export type SessionClientEventOf<T extends SessionClientEventType> = Extract<SessionClientEvent, { type: T }>;
export type Listener<T extends SessionClientEventType | '*'> = (event: T extends SessionClientEventType ? SessionClientEventOf<T> : SessionClientEvent) => void;

export interface Emitter {
  on<T extends SessionClientEventType | '*'>(type: T, listener: Listener<T>): () => void;
  emit(event: SessionClientEvent): void;
  /** Whether anyone listens: events are not even built otherwise. */
  active(): boolean;
}

export function createEmitter(): Emitter {
  const listeners = new Map<string, Set<(event: SessionClientEvent) => void>>();
  let count = 0;
  return {
    active: () => count > 0,
    on(type, listener) {
      const set = listeners.get(type) ?? new Set();
      listeners.set(type, set);
      const fn = listener as (event: SessionClientEvent) => void;
      if (!set.has(fn)) count++;
      set.add(fn);
      return () => {
        if (set.delete(fn)) count--;
      };
    },
    emit(event) {
      for (const type of [event.type, '*']) {
        for (const listener of listeners.get(type) ?? []) {
          try {
            listener(event);
          } catch (error) {
            // An observer's bug must not change a request's outcome; report it like an uncaught error.
            setTimeout(() => {
              throw error;
            });
          }
        }
      }
    },
  };
}
