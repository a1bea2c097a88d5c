/**
 * Events for observers: a timeline of each request through its lanes
 * (queued → sent → committed | conflict/retry → … | failed).
 */

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

export type SessionClientEvent = RequestEventBase &
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
    /** The session this request was made for ended (410): the cache is void, queued requests of that session are rejected. */
    | { readonly type: 'sessionended'; readonly epoch: string | undefined }
  );

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
