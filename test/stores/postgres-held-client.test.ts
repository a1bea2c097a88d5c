import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createValidator } from '../../src/server/index.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { dropPostgresTables } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';
import { describeWithServer, POSTGRES_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

/**
 * A rotation holds a pooled client for several statements. When its backend
 * is terminated meanwhile, pg emits 'error' on that client: without a
 * listener, the process would crash. The request is served instead.
 */

const prefix = `sl_stores_creating_${uniqueSuffix()}_`;

describeWithServer('postgresStore: a connection cut while a rotation holds its client', `PostgreSQL at ${POSTGRES_URL}`, await tcpUnreachable(POSTGRES_URL), () => {
  const store = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: prefix });
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  let server: TestServer;

  beforeAll(async () => {
    await admin.connect();
    const validator = createValidator({ store, secret: 'postgres held client test secret, 32 bytes+', onEvent: () => {} });
    server = await startServer({
      '/cart': validator.route({ writes: ['cart'] }, async (_request, session) => {
        session.set('cart', ['tea']);
        return Response.json({ ok: true });
      }),
      '/login': validator.route({ writes: ['user'], rotates: true }, async (_request, session) => {
        session.set('user', 'ada');
        session.rotate();
        return Response.json({ ok: true });
      }),
    });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await admin.end();
    await dropPostgresTables(prefix);
  });

  it('serves the login (its unknown commit asked about and sent again), and the process lives on', async () => {
    const browser = new Browser(server.url);
    expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: '' })).status).toBe(200);
    const id = browser.cookie!.split('=')[1]!;
    // Another transaction holds the session row: the rotating commit waits on it, holding its client.
    const blocker = new pg.Client({ connectionString: POSTGRES_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${prefix}sessions" WHERE id = $1 FOR UPDATE`, [id]);
    const login = browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() }, body: '' });
    let terminated = 0;
    for (let i = 0; i < 200 && terminated === 0; i++) {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%${prefix}sessions%`],
      );
      terminated = rows.length;
      if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect(terminated).toBe(1);
    // The commit's outcome was unknown: the validator asked, found it not applied, and sent it again (a blip costs a blip).
    const answer = await login;
    expect(answer.status).toBe(200);
    expect(browser.cookie!.split('=')[1]).not.toBe(id);
    // Still serving.
    expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: '' })).status).toBe(200);
  });
});
