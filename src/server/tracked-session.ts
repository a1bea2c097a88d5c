import type { StandardSchemaV1 } from './standard-schema.js';
import { canonicalJson, JsonValueError } from './canonical-json.js';
import { InvalidValueError, UndeclaredKeyError } from './errors.js';
import type { RouteKeys } from './declarations.js';
import type { RotationRequest } from './rotation.js';
import type { StoredEntry } from './store.js';

/**
 * The session as a handler sees it: only its route's keys, every access
 * tracked. `Values`: the keys it may read (with their value types); `Written`:
 * those it may set and delete.
 */
export interface TrackedSession<Values extends Record<string, unknown> = Record<string, unknown>, Written extends keyof Values & string = keyof Values & string> {
  /** The session's epoch ("" for a visitor, or before a creating request commits). */
  readonly epoch: string;
  /** The key's value (a fresh copy), or undefined when absent. Marks the key as read. */
  get<K extends keyof Values & string>(key: K): Values[K] | undefined;
  /** The key's version as this request knows it (0 = never existed). Marks the key as read. */
  version(key: keyof Values & string): number;
  /** Sets a key this route writes. Throws InvalidValueError when its schema rejects the value. */
  set<K extends Written>(key: K, value: Values[K]): void;
  /** Deletes a key this route writes: a versioned change, like a set. */
  delete(key: Written): void;
  /** Ends the session (logout) when the request commits: every key goes, and the id answers 410 from then on (the browser's next request's 410 clears its cookie). */
  destroy(): void;
  /**
   * Gives the session a new unguessable id and a new epoch when the request
   * commits (login, privilege change: the defence against session fixation);
   * the answer sets the new cookie, and the old id answers 410 from then on.
   * Only in a route declared `rotates: true`.
   * @example session.set('user', user.id); session.rotate();
   */
  rotate(options?: RotateOptions): void;
  /**
   * Commits the changes made so far, atomically, with the same checks as the
   * final commit; later changes are compared with what it committed. Throws
   * SessionCommitError when nothing could be applied.
   */
  commit(): Promise<void>;
}

/** Canonical JSON of a value set on `key`; a depth or non-finite fault is the key's InvalidValueError (422). */
function canonicalValue(key: string, value: unknown): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    if (error instanceof JsonValueError) throw new InvalidValueError(key, [{ path: error.path, message: error.message }]);
    throw error;
  }
}

export interface RotateOptions {
  /**
   * Which of the session's keys from before the rotating request move to the
   * new session, with their values and versions: `true` all of them, `false`
   * none, or a list of key names (each a key of the route: declare it in
   * `reads`). The keys the rotating request itself sets or deletes always
   * land in the new session, before or after `rotate()` alike. A key from
   * before may have been written by whoever planted the session (a fixation
   * attempt): carry what is harmless to inherit (a cart), never what steers a
   * redirect or grants (a `returnTo`, a role). With `false` or a list the
   * answer's `Session-Rotated` says `keys=?0`, and its `Session-Versions`
   * name the kept keys.
   * @default true
   * @example session.set('user', user.id); session.rotate({ keepKeys: ['cart'] });
   */
  keepKeys?: boolean | readonly string[];
  /** With an app's own `sessionId()` resolver (only then): the id the session moves to. */
  id?: string;
}

export type { SchemaMap } from './standard-schema.js';

/** The mutable state behind a TrackedSession, read by the pipeline. */
export class SessionTracker {
  /** Keys the handler read (their versions go into the compare-and-swap). */
  readonly read = new Set<string>();
  /** Pending changes since the last commit: canonical JSON, or null for a delete. */
  readonly pending = new Map<string, string | null>();
  destroyed = false;
  /** What `rotate()` asked for; applied by the final commit. */
  rotation: RotationRequest | null = null;

  constructor(
    /** The state the pending changes are compared with: round trip 1's, then each commit's. */
    readonly base: Map<string, StoredEntry>,
    private readonly route: RouteKeys,
    private readonly writable: boolean,
    private readonly schemas: ReadonlyMap<string, StandardSchemaV1>,
    public epoch: string,
    private readonly commitNow: () => Promise<void>,
    /** The app resolves session ids itself (`options.sessionId`): a rotation needs the id it moves to. */
    private readonly appIds = false,
  ) {}

  /** Keys whose pending value differs from the base, as the store's `changes`. */
  changes(): Map<string, string | null> {
    const changes = new Map<string, string | null>();
    for (const [key, value] of this.pending) {
      const current = this.base.get(key)?.value ?? null;
      if (value !== current) changes.set(key, value);
    }
    return changes;
  }

