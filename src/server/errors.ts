import type { StoredEntry } from './store.js';

/** Thrown by the tracked session when a handler uses a key its route does not declare: a programming error (500). */
export class UndeclaredKeyError extends Error {
  override name = 'UndeclaredKeyError';
  constructor(
    readonly key: string,
    readonly access: 'read' | 'write',
  ) {
    super(
      access === 'read'
        ? `session.get(${JSON.stringify(key)}): the route does not declare this key`
        : `session.set/delete(${JSON.stringify(key)}): the route does not declare this key as written`,
    );
  }
}

export interface ValueIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Thrown by `session.set()` when a value fails its key's zod schema (422 if uncaught). */
export class InvalidValueError extends Error {
  override name = 'InvalidValueError';
  constructor(
    readonly key: string,
    readonly issues: readonly ValueIssue[],
  ) {
    super(`session.set(${JSON.stringify(key)}): ${issues.map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`).join('; ')}`);
  }
}

/**
 * Thrown by a mid-request `session.commit()` that could not apply: nothing of
 * that commit was applied. `reason` says why: 'stale' (a key moved: 412),
 * 'gone' (the session ended: 410), 'unavailable' (the store failed: 503).
 */
export class SessionCommitError extends Error {
  override name = 'SessionCommitError';
  constructor(
    readonly reason: 'stale' | 'gone' | 'unavailable',
    readonly entries?: ReadonlyMap<string, StoredEntry>,
    options?: { cause?: unknown },
  ) {
    super(
      {
        stale: 'session.commit(): a key changed since this request read it; nothing was applied',
        gone: 'session.commit(): the session ended; nothing was applied',
        unavailable: 'session.commit(): the session store failed; nothing was applied',
      }[reason],
      options,
    );
  }
}
