import { existsSync, rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, type ValidatorEvent } from '../../src/server/index.js';
import { StoreUnavailableError, type CommitInput, type SessionStore } from '../../src/server/store.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { freePort, startPostgres, startRedis, until, type PrivatePostgres, type PrivateRedis } from '../support/private-servers.js';
import { describeWithServer, POSTGRES_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

/**
 * Every store failure is a thrown StoreUnavailableError (the validator's
 * 503), with the driver's error as its cause, and nothing half applied.
 * Each failure is caused for real, on private servers for anything that
 * stops or breaks one; the tests run one at a time.
 */

const redisBinary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some(existsSync) ? null : 'redis-server is not installed';
const postgresBinaries = existsSync('/usr/lib/postgresql/15/bin/initdb') || process.env.SESSION_LANES_PG_BIN ? null : 'PostgreSQL 15 binaries are not installed';
const sharedPostgres = await tcpUnreachable(POSTGRES_URL);

const LEASE = 30_000;
const TTL = 3_600_000;

function createInput(sessionId: string, now: number): CommitInput {
  return { sessionId, now, session: { mode: 'create', epoch: 'e1' }, expect: new Map([['a', 0]]), changes: new Map([['a', '1']]), destroy: false, idleTtlMs: TTL };
}

function updateInput(sessionId: string, now: number, recordKey: string): CommitInput {
  return {
    sessionId,
    now,
    session: { mode: 'existing', epoch: 'e1' },
    expect: new Map([['a', 1]]),
    changes: new Map([['a', '2']]),
    destroy: false,
    idleTtlMs: TTL,
    record: { key: recordKey, fingerprint: 'f', answer: 'done', state: 'done', retentionMs: TTL, leaseMs: LEASE, token: 'attempt-1' },
  };
}

/** Expects the call to throw a StoreUnavailableError whose cause matches. */
async function expectUnavailable(call: Promise<unknown>, cause: RegExp | Record<string, unknown>): Promise<void> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(StoreUnavailableError);
  const { cause: actual } = error as StoreUnavailableError;
  if (cause instanceof RegExp) expect(String((actual as Error)?.message)).toMatch(cause);
  else expect(actual).toMatchObject(cause);
}

/** The writes a read-only store must refuse: claim, touch, commit, release (each must apply nothing). */
async function expectWritesRefused(store: SessionStore, sessionId: string, now: number, cause: RegExp | Record<string, unknown>) {
  await expectUnavailable(store.begin({ sessionId, keys: ['a'], claim: { key: 'idem-refused-0001', fingerprint: 'f', leaseMs: LEASE, token: 'attempt-1' }, now }), cause);
  await expectUnavailable(store.begin({ sessionId, keys: ['a'], touch: { idleTtlMs: 10 * TTL }, now }), cause);
  await expectUnavailable(store.commit(updateInput(sessionId, now, 'idem-refused-0002')), cause);
  await expectUnavailable(store.touch({ sessionId, epoch: 'e1', idleTtlMs: 10 * TTL, now }), cause);
  await expectUnavailable(store.release({ sessionId, key: 'idem-refused-0001', token: 'attempt-1' }), cause);
}

/** After refused writes: the data, the expiry and the records are exactly as before. */
async function expectUntouched(store: SessionStore, sessionId: string, now: number) {
  const read = await store.begin({ sessionId, keys: ['a'], now });
  expect(read.session).toEqual({ epoch: 'e1' });
  expect(read.entries.get('a')).toEqual({ version: 1, value: '1' });
  // Not touched: still expires at its original time.
  expect((await store.begin({ sessionId, keys: [], now: now + TTL })).session).toBeNull();
}

/** A read-only request through the validator: answered 200 although the store refuses the expiry touch (issue 7). */
async function expectReadServedDespiteRefusedTouch(store: SessionStore, sessionId: string) {
  const events: ValidatorEvent[] = [];
  const validator = createValidator({ store, sessionId: () => sessionId, touchIntervalMs: 1, onEvent: (event) => events.push(event) });
  const read = validator.route({ reads: ['a'] }, async (_request, session) => Response.json({ a: session.get('a') ?? null }));
  const response = await read(new Request('http://app.test/read', { headers: { 'session-read': '"a"' } }));
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ a: 1 });
  expect(events.map((event) => event.type)).toEqual(['touch-failed']);
}

