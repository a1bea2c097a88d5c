import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, type SessionStore, type ValidatorEvent } from '../../src/server/index.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { startRedis, until, type PrivateRedis } from '../support/private-servers.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';
import { describeWithServer, POSTGRES_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

/**
 * The validator over real stores that fail for real: a Redis primary and its
 * read-only replica, a Redis that stopped, and a read-only PostgreSQL database.
 * 503 (with Retry-After) for what the store cannot do, 410 only for a session
 * that is gone, and a resend with the same Idempotency-Key always safe.
 */

const SECRET = 'a shared secret of at least thirty-two bytes';
const redisBinary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].some(existsSync) ? null : 'redis-server is not installed';
const sharedPostgres = await tcpUnreachable(POSTGRES_URL);

/** One app server on a store: a write route and a read route over `cart`. */
async function appOn(store: SessionStore, events: ValidatorEvent[] = []): Promise<TestServer> {
  const validator = createValidator({ store, secret: SECRET, touchIntervalMs: 1, onEvent: (event) => events.push(event) });
  return startServer({
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
      return Response.json({ cart: session.get('cart') });
    }),
    '/view': validator.route({ reads: ['cart'] }, async (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
  });
}

/** The same browser (cookie) talking to another server. */
function sameBrowser(browser: Browser, server: TestServer): Browser {
  const other = new Browser(server.url);
  other.cookie = browser.cookie;
  return other;
}

const add = (browser: Browser, item: string, key = idemKey()) => browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': key }, body: item });

describe.sequential('the validator on a failing store', () => {
  describeWithServer('Redis', 'redis-server', redisBinary, () => {
    let primary: PrivateRedis;
    let replica: PrivateRedis;
    const closers: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      primary = await startRedis();
      replica = await startRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 10_000;
        const check = async () => {
          const info = await replica.admin.info('replication');
          if (info.includes('master_link_status:up')) return resolve();
          if (Date.now() > deadline) return reject(new Error('replica did not sync'));
          setTimeout(check, 50);
        };
        void check();
      });
    });
    afterAll(async () => {
      for (const close of closers.reverse()) await close().catch(() => {});
      await replica?.stop();
      await primary?.stop();
    });

    async function app(url: string, events: ValidatorEvent[] = []) {
      const store = redisStore({ url, prefix: `sl-${uniqueSuffix()}:` });
      return { store, server: await appOn(store, events) };
    }

    it('serves reads from a read-only replica (the refused touch reported, not failed), refuses writes with 503, and a resend elsewhere is safe', async () => {
      const prefix = `sl-${uniqueSuffix()}:`;
      const primaryStore = redisStore({ url: primary.url, prefix });
      const replicaStore = redisStore({ url: replica.url, prefix });
      const events: ValidatorEvent[] = [];
      const writable = await appOn(primaryStore);
      const readOnly = await appOn(replicaStore, events);
      closers.push(() => writable.close(), () => readOnly.close(), () => primaryStore.close(), () => replicaStore.close());

      const browser = new Browser(writable.url);
      expect((await add(browser, 'apple')).status).toBe(200);
      // Wait until the replica has the session (a lagging replica would answer 410, rightly). Not WAIT: it
      // counts the writes of its own connection, and the store wrote through another. A commit replicates whole.
      await until('the replica to have the session', async () => (await replica.admin.keys(`${prefix}*`)).length > 0);

      const onReplica = sameBrowser(browser, readOnly);
      const view = await onReplica.send('/view', { method: 'GET' });
      expect(view.status, view.text).toBe(200);
      expect(view.json()).toEqual({ cart: ['apple'] });
      expect(events.map((event) => event.type)).toContain('touch-failed');

      const key = idemKey();
      const refused = await add(onReplica, 'pear', key);
      expect(refused.status, refused.text).toBe(503);
      expect(refused.response.headers.get('retry-after')).toBe('1');
      expect(refused.json().type).toBe('https://session-lanes.dev/problems/store-unavailable');
      expect(refused.response.headers.get('session-versions')).toBeNull();

      // The same write, resent with the same key to a server that can write: applied once, and a further resend replays it.
      const resent = await add(browser, 'pear', key);
      expect(resent.status).toBe(200);
      expect(resent.json()).toEqual({ cart: ['apple', 'pear'] });
      expect((await add(browser, 'pear', key)).json()).toEqual({ cart: ['apple', 'pear'] });
      expect((await browser.send('/view', { method: 'GET' })).json()).toEqual({ cart: ['apple', 'pear'] });
    });

    it('tells a store that is down (503) from a session that is gone (410)', async () => {
      const doomed = await startRedis();
      const { store, server } = await app(doomed.url);
      closers.push(() => server.close(), () => store.close());
      const browser = new Browser(server.url);
      expect((await add(browser, 'apple')).status).toBe(200);
      const stranger = new Browser(server.url);
      stranger.cookie = `sl_session=${'B'.repeat(43)}`;
      expect((await stranger.send('/view', { method: 'GET' })).status).toBe(410);

      await doomed.stop();
      const write = await add(browser, 'pear');
      expect(write.status).toBe(503);
      expect(write.response.headers.get('retry-after')).toBe('1');
      const read = await browser.send('/view', { method: 'GET' });
      expect(read.status).toBe(503);
      stranger.cookie = `sl_session=${'B'.repeat(43)}`; // its 410 cleared it
      const unknown = await stranger.send('/view', { method: 'GET' });
      expect(unknown.status).toBe(503); // not 410: the server cannot know
      expect(unknown.response.headers.get('set-cookie')).toBeNull();
    });
  });

  describeWithServer('PostgreSQL', `PostgreSQL at ${POSTGRES_URL}`, sharedPostgres, () => {
    it('serves reads from a read-only database (SQLSTATE 25006) and refuses writes with 503', async () => {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      const database = `sl_validator_ro_${uniqueSuffix()}`;
      await admin.query(`CREATE DATABASE ${database}`);
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${database}`;
      const writableStore = postgresStore({ connectionString: url.href });
      const writable = await appOn(writableStore);
      let readOnlyStore: SessionStore | null = null;
      let readOnly: TestServer | null = null;
      try {
        const browser = new Browser(writable.url);
        expect((await add(browser, 'apple')).status).toBe(200);
        await writableStore.close();
        await admin.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);

        const events: ValidatorEvent[] = [];
        readOnlyStore = postgresStore({ connectionString: url.href });
        readOnly = await appOn(readOnlyStore, events);
        const onReadOnly = sameBrowser(browser, readOnly);
        const view = await onReadOnly.send('/view', { method: 'GET' });
        expect(view.status).toBe(200);
        expect(view.json()).toEqual({ cart: ['apple'] });
        expect(events.find((event) => event.type === 'touch-failed')).toMatchObject({ error: { cause: { code: '25006' } } });
        const write = await add(onReadOnly, 'pear');
        expect(write.status).toBe(503);
        expect(write.response.headers.get('retry-after')).toBe('1');
        expect((await onReadOnly.send('/view', { method: 'GET' })).json()).toEqual({ cart: ['apple'] });
      } finally {
        await writable.close();
        await readOnly?.close();
        await readOnlyStore?.close();
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.end();
      }
    });
  });
});
