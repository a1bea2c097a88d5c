import type {
  BeginInput,
  BeginResult,
  ClaimOutcome,
  CommitInput,
  CommitResult,
  ReleaseInput,
  SessionStore,
  StoredEntry,
  TouchInput,
} from '../store.js';

interface MemorySession {
  epoch: string;
  expiresAt: number;
  entries: Map<string, StoredEntry>;
}

interface MemoryRecord {
  fingerprint: string;
  state: 'pending' | 'partial' | 'done';
  /** Until when a pending or partial record answers in-flight. */
  leaseUntil: number;
  answer?: string;
  expiresAt: number;
  /** A pending claim's attempt. */
  token?: string;
}

export interface MemoryStoreOptions {
  /** How often, at most, expired sessions and records are swept (lazily, during calls). @default 60_000 */
  sweepIntervalMs?: number;
}

/**
 * The embedded store: one process, no dependencies. For tests, the demo and
 * single-process apps. Every call runs to completion without awaiting, so
 * each is atomic by construction. Expiry is checked lazily on access, and
 * expired sessions and records are swept at most once per sweep interval.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const sessions = new Map<string, MemorySession>();
  const records = new Map<string, MemoryRecord>();
  let nextSweep = 0;

  // NUL cannot appear in a session id we issue; it keeps the two parts apart.
  const recordId = (sessionId: string, key: string) => `${sessionId}\u0000${key}`;

  function sweep(now: number): void {
    if (now < nextSweep) return;
    nextSweep = now + sweepIntervalMs;
    for (const [id, session] of sessions) if (session.expiresAt <= now) sessions.delete(id);
    for (const [id, record] of records) if (record.expiresAt <= now) records.delete(id);
  }

  function liveSession(sessionId: string, now: number): MemorySession | null {
    const session = sessions.get(sessionId);
    if (!session) return null;
    if (session.expiresAt <= now) {
      sessions.delete(sessionId);
      return null;
    }
    return session;
  }

  function claim(sessionId: string, input: NonNullable<BeginInput['claim']>, now: number): ClaimOutcome {
    const id = recordId(sessionId, input.key);
    const existing = records.get(id);
    // A pending claim with this attempt's own token is its own: a begin retried after its outcome was unknown.
    const own = existing?.state === 'pending' && existing.token === input.token;
    if (existing && existing.expiresAt > now && !own) {
      if (existing.fingerprint !== input.fingerprint) return { status: 'mismatch' };
      if (existing.state === 'done' && existing.answer !== undefined) return { status: 'replay', answer: existing.answer };
      if (existing.leaseUntil > now) return { status: 'in-flight', retryAfterMs: existing.leaseUntil - now };
      // A partial record whose request died: its recorded answer stands, so that the committed part is never applied twice.
      if (existing.state === 'partial' && existing.answer !== undefined) return { status: 'replay', answer: existing.answer };
      // A pending claim whose lease ran out: the attempt died; this one takes over.
    }
    records.set(id, { fingerprint: input.fingerprint, state: 'pending', leaseUntil: now + input.leaseMs, expiresAt: now + input.leaseMs, token: input.token });
    return { status: 'claimed' };
  }

  function entriesOf(session: MemorySession, keys: Iterable<string>): Map<string, StoredEntry> {
    const result = new Map<string, StoredEntry>();
    for (const key of keys) result.set(key, session.entries.get(key) ?? { version: 0 });
    return result;
  }

  function releasePending(sessionId: string, key: string, token: string): void {
    const id = recordId(sessionId, key);
    const record = records.get(id);
    if (record?.state === 'pending' && record.token === token) records.delete(id);
  }

  return {
    async begin({ sessionId, keys, claim: wanted, touch, now }: BeginInput): Promise<BeginResult> {
      sweep(now);
      const session = liveSession(sessionId, now);
      if (session && touch) session.expiresAt = Math.max(session.expiresAt, now + touch.idleTtlMs);
      const result: BeginResult = {
        session: session ? { epoch: session.epoch } : null,
        entries: session ? entriesOf(session, keys) : new Map(),
        ...(wanted ? { claim: claim(sessionId, wanted, now) } : {}),
      };
      return result;
    },

    async commit(input: CommitInput): Promise<CommitResult> {
      const { sessionId, now } = input;
      let session = liveSession(sessionId, now);
      const fail = (result: CommitResult): CommitResult => {
        if (input.record) releasePending(sessionId, input.record.key, input.record.token);
        return result;
      };
      if (input.session.mode === 'existing') {
        if (!session || session.epoch !== input.session.epoch) return fail({ status: 'gone' });
      } else if (session) {
        return fail({ status: 'stale', entries: entriesOf(session, input.expect.keys()) });
      }
      const current = session?.entries ?? new Map<string, StoredEntry>();
      for (const [key, version] of input.expect) {
        if ((current.get(key)?.version ?? 0) !== version) {
          return fail({ status: 'stale', entries: session ? entriesOf(session, input.expect.keys()) : new Map() });
        }
      }

      const versions = new Map<string, number>();
      if (input.destroy) {
        sessions.delete(sessionId);
      } else {
        session ??= { epoch: input.session.epoch, expiresAt: 0, entries: new Map() };
        sessions.set(sessionId, session);
        session.expiresAt = now + input.idleTtlMs;
        for (const [key, value] of input.changes) {
          const version = (session.entries.get(key)?.version ?? 0) + 1;
          session.entries.set(key, value === null ? { version } : { version, value });
          versions.set(key, version);
        }
      }
      if (input.record) {
        const { key, fingerprint, answer, state, retentionMs, leaseMs } = input.record;
        records.set(recordId(sessionId, key), {
          fingerprint,
          state,
          answer,
          leaseUntil: state === 'partial' ? now + leaseMs : now,
          expiresAt: now + retentionMs,
        });
      }
      return { status: 'committed', versions };
    },

    async release({ sessionId, key, token }: ReleaseInput): Promise<void> {
      releasePending(sessionId, key, token);
    },

    async touch({ sessionId, epoch, idleTtlMs, now }: TouchInput): Promise<void> {
      const session = liveSession(sessionId, now);
      if (session && session.epoch === epoch) session.expiresAt = Math.max(session.expiresAt, now + idleTtlMs);
    },

    async close(): Promise<void> {
      sessions.clear();
      records.clear();
    },
  };
}