describe.sequential('store failures (private servers)', () => {
  describeWithServer('Redis', 'redis-server', redisBinary, () => {
    const servers: PrivateRedis[] = [];
    const stores: SessionStore[] = [];
    const open = (url: string) => {
      const store = redisStore({ url, prefix: 'sl:' });
      stores.push(store);
      return store;
    };
    const start = async (extra: string[] = []) => {
      const server = await startRedis(extra);
      servers.push(server);
      return server;
    };

    afterAll(async () => {
      for (const store of stores) await store.close().catch(() => {});
      for (const server of servers) await server.stop();
    });

    it('refused connection: every call throws StoreUnavailableError, promptly', async () => {
      const store = open(`redis://127.0.0.1:${await freePort()}`);
      const started = Date.now();
      await expectUnavailable(store.begin({ sessionId: 's', keys: ['a'], now: started }), /ECONNREFUSED|connect|retries/i);
      await expectUnavailable(store.commit(createInput('s', started)), /ECONNREFUSED|connect|retries/i);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('a server that goes away: StoreUnavailableError', async () => {
      const server = await start();
      const store = open(server.url);
      const now = Date.now();
      expect((await store.commit(createInput('s', now))).status).toBe('committed');
      await server.stop();
      await expectUnavailable(store.begin({ sessionId: 's', keys: ['a'], now }), /.+/);
      await expectUnavailable(store.commit(updateInput('s', now, 'idem-gone-000001')), /.+/);
    });

    it('a connection lost during a call: StoreUnavailableError, and the script is not resent behind the caller\'s back', async () => {
      const server = await start();
      const store = open(server.url);
      const now = Date.now();
      expect((await store.commit(createInput('s', now))).status).toBe('committed');
      // Writes (scripts included) wait while the server is paused; meanwhile the store's connection is cut.
      await server.admin.call('CLIENT', 'PAUSE', '1000', 'WRITE');
      const commit = store.commit(updateInput('s', now, 'idem-cut-0000001'));
      commit.catch(() => {}); // rejects once the connection is cut, before expectUnavailable() awaits it
      await until('the commit to wait on the pause', async () => /flags=\w*b/.test(String(await server.admin.call('CLIENT', 'LIST', 'TYPE', 'normal'))));
      await server.admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await expectUnavailable(commit, /.+/);
      await server.admin.call('CLIENT', 'UNPAUSE');
      await new Promise((resolve) => setTimeout(resolve, 200)); // a resend, if any, would have run by now
      expect(await server.admin.hget('sl:{s}:v', 'a')).toBe('1');
      expect(await server.admin.exists('sl:{s}:r:idem-cut-0000001')).toBe(0);
      // The store reconnects for the next call.
      expect((await store.commit(updateInput('s', now, 'idem-cut-0000001'))).status).toBe('committed');
    });

    it('READONLY (a replica): reads still served, every write refused, nothing applied', async () => {
      const primary = await start(['--repl-diskless-sync-delay', '0']);
      const replica = await start(['--replicaof', '127.0.0.1', String(primary.port)]);
      const now = Date.now();
      expect((await open(primary.url).commit(createInput('s', now))).status).toBe('committed');
      await until('the replica to sync', async () => (await replica.admin.hget('sl:{s}:s', 'epoch')) === 'e1');
      const store = open(replica.url);
      await expectWritesRefused(store, 's', now, /READONLY/);
      await expectUntouched(store, 's', now);
      await expectReadServedDespiteRefusedTouch(store, 's');
      expect(await primary.admin.exists('sl:{s}:r:idem-refused-0001', 'sl:{s}:r:idem-refused-0002')).toBe(0);
    });

    it('OOM (maxmemory with noeviction): reads still served, every write refused, nothing applied', async () => {
      const server = await start(['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction']);
      const store = open(server.url);
      const now = Date.now();
      expect((await store.commit(createInput('s', now))).status).toBe('committed');
      // Filling memory up to the limit is not exact (query buffers come and go); a limit below what is used is.
      const used = Number(/used_memory:(\d+)/.exec(await server.admin.info('memory'))?.[1]);
      await server.admin.config('SET', 'maxmemory', String(used - 100_000));
      await expect(server.admin.set('probe', 'x')).rejects.toThrow(/OOM/);
      await expectWritesRefused(store, 's', now, /OOM/);
      await expectUntouched(store, 's', now);
      expect(await server.admin.exists('sl:{s}:r:idem-refused-0001', 'sl:{s}:r:idem-refused-0002')).toBe(0);
    });

    it('MISCONF (a failed RDB save): reads still served, every write refused, nothing applied', async () => {
      const server = await start(['--save', '3600 1']);
      const store = open(server.url);
      const now = Date.now();
      expect((await store.commit(createInput('s', now))).status).toBe('committed');
      // The save directory vanishes under the server, so the next save fails and stop-writes-on-bgsave-error stops writes.
      rmSync(server.dir, { recursive: true, force: true });
      await server.admin.bgsave();
      await until('the save to fail', async () => (await server.admin.info('persistence')).includes('rdb_last_bgsave_status:err'));
      await expectWritesRefused(store, 's', now, /MISCONF/);
      await expectUntouched(store, 's', now);
    });

    it('NOSCRIPT (script cache flushed): the store loads its scripts again', async () => {
      const server = await start();
      const store = open(server.url);
      const now = Date.now();
      expect((await store.commit(createInput('s', now))).status).toBe('committed');
      await server.admin.script('FLUSH');
      expect((await store.begin({ sessionId: 's', keys: ['a'], now })).entries.get('a')).toEqual({ version: 1, value: '1' });
      expect((await store.commit(updateInput('s', now, 'idem-noscript-01'))).status).toBe('committed');
    });
  });

  describeWithServer('PostgreSQL', `PostgreSQL at ${POSTGRES_URL}`, sharedPostgres, () => {
    const stores: SessionStore[] = [];
    const open = (connectionString: string, tablePrefix = 'sl_') => {
      const store = postgresStore({ connectionString, tablePrefix });
      stores.push(store);
      return store;
    };
    const dropped: (() => Promise<void>)[] = [];
    let admin: pg.Client;

    beforeAll(async () => {
      admin = new pg.Client({ connectionString: POSTGRES_URL });
      admin.on('error', () => {});
      await admin.connect();
    });

    afterAll(async () => {
      for (const store of stores) await store.close().catch(() => {});
      for (const drop of dropped) await drop().catch(() => {});
      await admin.end();
    });

    it('refused connection: StoreUnavailableError', async () => {
      const store = open(`postgres://postgres@127.0.0.1:${await freePort()}/test`);
      await expectUnavailable(store.begin({ sessionId: 's', keys: ['a'], now: Date.now() }), { code: 'ECONNREFUSED' });
    });

    it('read-only database (SQLSTATE 25006): reads still served, every write refused, nothing applied', async () => {
      const database = `sl_readonly_${uniqueSuffix()}`;
      await admin.query(`CREATE DATABASE ${database}`);
      dropped.push(() => admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).then(() => {}));
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${database}`;
      const now = Date.now();
      const writable = open(url.href);
      expect((await writable.commit(createInput('s', now))).status).toBe('committed');
      await writable.close();
      await admin.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
      const store = open(url.href);
      await expectWritesRefused(store, 's', now, { code: '25006' });
      await expectUntouched(store, 's', now);
      await expectReadServedDespiteRefusedTouch(store, 's');
    });

    it('a connection lost in the middle of a commit: StoreUnavailableError, nothing applied, the store recovers', async () => {
      const prefix = `sl_t${uniqueSuffix()}_`;
      dropped.push(() => admin.query(`DROP TABLE IF EXISTS "${prefix}sessions", "${prefix}entries", "${prefix}records", "${prefix}tombstones"`).then(() => {}));
      const store = open(POSTGRES_URL, prefix);
      const now = Date.now();
      expect((await store.commit(createInput('s', now))).status).toBe('committed');
      // Hold the session row, so that the store's commit waits on it; then kill the backend serving that commit.
      const holder = new pg.Client({ connectionString: POSTGRES_URL });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${prefix}sessions" WHERE id = 's' FOR UPDATE`);
      const commit = store.commit(updateInput('s', now, 'idem-lost-000001'));
      // It may reject before expectUnavailable() below awaits it: mark it handled now, or the run reports an unhandled rejection.
      commit.catch(() => {});
      let pid = 0;
      await until('the commit to wait on the lock', async () => {
        const found = await admin.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%"${prefix}sessions"%`]);
        pid = found.rows[0]?.pid ?? 0;
        return pid !== 0;
      });
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await expectUnavailable(commit, /terminat/i);
      await holder.query('ROLLBACK');
      await holder.end();
      expect(await store.begin({ sessionId: 's', keys: ['a'], claim: { key: 'idem-lost-000001', fingerprint: 'f', leaseMs: LEASE, token: 'attempt-1' }, now })).toEqual({
        session: { epoch: 'e1' },
        entries: new Map([['a', { version: 1, value: '1' }]]),
        claim: { status: 'claimed' },
      });
      expect((await store.commit(updateInput('s', now, 'idem-lost-000001'))).status).toBe('committed');
    });

    describeWithServer('a private cluster', 'initdb/pg_ctl', postgresBinaries, () => {
      let server: PrivatePostgres | undefined;
      afterAll(async () => {
        await server?.destroy();
      });

      it('a server that crashes: StoreUnavailableError, nothing applied; after a restart the store works again', async () => {
        server = await startPostgres();
        const store = open(server.url);
        const now = Date.now();
        expect((await store.commit(createInput('s', now))).status).toBe('committed');
        await server.crash();
        await expectUnavailable(store.begin({ sessionId: 's', keys: ['a'], now }), /.+/);
        await expectUnavailable(store.commit(updateInput('s', now, 'idem-crash-00001')), /.+/);
        await server.start();
        await until('the store to reconnect', async () => (await store.begin({ sessionId: 's', keys: ['a'], now })).session !== null);
        expect((await store.begin({ sessionId: 's', keys: ['a'], now })).entries.get('a')).toEqual({ version: 1, value: '1' });
      });
    });
  });
});
