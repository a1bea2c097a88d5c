import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createValidator } from '../../src/server/index.js';
import { postgresStore, type PostgresPool } from '../../src/server/stores/postgres.js';
import { startServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';
import { storeConformance } from '../store-conformance.js';
import { dropPostgresTables } from '../support/each-store.js';
import { describeWithServer, POSTGRES_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

const unreachable = await tcpUnreachable(POSTGRES_URL);

describeWithServer('postgresStore', `PostgreSQL at ${POSTGRES_URL}`, unreachable, () => {
  const prefix = `sl_t${uniqueSuffix()}_`;
  // Each open() has its own pool: the suite's two stores act as two app servers. Tables are created on first use.
  storeConformance('postgresStore', {
    open: () => postgresStore({ pool: new pg.Pool({ connectionString: POSTGRES_URL, max: 10 }), tablePrefix: prefix }),
    cleanup: () => dropPostgresTables(prefix),
  });
});

/** A pool that counts its statements: each query() is one round trip (pg sends parse, bind and execute together). */
function countingPool(pool: pg.Pool): { pool: PostgresPool; statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    pool: {
      query: (text: string, values?: unknown[]) => {
        statements.push(text);
        return pool.query(text, values);
      },
      connect: async () => {
        statements.push('connect');
        return pool.connect();
      },
      end: () => pool.end(),
    },
  };
}

describeWithServer('postgresStore specifics', `PostgreSQL at ${POSTGRES_URL}`, unreachable, () => {
  const prefixes: string[] = [];
  const fresh = () => {
    const prefix = `sl_t${uniqueSuffix()}_`;
    prefixes.push(prefix);
    return prefix;
  };
  const pools: pg.Pool[] = [];
  const newPool = () => {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
    pools.push(pool);
    return pool;
  };

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
    for (const prefix of prefixes) await dropPostgresTables(prefix);
  });

  const tableCount = async (prefix: string) =>
    Number((await newPool().query(`SELECT count(*) FROM pg_tables WHERE tablename LIKE $1`, [`${prefix}%`])).rows[0].count);

  it('makes each call one statement (after the tables exist)', async () => {
    const prefix = fresh();
    const counted = countingPool(newPool());
    const store = postgresStore({ pool: counted.pool, tablePrefix: prefix });
    await store.migrate();
    counted.statements.length = 0;
    const now = Date.now();
    const sessionId = `rt-${uniqueSuffix()}`;
    await store.begin({ sessionId, keys: ['a', 'b'], claim: { key: 'idem-rt-000000001', fingerprint: 'f', leaseMs: 30_000, token: 'attempt-1' }, touch: { idleTtlMs: 60_000 }, now });
    expect(counted.statements).toHaveLength(1);
    const created = await store.commit({
      sessionId,
      now,
      session: { mode: 'create', epoch: 'e1' },
      expect: new Map([['a', 0], ['b', 0]]),
      changes: new Map<string, string | null>([['a', '1'], ['b', null]]),
      destroy: false,
      idleTtlMs: 60_000,
      record: { key: 'idem-rt-000000001', fingerprint: 'f', answer: 'x', state: 'done', retentionMs: 60_000, leaseMs: 30_000, token: 'attempt-1' },
    });
    expect(created).toEqual({ status: 'committed', versions: new Map([['a', 1], ['b', 1]]) });
    expect(counted.statements).toHaveLength(2);
    await store.release({ sessionId, key: 'idem-rt-000000002', token: 'attempt-1' });
    await store.touch({ sessionId, epoch: 'e1', idleTtlMs: 60_000, now });
    await store.begin({ sessionId, keys: ['a'], now });
    await store.commit({ sessionId, now, session: { mode: 'existing', epoch: 'e1' }, expect: new Map([['a', 1]]), changes: new Map(), destroy: true, idleTtlMs: 1 });
    expect(counted.statements).toHaveLength(6);
    expect(counted.statements.every((text) => !/^\s*(BEGIN|COMMIT)/i.test(text))).toBe(true);
  });

  it('creates its tables on first use', async () => {
    const prefix = fresh();
    const counted = countingPool(newPool());
    const store = postgresStore({ pool: counted.pool, tablePrefix: prefix });
    expect(await tableCount(prefix)).toBe(0);
    const result = await store.begin({ sessionId: 'x', keys: ['a'], now: Date.now() });
    expect(result.session).toBeNull();
    expect(await tableCount(prefix)).toBe(4);
    // The statement failed on the missing table, migrate() ran on one connection, the statement ran again.
    expect(counted.statements.filter((text) => text === 'connect')).toHaveLength(1);
  });

  it('fails, without creating anything, on first use when autoMigrate is off', async () => {
    const prefix = fresh();
    const store = postgresStore({ pool: newPool(), tablePrefix: prefix, autoMigrate: false });
    await expect(store.begin({ sessionId: 'x', keys: [], now: Date.now() })).rejects.toMatchObject({ name: 'StoreUnavailableError', cause: { code: '42P01' } });
    expect(await tableCount(prefix)).toBe(0);
  });

  it('migrate() is idempotent and safe from several processes at once', async () => {
    const prefix = fresh();
    const stores = Array.from({ length: 6 }, () => postgresStore({ pool: newPool(), tablePrefix: prefix }));
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    expect(await tableCount(prefix)).toBe(4);
  });

  it('adds the claim token column to a records table made without it: by migrate(), and on first use', async () => {
    const columns = async (prefix: string) =>
      (await newPool().query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name = 'claim_token'`, [`${prefix}records`])).rows.length;
    const withoutToken = async (prefix: string) => {
      const setup = newPool();
      await setup.query(
        `CREATE TABLE "${prefix}sessions" (id text PRIMARY KEY, epoch text NOT NULL, expires_at bigint NOT NULL, versions jsonb NOT NULL DEFAULT '{}');
         CREATE TABLE "${prefix}entries" (session_id text NOT NULL, key text NOT NULL, value text NOT NULL, PRIMARY KEY (session_id, key));
         CREATE TABLE "${prefix}records" (session_id text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, state text NOT NULL,
           answer text, lease_until bigint NOT NULL, expires_at bigint NOT NULL, PRIMARY KEY (session_id, key));`,
      );
      expect(await columns(prefix)).toBe(0);
    };
    const now = Date.now();
    const claim = (token: string) => ({ key: 'idem-old-table-01', fingerprint: 'f', leaseMs: 30_000, token });

    const migrated = fresh();
    await withoutToken(migrated);
    const store = postgresStore({ pool: newPool(), tablePrefix: migrated, autoMigrate: false });
    await store.migrate();
    await store.migrate();
    expect(await columns(migrated)).toBe(1);
    expect((await store.begin({ sessionId: 's', keys: [], claim: claim('a'), now })).claim).toEqual({ status: 'claimed' });

    const firstUse = fresh();
    await withoutToken(firstUse);
    const lazy = postgresStore({ pool: newPool(), tablePrefix: firstUse });
    expect((await lazy.begin({ sessionId: 's', keys: [], claim: claim('a'), now })).claim).toEqual({ status: 'claimed' });
    expect(await columns(firstUse)).toBe(1);
    await lazy.release({ sessionId: 's', key: 'idem-old-table-01', token: 'b' });
    expect((await lazy.begin({ sessionId: 's', keys: [], claim: claim('c'), now: now + 1 })).claim).toEqual({ status: 'in-flight', retryAfterMs: 29_999 });
  });

  it('sweep() deletes expired sessions with their entries, and expired records, and nothing live', async () => {
    const prefix = fresh();
    const pool = newPool();
    const store = postgresStore({ pool, tablePrefix: prefix });
    const now = Date.now();
    const create = (sessionId: string, idleTtlMs: number) =>
      store.commit({
        sessionId,
        now,
        session: { mode: 'create', epoch: 'e1' },
        expect: new Map([['a', 0]]),
        changes: new Map([['a', '1']]),
        destroy: false,
        idleTtlMs,
        record: { key: `idem-${sessionId}-0000000`, fingerprint: 'f', answer: 'x', state: 'done', retentionMs: idleTtlMs, leaseMs: 1, token: 'attempt-1' },
      });
    await create('short', 1_000);
    await create('long', 60_000);
    expect(await store.sweep(now + 999)).toEqual({ sessions: 0, records: 0 });
    expect(await store.sweep(now + 1_000)).toEqual({ sessions: 1, records: 1 });
    const entries = await pool.query(`SELECT session_id FROM "${prefix}entries" ORDER BY 1`);
    expect(entries.rows).toEqual([{ session_id: 'long' }]);
    expect((await store.begin({ sessionId: 'long', keys: ['a'], now: now + 1_000 })).entries.get('a')).toEqual({ version: 1, value: '1' });
  });

  it('never deadlocks: begin (claim + touch) and commit (record) of one key, racing on two pools', async () => {
    const prefix = fresh();
    const [a, b] = [postgresStore({ pool: newPool(), tablePrefix: prefix }), postgresStore({ pool: newPool(), tablePrefix: prefix })];
    const now = Date.now();
    const day = 86_400_000;
    await a.commit({ sessionId: 's', now, session: { mode: 'create', epoch: 'e' }, expect: new Map(), changes: new Map(), destroy: false, idleTtlMs: day });
    const failures: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const at = now + i * 10;
      const key = `idem-race-${i % 5}-000000`;
      const claim = (token: string) => ({ key, fingerprint: 'f', leaseMs: 1, token: `${token}-${i}` });
      const record = (token: string) => ({ key, fingerprint: 'f', answer: 'a', state: 'partial' as const, retentionMs: 5, leaseMs: 1, token: `${token}-${i}` });
      const base = { sessionId: 's', now: at, session: { mode: 'existing' as const, epoch: 'e' }, expect: new Map(), changes: new Map(), destroy: false, idleTtlMs: day };
      const settled = await Promise.allSettled([
        a.begin({ sessionId: 's', keys: ['x'], claim: claim('a'), touch: { idleTtlMs: day }, now: at }),
        b.commit({ ...base, record: record('b') }),
        b.begin({ sessionId: 's', keys: ['x'], claim: claim('b'), touch: { idleTtlMs: day }, now: at }),
        a.commit({ ...base, record: record('a') }),
      ]);
      for (const outcome of settled) if (outcome.status === 'rejected') failures.push(outcome.reason);
    }
    expect(failures).toEqual([]);
  });

  it("412 bodies over HTTP: 20 concurrent writes from one base on one key each say v=2 with the winner's value", async () => {
    const prefix = fresh();
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 24 });
    pools.push(pool);
    const store = postgresStore({ pool, tablePrefix: prefix });
    const validator = createValidator({ store, secret: 'a shared secret of at least thirty-two bytes' });
    const server = await startServer({
      '/pick': validator.route({ writes: ['pick'] }, async (request, session) => {
        session.set('pick', await request.text());
        return Response.json({});
      }),
    });
    // One connection holds the lock; another watches (pg_stat_activity is a snapshot within a transaction).
    const [blocker, watcher] = [new pg.Client({ connectionString: POSTGRES_URL }), new pg.Client({ connectionString: POSTGRES_URL })];
    await Promise.all([blocker.connect(), watcher.connect()]);
    try {
      const browser = new Browser(server.url);
      const pick = (body: string, base: number) => browser.send('/pick', { headers: { 'session-write': `"pick";v=${base}`, 'idempotency-key': idemKey() }, body });
      expect((await pick('first', 0)).status).toBe(200); // pick at v=1
      // Hold the session row, so that all 20 commits start (their snapshots taken) and queue on its lock together.
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "${prefix}sessions" FOR UPDATE`);
      const answers = Promise.all(Array.from({ length: 20 }, (_, i) => pick(`writer-${i}`, 1)));
      const waiting = async () =>
        Number((await watcher.query(`SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%"${prefix}sessions"%FOR UPDATE%`])).rows[0].count);
      while ((await waiting()) < 20) await new Promise((resolve) => setTimeout(resolve, 10));
      await blocker.query('ROLLBACK');
      const all = await answers;
      const winners = all.filter((answer) => answer.status === 200);
      expect(winners).toHaveLength(1);
      const winner = `writer-${all.indexOf(winners[0]!)}`;
      const stale = all.filter((answer) => answer.status === 412);
      expect(stale).toHaveLength(19);
      for (const answer of stale) {
        expect(answer.json().keys).toEqual({ pick: { version: 2, value: winner } });
        expect(answer.versions()).toEqual({ pick: 2 });
      }
    } finally {
      await Promise.all([blocker.end(), watcher.end()]);
      await server.close();
      await store.close();
    }
  });

  it('rejects a table prefix that is not a plain identifier', () => {
    expect(() => postgresStore({ pool: newPool(), tablePrefix: 'x"; DROP TABLE y; --' })).toThrow(TypeError);
    expect(() => postgresStore({ pool: newPool(), tablePrefix: 'Upper_' })).toThrow(TypeError);
  });
});
