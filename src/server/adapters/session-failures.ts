/**
 * Under a framework's own handlers (Express's `withSession()`, Hono's), an
 * error the tracked session throws (an invalid value, an undeclared key, a
 * failed mid-request commit) travels the framework's error path and would
 * come out as its generic 500 page. The adapter hands the session through
 * `watchedSession()`, which remembers the first such error, and answers with
 * the validator's own problem for it, as `validator.route()` does.
 */
import type { TrackedSession } from '../tracked-session.js';

/** The first error a watched session threw, if any. */
export interface SessionFailures {
  error?: unknown;
}

/** A view of `session` that records in `failures` the first error one of its methods throws (or rejects with), and rethrows it. */
export function watchedSession<S extends TrackedSession>(session: S, failures: SessionFailures): S {
  const record = (error: unknown) => {
    if (!('error' in failures)) failures.error = error;
    return error;
  };
  const watched: Record<string, unknown> = {};
  for (const name of ['get', 'version', 'set', 'delete', 'destroy', 'rotate', 'commit'] as const) {
    const method = (session as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
    if (typeof method !== 'function') continue;
    watched[name] = (...args: unknown[]) => {
      let result: unknown;
      try {
        result = method.apply(session, args);
      } catch (error) {
        throw record(error);
      }
      return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(record(error))) : result;
    };
  }
  return Object.defineProperty(watched, 'epoch', { get: () => session.epoch, enumerable: true }) as unknown as S;
}

/** Express's own error page (finalhandler's, when no error handler of the app answered): never a protocol answer. */
export function isExpressErrorPage(response: Response): boolean {
  return response.status >= 500 && response.headers.get('content-security-policy') === "default-src 'none'" && response.headers.get('x-content-type-options') === 'nosniff';
}
