/**
 * One mutex per session id, the way PHP's file sessions and Laravel's
 * `->block()` hold a session: each request of a session waits for the one
 * before it (a promise chain per session). Used by the demo's lock mode and
 * by bench/peers, so that both measure the same lock.
 */
export function sessionLocks(): (sessionId: string) => Promise<() => void> {
  const tails = new Map<string, Promise<void>>();
  return async (sessionId) => {
    const before = tails.get(sessionId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    tails.set(sessionId, tail);
    await before;
    return () => {
      if (tails.get(sessionId) === tail) tails.delete(sessionId);
      release();
    };
  };
}
