// What must hold 1 and 2: lanes and bases, shown by the real validator's own view over HTTP.
import { afterEach, expect, test } from 'vitest';
import { createSessionClient } from '../../src/client/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { barrier, increment, pause, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
const post = { method: 'POST' } as const;

/** A client with a session already made (a first write runs alone, which would hide parallelism). */
async function clientWithSession(url: string) {
  const jar = createCookieJar();
  const client = createSessionClient({ fetch: jar.fetch });
  await client.fetch(`${url}/w/k0`, { ...post, session: { writes: ['k0'] } });
  return { client, jar };
}

test('8 concurrent writes on disjoint keys all overlap at the server; 8 on one key never do', async () => {
  const meet = barrier(8);
  const routes: Parameters<typeof startApp>[0] = {};
  for (const key of KEYS) {
    routes[`/meet/${key}`] = { writes: [key], handler: async (request, session) => (await meet(), increment(request, session)) };
    routes[`/w/${key}`] = { writes: [key], handler: async (request, session) => (await pause(5), increment(request, session)) };
  }
  app = await startApp(routes);
  const { client } = await clientWithSession(app.url);

  await Promise.all(KEYS.map((key) => client.fetch(`${app!.url}/meet/${key}`, { ...post, session: { writes: [key] } })));
  expect(app.observed.maxActive).toBe(8);

  app.observed.maxActive = 0;
  const answers = await Promise.all(KEYS.map(() => client.fetch(`${app!.url}/w/k1`, { ...post, session: { writes: ['k1'] } }).then((r) => r.json())));
  expect(app.observed.maxActive).toBe(1);
  expect(answers.map((answer) => answer.k1).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  expect(app.observed.violations).toEqual([]);
  expect(app.observed.statuses[412]).toBeUndefined();
});

test('readers of a key share it; a writer of that key waits for them', async () => {
  const meet = barrier(8);
  app = await startApp({
    '/r': { reads: ['k0'], handler: async (_, session) => (await meet(), Response.json(session.get('k0') ?? null)) },
    '/w/k0': { writes: ['k0'], handler: async (request, session) => (await pause(5), increment(request, session)) },
  });
  const { client } = await clientWithSession(app.url);
  const reads = Array.from({ length: 8 }, () => client.fetch(`${app!.url}/r`, { session: { reads: ['k0'] } }));
  const write = client.fetch(`${app.url}/w/k0`, { ...post, session: { writes: ['k0'] } });
  await Promise.all([...reads, write]);
  expect(app.observed.maxActive).toBe(8);
  expect(app.observed.violations).toEqual([]);
});

test('200 requests over 5 keys with random key sets and modes: all complete, no conflicting pair overlaps', async () => {
  const keys = ['a', 'b', 'c', 'd', 'e'];
  // A route per set of written keys (a write route needs all its written keys declared); it may read the others.
  const routes: Parameters<typeof startApp>[0] = {};
  for (let mask = 0; mask < 32; mask++) {
    const writes = keys.filter((_, i) => mask & (1 << i));
    routes[`/m/${mask}`] = {
      writes,
      reads: keys.filter((key) => !writes.includes(key)),
      handler: async (request, session) => (await pause(Math.random() * 3), increment(request, session)),
    };
  }
  app = await startApp(routes);
  const client = createSessionClient({ fetch: createCookieJar().fetch });
  await client.fetch(`${app.url}/m/1`, { ...post, session: { writes: ['a'] } }); // makes the session

  const expected: Record<string, number> = { a: 1, b: 0, c: 0, d: 0, e: 0 };
  const requests = Array.from({ length: 200 }, () => {
    const mask = Math.floor(Math.random() * 32);
    const writes = keys.filter((_, i) => mask & (1 << i));
    const reads = keys.filter((key) => !writes.includes(key) && Math.random() < 0.4);
    for (const key of writes) expected[key]!++;
    return client.fetch(`${app!.url}/m/${mask}`, { ...post, session: { reads, writes } });
  });
  const answers = await Promise.all(requests);
  expect(answers.every((response) => response.ok)).toBe(true);
  expect(app.observed.violations).toEqual([]);
  expect(app.observed.maxActive).toBeGreaterThan(1);
  expect(app.observed.statuses[412]).toBeUndefined();
  const final = await client.fetch(`${app.url}/m/0`, { ...post, session: { reads: keys } });
  expect(await final.json()).toEqual({});
  expect(client.versions()).toEqual(expected);
});

test('one client never 412s itself: 200 concurrent increments declaring their bases end at 200', async () => {
  app = await startApp({ '/n': { writes: ['n'], handler: increment } });
  const client = createSessionClient({ fetch: createCookieJar().fetch });
  const answers = await Promise.all(Array.from({ length: 200 }, () => client.fetch(`${app!.url}/n`, { ...post, session: { writes: ['n'] } })));
  expect(answers.every((response) => response.ok)).toBe(true);
  expect(app.observed.statuses[412]).toBeUndefined();
  expect(app.observed.commits).toBe(200);
  expect(client.versions()).toEqual({ n: 200 });
  expect(Math.max(...(await Promise.all(answers.map((r) => r.json()))).map((a) => a.n))).toBe(200);
});
