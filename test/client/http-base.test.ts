// Issue 21 §6: `base` without `routes`, and relative inputs in Node. Where there is no `document`, a
// relative input resolves by `new URL(input, base)`, and is then matched against the table as the absolute
// URL would be. Against the real validator over HTTP on 127.0.0.1.
import { afterEach, expect, test } from 'vitest';
import { createSessionClient, memoryPendingWrites, memoryVersionCache, type SessionClientOptions } from '../../src/client/index.js';
import { defineRoutes } from '../../src/routes/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { increment, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A client on a cookie jar; `seen` holds every request's URL and its Session-Write as sent. */
function client(options: SessionClientOptions) {
  const jar = createCookieJar();
  const seen: { url: string; write: string | null }[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    seen.push({ url: String(input), write: new Headers(init?.headers).get('session-write') });
    return jar.fetch(input, init);
  };
  return { client: createSessionClient({ fetch, cache: memoryVersionCache(), pending: memoryPendingWrites(), ...options }), seen };
}

test('base without routes: a relative input resolves against it, declared at the call site or untagged', async () => {
  app = await startApp({ '/api/n': { writes: ['n'], handler: increment }, 'GET /api/n': { reads: ['n'], handler: (_request, session) => Response.json(session.get('n') ?? 0) } });
  const { client: node, seen } = client({ base: app.url });
  const response = await node.fetch('/api/n', { method: 'POST', session: { writes: ['n'] } });
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ n: 1 });
  expect(await (await node.fetch('api/n', { session: { reads: ['n'] } })).json()).toBe(1);
  expect(seen.map((request) => request.url)).toEqual([`${app.url}/api/n`, `${app.url}/api/n`]);
  // An absolute input is sent as given; an untagged relative call resolves too (the server asks for a declaration).
  expect((await node.fetch(`${app.url}/api/n`, { method: 'POST', session: { writes: ['n'] } })).status).toBe(200);
  expect((await node.fetch('/api/n', { method: 'POST' })).status).toBe(428);
});

test('base with routes: a relative input is resolved first, then matched as that absolute URL (the prefix kept only if the path has it)', async () => {
  app = await startApp({ '/app/api/n': { writes: ['n'], handler: increment }, '/api/n': { writes: ['n'], handler: increment } });
  const routes = defineRoutes({ inc: { method: 'POST', path: '/api/n', writes: ['n'] } });
  const { client: node, seen } = client({ routes, base: `${app.url}/app` });
  // Under the prefix: tagged from the table.
  expect((await node.fetch('/app/api/n', { method: 'POST' })).status).toBe(200);
  // "/api/n" against ".../app" is ".../api/n": outside the prefix, so untagged (428 from the server).
  expect((await node.fetch('/api/n', { method: 'POST' })).status).toBe(428);
  expect(seen).toEqual([
    { url: `${app.url}/app/api/n`, write: '"n"' },
    { url: `${app.url}/api/n`, write: null },
  ]);
});
