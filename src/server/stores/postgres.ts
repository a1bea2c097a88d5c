import pg from 'pg';
import {
  StoreUnavailableError,
  type BeginInput,
  type BeginResult,
  type ClaimOutcome,
  type CommitInput,
  type CommitResult,
  type ReleaseInput,
  type SessionStore,
  type StoredEntry,
  type TouchInput,
} from '../store.js';
import { beginSql, commitSql, occupiedSql, readSql, releaseSql, rotateSql, schema, sweepSql, tables, tombstoneSql, touchSql } from './postgres-sql.js';

/** What the store needs of a pg Pool (a Pool, or a wrapper around one). */
export interface PostgresPool {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<PooledClient>;
  end(): Promise<void>;
}

/** A client checked out of the pool (pg's PoolClient has all of it). */
export interface PooledClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
  release(error?: Error | boolean): void;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

export interface PostgresStoreOptions {
  /**
   * A pg `Pool` the app owns, or a connection string for a pool the store
   * opens and `close()` ends.
   * @example postgresStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) })
   */
  pool?: PostgresPool;
  /** Used when `pool` is not given. @default process.env.DATABASE_URL */
  connectionString?: string;
  /**
   * Prepended to the three table names (`sessions`, `entries`, `records`):
   * lower-case letters, digits and `_`, starting with a letter or `_`.
   * @default 'session_lanes_'
   */
  tablePrefix?: string;
  /**
   * Create the tables (or add a missing column) on first use. Turn it off where
   * the app's role may not create tables, and run `migrate()` at deploy time.
   * @default true
   */
  autoMigrate?: boolean;
}

/** The PostgreSQL store: a SessionStore plus its maintenance calls. */
export interface PostgresSessionStore extends SessionStore {
  /**
   * Creates the tables and indexes if missing, and adds columns that tables
   * made by an earlier version lack (idempotent; safe to run from several
   * processes at once: it takes an advisory lock).
   */
  migrate(): Promise<void>;
  /**
   * Deletes expired sessions (their entries with them) and expired
   * idempotency records. Expiry is already exact without it (every call
   * compares `expires_at` with `now`); sweeping only reclaims space. Run it
   * every few minutes from one process, e.g. `setInterval(() => store.sweep(), 300_000)`.
   * @returns How many sessions and records it deleted.
   */
  sweep(now?: number): Promise<{ sessions: number; records: number }>;
}

const PREFIX = /^[a-z_][a-z0-9_]{0,40}$/;

/**
 * A session store on PostgreSQL (>= 12), for any number of app servers. Each
 * call is one SQL statement (CTEs, `unnest` for the keys), atomic and one
 * round trip, correct under READ COMMITTED: writers of one session are
 * serialized by the session row's lock, and the compare-and-swap checks the
 * versions held in that row. Any database failure (down, lost connection,
 * read-only: SQLSTATE 25006) is thrown as a StoreUnavailableError with the
 * pg error as its `cause`; a statement that fails applies nothing.
 */
