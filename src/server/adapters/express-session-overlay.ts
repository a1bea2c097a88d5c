import type { TrackedSession } from '../tracked-session.js';

/**
 * Under `withSession()`, the route's keys on express-session's `req.session`
 * (or any session object an earlier middleware put on `req`) read and write
 * the tracked session, so that a handler written for express-session
 * (`req.session.cart = [...]`, `req.session.cart.push(sku)`) moves to
 * session-lanes without changing a line. Other properties stay
 * express-session's.
 */
export interface Overlay {
  /**
   * At the end of the handler: applies what was changed in place
   * (`req.session.cart.push()`), migrates a written key's old
   * express-session value into the tracked session, and gives
   * express-session its object back without the route's keys, so that its
   * whole-session save never carries them again.
   */
  finish(): void;
}

export function overlaySession(target: object, session: TrackedSession, reads: readonly string[], writes: readonly string[]): Overlay {
  const handedOut = new Map<string, unknown>();
  const legacy = new Map<string, unknown>();
  const installed: string[] = [];
  /** A refused write (an undeclared key, a value its schema rejects): the answer is the validator's problem for it, whatever Express's error handler wrote. */
  let refused: unknown = null;
  for (const key of [...reads, ...writes]) {
    const own = Object.getOwnPropertyDescriptor(target, key);
    // express-session's own members (cookie, id, regenerate(), save()…): never shadowed.
    if (key === 'cookie' || (own && (!own.enumerable || !own.configurable)) || (!own && key in target)) {
      throw new TypeError(
        `session-lanes: the route's key ${JSON.stringify(key)} is also a member of req.session's own (express-session's req.session.${key}); rename the key, or read it from res.locals.session`,
      );
    }
    if (own && 'value' in own) legacy.set(key, own.value);
    const writable = writes.includes(key);
    Object.defineProperty(target, key, {
      configurable: true,
      enumerable: false,
      get() {
        if (handedOut.has(key)) return handedOut.get(key);
        const value = session.version(key) > 0 || !legacy.has(key) ? session.get(key) : structuredClone(legacy.get(key));
        handedOut.set(key, value);
        return value;
      },
      set(value: unknown) {
        try {
          if (!writable || value !== undefined) session.set(key, value); // a key the route only reads: UndeclaredKeyError, naming it
          else session.delete(key);
        } catch (error) {
          refused ??= error;
          throw error;
        }
        handedOut.set(key, value);
      },
    });
    installed.push(key);
  }
  return {
    finish() {
      for (const key of installed) delete (target as Record<string, unknown>)[key];
      if (refused) {
        for (const [key, value] of legacy) (target as Record<string, unknown>)[key] = value;
        throw refused;
      }
      for (const key of installed) {
        if (!writes.includes(key)) {
          // A key this route only reads stays where it was, for a route that writes it to migrate.
          if (legacy.has(key)) (target as Record<string, unknown>)[key] = legacy.get(key);
          continue;
        }
        if (handedOut.has(key)) {
          const value = handedOut.get(key);
          if (value === undefined) {
            if (session.version(key) > 0) session.delete(key);
          } else session.set(key, value); // no change when equal (canonical JSON)
        } else if (legacy.has(key) && session.version(key) === 0 && legacy.get(key) !== undefined) {
          session.set(key, legacy.get(key));
        }
      }
    },
  };
}