  /** After a commit: the committed values become the base. */
  rebase(changes: ReadonlyMap<string, string | null>, versions: ReadonlyMap<string, number>): void {
    for (const [key, value] of changes) {
      const version = versions.get(key) ?? 0;
      this.base.set(key, value === null ? { version } : { version, value });
    }
    // Keep what the handler set while the commit was on its way: only what was committed is done.
    for (const [key, value] of [...this.pending]) {
      const base = this.base.get(key)?.value ?? null;
      if (value === base) this.pending.delete(key);
    }
  }

  /** Every key whose version the commit must check, besides the declared ones. */
  touched(): Set<string> {
    return new Set([...this.read, ...this.pending.keys()]);
  }

  session(): TrackedSession {
    const tracker = this;
    const assertReadable = (key: string) => {
      if (!tracker.route.reads.has(key) && !tracker.route.writes.has(key)) throw new UndeclaredKeyError(key, 'read');
    };
    const assertWritable = (key: string) => {
      if (!tracker.writable || !tracker.route.writes.has(key)) throw new UndeclaredKeyError(key, 'write');
      if (tracker.destroyed) throw new TypeError(`session.set/delete(${JSON.stringify(key)}): the session was destroyed in this request`);
    };
    return {
      get epoch() {
        return tracker.epoch;
      },
      get(key) {
        assertReadable(key);
        tracker.read.add(key);
        if (tracker.destroyed) return undefined;
        const text = tracker.pending.has(key) ? tracker.pending.get(key) : tracker.base.get(key)?.value;
        return text == null ? undefined : JSON.parse(text);
      },
      version(key) {
        assertReadable(key);
        tracker.read.add(key);
        return tracker.base.get(key)?.version ?? 0;
      },
      set(key, value) {
        assertWritable(key);
        const schema = tracker.schemas.get(key);
        let accepted: unknown = value;
        // A hostile shape (too deep, non-finite) is refused before a schema walks it: a recursive schema would overflow the stack.
        if (schema) canonicalValue(key, value);
        if (schema) {
          const result = schema['~standard'].validate(value);
          if (result instanceof Promise) throw new TypeError(`The schema of ${JSON.stringify(key)} is asynchronous; session schemas must validate synchronously`);
          if (result.issues) {
            throw new InvalidValueError(
              key,
              result.issues.map((issue) => ({
                path: (issue.path ?? []).map((segment) => {
                  const step = typeof segment === 'object' ? segment.key : segment;
                  return typeof step === 'number' ? step : String(step);
                }),
                message: issue.message,
              })),
            );
          }
          accepted = result.value;
        }
        if (accepted === undefined) throw new TypeError(`session.set(${JSON.stringify(key)}, undefined): use session.delete() to remove a key`);
        tracker.pending.set(key, canonicalValue(key, accepted));
      },
      delete(key) {
        assertWritable(key);
        tracker.pending.set(key, null);
      },
      destroy() {
        if (!tracker.writable) throw new TypeError('session.destroy(): a logout changes the session; declare the route `ends: true` (or the keys it writes)');
        if (tracker.rotation) throw new TypeError('session.destroy(): this request already rotates the session; a request either rotates or ends it');
        tracker.destroyed = true;
      },
      rotate(options = {}) {
        if (!tracker.route.rotates) throw new TypeError("session.rotate(): declare the route `rotates: true` in its route table entry (login: { method: 'POST', path: '/login', rotates: true }), or in the declaration it was mounted with");
        if (tracker.destroyed) throw new TypeError('session.rotate(): the session was destroyed in this request');
        const { keepKeys = true, id } = options;
        if (typeof keepKeys !== 'boolean') {
          if (!Array.isArray(keepKeys) || !keepKeys.every((key) => typeof key === 'string')) throw new TypeError('session.rotate({ keepKeys }): keepKeys must be true, false or a list of key names');
          // Kept keys are read (their versions go into the compare-and-swap and the answer): the route must declare them.
          for (const key of keepKeys) assertReadable(key);
          for (const key of keepKeys) tracker.read.add(key);
        }
        if (tracker.appIds) {
          if (typeof id !== 'string' || id.length === 0) throw new TypeError('session.rotate({ id }): with options.sessionId the app owns session ids; pass the new id');
          tracker.rotation = { keepKeys, id };
        } else {
          if (id !== undefined) throw new TypeError('session.rotate({ id }): only with options.sessionId; the validator picks the new id of a session it manages');
          tracker.rotation = { keepKeys };
        }
      },
      commit() {
        return tracker.commitNow();
      },
    };
  }
}