export function postgresStore(options: PostgresStoreOptions = {}): PostgresSessionStore {
  const prefix = options.tablePrefix ?? 'session_lanes_';
  if (!PREFIX.test(prefix)) throw new TypeError(`postgresStore(): tablePrefix must match ${PREFIX}, got ${JSON.stringify(prefix)}`);
  const owned = options.pool === undefined;
  const pool: PostgresPool = options.pool ?? ownPool(options.connectionString ?? process.env.DATABASE_URL);
  const t = tables(prefix);
  const autoMigrate = options.autoMigrate ?? true;

  /**
   * A client held for several statements. A connection cut meanwhile makes
   * pg emit 'error' on it, and the pool listens only to idle clients: heard
   * by no one, it would crash the process. The statement in flight fails by
   * itself, so the event is only listened to; a client given back whole
   * loses the listener (the pool reuses it), a failed one is discarded.
   */
  async function hold(): Promise<PooledClient> {
    const client = await pool.connect();
    const ignore = () => {};
    client.on?.('error', ignore);
    const release = client.release.bind(client);
    return Object.assign(client, {
      release(failed?: Error | boolean) {
        if (!failed) client.removeListener?.('error', ignore);
        release(failed);
      },
    });
  }

  async function migrate(): Promise<void> {
    const client = await hold();
    let failed = true;
    try {
      await client.query('BEGIN');
      // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog; one migration at a time.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`session-lanes:${prefix}`]);
      await client.query(schema(t));
      await client.query('COMMIT');
      failed = false;
    } finally {
      if (failed) await client.query('ROLLBACK').catch(() => {});
      client.release(failed);
    }
  }

  /** One statement; on a missing table or column (first use) migrate and run it again. */
  async function run(operation: string, statement: { text: string; values: unknown[] }) {
    try {
      try {
        return await pool.query(statement.text, statement.values);
      } catch (error) {
        // 42P01 undefined_table, 42703 undefined_column (a table from before a column was added):
        // the failed statement applied nothing, so running it again is safe.
        const code = (error as { code?: string }).code;
        if (!autoMigrate || (code !== '42P01' && code !== '42703')) throw error;
        await migrate();
        return await pool.query(statement.text, statement.values);
      }
    } catch (error) {
      throw new StoreUnavailableError(`postgresStore: ${operation} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  /**
   * A rotating commit: the commit statement, then the move, in one
   * transaction (the commit statement's row lock keeps every other writer of
   * the session waiting until both are in). Rotations are logins: rare
   * enough for the extra round trips.
   */
  async function commitAndRotate(statement: { text: string; values: unknown[] }, rotate: Parameters<typeof rotateSql>[1] & { now: number }): Promise<CommitRow | 'occupied'> {
    const attempt = async () => {
      const client = await hold();
      let failed = true;
      try {
        await client.query('BEGIN');
        const row = ((await client.query(statement.text, statement.values)) as { rows: CommitRow[] }).rows[0]!;
        if (row.committed) {
          // An id the app gives may already be in use: never move a session over another; undo the commit instead.
          const occupied = occupiedSql(t, rotate.to, rotate.now);
          if (((await client.query(occupied.text, occupied.values)) as { rows: unknown[] }).rows.length > 0) {
            await client.query('ROLLBACK');
            failed = false;
            return 'occupied' as const;
          }
          await client.query(rotateSql(t, rotate).text, rotateSql(t, rotate).values);
        }
        await client.query('COMMIT');
        failed = false;
        return row;
      } finally {
        if (failed) await client.query('ROLLBACK').catch(() => {});
        client.release(failed);
      }
    };
    try {
      try {
        return await attempt();
      } catch (error) {
        if (!autoMigrate || (error as { code?: string }).code !== '42P01') throw error;
        await migrate();
        return await attempt();
      }
    } catch (error) {
      throw new StoreUnavailableError(`postgresStore: commit failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  return {
    shared: true,
    async begin({ sessionId, keys, claim, touch, now }: BeginInput): Promise<BeginResult> {
      const statement = beginSql(t, {
        sessionId,
        now,
        keys,
        ...(claim
          ? { claim: { key: claim.key, fingerprint: claim.fingerprint, leaseUntil: now + claim.leaseMs, token: claim.token, ...(claim.alsoUnder !== undefined ? { alsoUnder: claim.alsoUnder } : {}) } }
          : {}),
        ...(touch ? { touchUntil: now + touch.idleTtlMs } : {}),
      });
      const row = (await run('begin', statement)).rows[0] as BeginRow;
      const answered = claim?.alsoUnder !== undefined ? { answeredFor: row.answered_for ?? sessionId } : {};
      if (row.rotated_to !== null) {
        const rotated = { sessionId: row.rotated_to, epoch: row.rotated_epoch!, recordKey: row.record_key!, replayUntil: Number(row.replay_until) };
        return { session: null, entries: new Map(), rotated, ...answered };
      }
      const live = typeof row.epoch === 'string';
      const epoch = row.epoch ?? '';
      const entries = new Map<string, StoredEntry>();
      if (live) for (const key of keys) entries.set(key, entry(row.versions?.[key], row.values?.[key]));
      return {
        session: live ? { epoch } : null,
        entries,
        ...(claim ? { claim: claimOutcome(row, claim.fingerprint, now) } : {}),
        ...answered,
      };
    },

    async commit(input: CommitInput): Promise<CommitResult> {
      const { sessionId, session, expect, changes, record, now } = input;
      const expectPresent: Record<string, number> = {};
      const expectAbsent: string[] = [];
      for (const [key, version] of expect) {
        if (version > 0) expectPresent[key] = version;
        else expectAbsent.push(key);
      }
      const newVersions: Record<string, number> = {};
      const setKeys: string[] = [];
      const setValues: string[] = [];
      const deleteKeys: string[] = [];
      for (const [key, value] of changes) {
        const expected = expect.get(key);
        // The CAS proves the current version is the expected one, so the next is known here.
        if (expected === undefined) throw new TypeError(`postgresStore.commit(): changed key ${JSON.stringify(key)} is not in expect`);
        newVersions[key] = session.mode === 'create' ? 1 : expected + 1;
        if (value === null) deleteKeys.push(key);
        else {
          setKeys.push(key);
          setValues.push(value);
        }
      }
      const statement = commitSql(t, {
        sessionId,
        now,
        mode: session.mode,
        epoch: session.epoch,
        destroy: input.destroy,
        expiresAt: now + input.idleTtlMs,
        expectPresent,
        expectAbsent,
        expectAllAbsent: expectAbsent.length === expect.size,
        newVersions,
        setKeys,
        setValues,
        deleteKeys,
        expectKeys: [...expect.keys()],
        ...(record
          ? {
              record: {
                key: record.key,
                fingerprint: record.fingerprint,
                answer: record.answer,
                state: record.state,
                leaseUntil: record.state === 'partial' ? now + record.leaseMs : now,
                expiresAt: now + record.retentionMs,
                token: record.token,
              },
            }
          : {}),
      });
      const { rotate } = input;
      const row = rotate
        ? await commitAndRotate(statement, {
            from: sessionId,
            to: rotate.sessionId,
            epoch: rotate.epoch,
            keepKeys: rotate.keepKeys,
            keptKeys: rotate.keptKeys ?? [],
            recordKey: record?.key ?? '',
            replayUntil: now + rotate.replayWindowMs,
            expiresAt: now + input.idleTtlMs,
            now,
          })
        : ((await run('commit', statement)).rows[0] as CommitRow);
      if (row === 'occupied') {
        // The rolled-back commit wrote nothing, so the pending claim is still there: give it back, as any failed commit does.
        if (record) await run('commit', releaseSql(t, sessionId, record.key, record.token));
        return { status: 'occupied' };
      }
      if (row.committed) return { status: 'committed', versions: new Map(input.destroy ? [] : Object.entries(newVersions)) };
      if (row.verdict === 'gone') {
        // A rotation that committed while this statement waited for the row lock is not in the statement's snapshot: ask again.
        const rotated = row.rotated || (await run('commit', tombstoneSql(t, sessionId, now))).rows.length > 0;
        return rotated ? { status: 'gone', rotated: true } : { status: 'gone' };
      }
      let current: { live: boolean; columns: EntryColumns } = { live: row.snapshot_live, columns: row };
      if (snapshotLagged(row)) {
        // The check failed against a writer that committed after this statement's snapshot: read
        // versions and values again, together, from a snapshot that includes it.
        const read = (await run('commit', readSql(t, sessionId, now, [...expect.keys()]))).rows[0] as BeginRow;
        current = { live: typeof read.epoch === 'string', columns: read };
      }
      const entries = new Map<string, StoredEntry>();
      if (current.live) for (const key of expect.keys()) entries.set(key, entry(current.columns.versions?.[key], current.columns.values?.[key]));
      return { status: 'stale', entries };
    },

    async release({ sessionId, key, token }: ReleaseInput): Promise<void> {
      await run('release', releaseSql(t, sessionId, key, token));
    },

    async touch({ sessionId, epoch, idleTtlMs, now }: TouchInput): Promise<void> {
      await run('touch', touchSql(t, sessionId, epoch, now, now + idleTtlMs));
    },

    async close(): Promise<void> {
      if (owned) await pool.end();
    },

    async migrate(): Promise<void> {
      try {
        await migrate();
      } catch (error) {
        throw new StoreUnavailableError(`postgresStore: migrate failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      }
    },

    async sweep(now = Date.now()) {
      const row = (await run('sweep', sweepSql(t, now))).rows[0] as { sessions: number; records: number };
      return { sessions: Number(row.sessions), records: Number(row.records) };
    },
  };
}

function ownPool(connectionString: string | undefined): PostgresPool {
  const pool = new pg.Pool({ ...(connectionString ? { connectionString } : {}), connectionTimeoutMillis: 5_000 });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', () => {});
  return pool as unknown as PostgresPool;
}

function entry(version: unknown, value: unknown): StoredEntry {
  const v = version === undefined || version === null ? 0 : Number(version);
  return typeof value === 'string' ? { version: v, value } : { version: v };
}

/** jsonb maps of the requested keys (null when none): versions as numbers, values as text. */
interface EntryColumns {
  versions: Record<string, number> | null;
  values: Record<string, string> | null;
}

interface ClaimRow {
  claimed: boolean | null;
  fingerprint: string | null;
  state: string | null;
  answer: string | null;
  /** bigint: pg returns it as text. */
  lease_until: string | number | null;
}

interface BeginRow extends EntryColumns, ClaimRow {
  epoch: string | null;
  /** The tombstone's columns, all null unless the id was rotated away. */
  rotated_to: string | null;
  rotated_epoch: string | null;
  record_key: string | null;
  replay_until: string | number | null;
  /** With a claim's alsoUnder: the id the row is for. */
  answered_for?: string;
}

interface CommitRow extends EntryColumns {
  committed: boolean;
  verdict: 'ok' | 'stale' | 'gone';
  rotated: boolean;
  snapshot_live: boolean;
  /** The session row as the lock saw it: its newest version, which the check ran against. */
  locked_live: boolean;
  locked_versions: Record<string, number> | null;
}

/**
 * True when the statement's snapshot is older than what its check saw: the
 * lock waited for a writer (the locked versions differ), or the check passed
 * on the snapshot and the write still found a session created since.
 */
function snapshotLagged(row: CommitRow): boolean {
  if (row.verdict === 'ok' || row.locked_live !== row.snapshot_live) return true;
  const locked = row.locked_versions ?? {};
  const seen = row.versions ?? {};
  const keys = new Set([...Object.keys(locked), ...Object.keys(seen)]);
  return [...keys].some((key) => Number(locked[key]) !== Number(seen[key]));
}

/** The claim's outcome from the newest record, as the begin statement returned it. */
function claimOutcome(row: ClaimRow, fingerprint: string, now: number): ClaimOutcome {
  if (row.claimed) return { status: 'claimed' };
  if (row.fingerprint !== fingerprint) return row.answer === null || row.answer === undefined ? { status: 'mismatch' } : { status: 'mismatch', answer: row.answer };
  if (row.state === 'done') return { status: 'replay', answer: row.answer ?? '' };
  const leaseUntil = Number(row.lease_until);
  if (leaseUntil > now) return { status: 'in-flight', retryAfterMs: leaseUntil - now };
  // A partial record whose request died: its answer stands, so that the committed part is never applied twice.
  return { status: 'replay', answer: row.answer ?? '' };
}
