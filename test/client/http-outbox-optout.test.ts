// Issue 20 §7: `outbox: false` on a route of the table, and `rotates` requests not stored by default, from the
// table and at the call site (`outbox: true` stores them). Observed on the pending-writes seam that the client
// awaits before each send, against the real validator over HTTP on 127.0.0.1.
import { afterEach, expect, test } from 'vitest';
import { createSessionClient, memoryVersionCache, type PendingWrite } from '../../src/client/index.js';
import { defineRoutes } from '../../src/routes/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { increment, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

test('stored or not: a table route with outbox: false and a rotating route are not; a plain write and outbox: true are', async () => {
  const login = (_request: Request, session: Parameters<typeof increment>[1]) => (session.set('user', 'ada'), session.rotate(), Response.json({}));
  const rotating = { writes: ['user'], rotates: true, handler: login } as { writes: string[]; handler: typeof login };
  app = await startApp({ '/n': { writes: ['n'], handler: increment }, '/pay': { writes: ['n'], handler: increment }, '/login': rotating });
  const routes = defineRoutes({
    inc: { method: 'POST', path: '/n', writes: ['n'] },
    pay: { method: 'POST', path: '/pay', writes: ['n'], outbox: false },
    login: { method: 'POST', path: '/login', writes: ['user'], rotates: true },
  });
  const stored: string[] = [];
  const pending = { put: (entry: PendingWrite) => void stored.push(new URL(String(entry.input)).pathname + (entry.rotates ? ' rotates' : '')), delete: () => {} };
  const jar = createCookieJar();
  const client = createSessionClient({ routes, base: app.url, fetch: jar.fetch, cache: memoryVersionCache(), pending });
  expect((await client.fetch('/n', { method: 'POST' })).status).toBe(200);
  expect((await client.fetch('/pay', { method: 'POST' })).status).toBe(200);
  expect((await client.fetch('/pay', { method: 'POST', session: { outbox: true } })).status).toBe(200);
  expect((await client.fetch('/login', { method: 'POST' })).status).toBe(200);
  expect((await client.fetch('/login', { method: 'POST', session: { outbox: true } })).status).toBe(200);
  // At the call site, with no table: the same defaults.
  const untabled = createSessionClient({ base: app.url, fetch: jar.fetch, cache: memoryVersionCache(), pending });
  expect((await untabled.fetch('/login', { method: 'POST', session: { writes: ['user'], rotates: true } })).status).toBe(200);
  expect((await untabled.fetch('/login', { method: 'POST', session: { writes: ['user'], rotates: true, outbox: true } })).status).toBe(200);
  // Each stored write is put before each attempt: once as queued, once as sent.
  expect(stored).toEqual(['/n', '/n', '/pay', '/pay', '/login rotates', '/login rotates', '/login rotates', '/login rotates']);
});
