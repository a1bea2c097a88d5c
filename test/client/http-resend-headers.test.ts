// Issue 21 §4: each attempt of a request goes out with a Headers object of its own, copied from a snapshot
// taken before fetch saw the first. fetch-cookie (with a tough-cookie jar) appends its Cookie header to the
// Headers it is given; when a resend reused the first attempt's object, the resend carried the cookie twice
// and the server answered 410 "two session cookies of one name".
import makeFetchCookie from 'fetch-cookie';
import { CookieJar } from 'tough-cookie';
import { afterEach, expect, test } from 'vitest';
import { createSessionClient, memoryPendingWrites, memoryVersionCache } from '../../src/client/index.js';
import { latch, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A fetch-cookie fetch on one tough-cookie jar; every request as it went on the wire is kept in `wire`. */
function cookieFetch(jar: CookieJar, wire: { path: string; cookies: string[] }[]) {
  const recording: typeof globalThis.fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    wire.push({ path: new URL(String(input instanceof Request ? input.url : input)).pathname, cookies: (headers.get('cookie') ?? '').split(/[;,]\s*/).filter(Boolean) });
    return globalThis.fetch(input, init);
  };
  return makeFetchCookie(recording, jar) as unknown as typeof globalThis.fetch;
}

const client = (fetch: typeof globalThis.fetch) =>
  createSessionClient({ fetch, backoff: 1, maxBackoff: 5, cache: memoryVersionCache(), pending: memoryPendingWrites() });

test('a 412 resend through fetch-cookie carries one Cookie header, with the session cookie once', async () => {
  const held = latch();
  const reached = latch();
  let runs = 0;
  app = await startApp({
    // A blind append whose first run reads `n`, then waits until another write has moved it: its commit meets a 412.
    '/add': {
      writes: ['n'],
      handler: async (_request, session) => {
        const n = (session.get('n') as number | undefined) ?? 0;
        if (++runs === 2) {
          reached.open();
          await held.wait;
        }
        session.set('n', n + 1);
        return Response.json({ n: n + 1 });
      },
    },
    '/set': { writes: ['n'], handler: (_request, session) => (session.set('n', 100), Response.json({})) },
  });
  const jar = new CookieJar();
  const wire: { path: string; cookies: string[] }[] = [];
  const first = client(cookieFetch(jar, wire));
  // Another client on the same jar (one browser, two tabs without shared lanes): it moves `n` meanwhile.
  const second = client(cookieFetch(jar, wire));
  expect((await first.fetch(`${app.url}/add`, { method: 'POST', session: { writes: ['n'] } })).status).toBe(200); // a session
  const racing = first.fetch(`${app.url}/add`, { method: 'POST', session: { writes: ['n'] } });
  await reached.wait;
  expect((await second.fetch(`${app.url}/set`, { method: 'POST', session: { writes: ['n'] } })).status).toBe(200);
  held.open();
  const response = await racing;
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ n: 101 });
  expect(app.observed.statuses[412]).toBe(1);
  expect(app.observed.statuses[410]).toBeUndefined();
  // Every attempt after the first carried the cookie: exactly one session cookie each.
  const adds = wire.filter((request) => request.path === '/add');
  expect(adds).toHaveLength(3);
  for (const request of adds.slice(1)) expect(request.cookies.filter((cookie) => cookie.startsWith('sl_session=')), JSON.stringify(request)).toHaveLength(1);
});

test('a 503 resend through fetch-cookie carries the session cookie once', async () => {
  app = await startApp({ '/add': { writes: ['n'], handler: (_request, session) => (session.set('n', ((session.get('n') as number | undefined) ?? 0) + 1), Response.json({})) } });
  const wire: { path: string; cookies: string[] }[] = [];
  const only = client(cookieFetch(new CookieJar(), wire));
  expect((await only.fetch(`${app.url}/add`, { method: 'POST', session: { writes: ['n'] } })).status).toBe(200);
  // Enough failures that the validator's own retry of an unknown commit (issue 20 §5) cannot absorb them all: 503s, resent.
  app.observed.fail.commit = 4;
  expect((await only.fetch(`${app.url}/add`, { method: 'POST', session: { writes: ['n'] } })).status).toBe(200);
  const unavailable = app.observed.statuses[503] ?? 0;
  expect(unavailable).toBeGreaterThanOrEqual(1);
  // The write's first attempt and one resend per 503, each with the session cookie once.
  const resends = wire.slice(1);
  expect(resends).toHaveLength(1 + unavailable);
  for (const request of resends) expect(request.cookies.filter((cookie) => cookie.startsWith('sl_session='))).toHaveLength(1);
});

test('a request that carries the session cookie twice gets a 410 that names a client library as a likely cause', async () => {
  app = await startApp({ '/add': { writes: ['n'], handler: (_request, session) => (session.set('n', 1), Response.json({})) } });
  const headers = { cookie: 'sl_session=a; sl_session=b', 'session-write': '"n"', 'idempotency-key': `"${crypto.randomUUID()}"` };
  const response = await fetch(`${app.url}/add`, { method: 'POST', headers });
  expect(response.status).toBe(410);
  expect(((await response.json()) as { detail: string }).detail).toBe(
    'The request carries two session cookies of one name; the server uses neither (did another subdomain set one, or did a client library such as fetch-cookie add the cookie twice?)',
  );
});
