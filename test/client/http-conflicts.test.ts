// What must hold 3: two clients sharing one cookie (two tabs without coordination) meet 412s and rebuild.
import { afterEach, expect, test } from 'vitest';
import { ConflictError, createSessionClient, isConflictError, type SessionClientEvent } from '../../src/client/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { increment, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const post = { method: 'POST' } as const;

async function twoTabs(url: string, options: Parameters<typeof createSessionClient>[0] = {}) {
  const jar = createCookieJar();
  const a = createSessionClient({ fetch: jar.fetch, backoff: 5, maxBackoff: 50, ...options });
  const b = createSessionClient({ fetch: jar.fetch, backoff: 5, maxBackoff: 50, ...options });
  await a.fetch(`${url}/blind`, { ...post, session: { writes: ['n'], blind: true } }); // makes the session: n = 1
  return { a, b };
}

/** Settles every call; counts the acknowledged ones and checks every rejection is a ConflictError. */
async function settle(calls: Promise<Response>[]) {
  const results = await Promise.allSettled(calls);
  for (const result of results) if (result.status === 'rejected') expect(isConflictError(result.reason), String(result.reason)).toBe(true);
  return results.filter((result) => result.status === 'fulfilled' && result.value.ok).length;
}

function routes() {
  return {
    // The body says the new value: computed by the client from what it knows.
    '/set': { writes: ['n'], handler: async (request: Request, session: { set(k: string, v: unknown): void }) => (session.set('n', (await request.json()).n), Response.json({})) },
    // Read-modify-write on the server: the body does not depend on the client's view.
    '/blind': { writes: ['n'], handler: increment },
    '/read': { reads: ['n'], handler: (_: Request, session: { get(k: string): unknown }) => Response.json(session.get('n') ?? 0) },
  };
}

test('rebase: 412s are rebuilt from the values they carry; the final value equals the acknowledged increments', async () => {
  app = await startApp(routes());
  const { a, b } = await twoTabs(app.url, { retries: 50 });
  const bump = (client: typeof a) =>
    client.fetch(`${app!.url}/set`, { ...post, session: { writes: ['n'], rebase: (current) => ({ body: JSON.stringify({ n: ((current.n as number | undefined) ?? 0) + 1 }) }) } });
  const acked = await settle(Array.from({ length: 30 }, (_, i) => bump(i % 2 ? a : b)));
  const final = await (await a.fetch(`${app.url}/read`, { session: { reads: ['n'] } })).json();
  expect(final).toBe(1 + acked);
  expect(acked).toBe(30);
  expect(app.observed.statuses[412]).toBeGreaterThan(0);
});

test('blind: 412s of the server\'s own read-modify-write check are resent unchanged', async () => {
  app = await startApp(routes());
  const { a, b } = await twoTabs(app.url, { retries: 50 });
  const acked = await settle(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).fetch(`${app!.url}/blind`, { ...post, session: { writes: ['n'], blind: true } })));
  const final = await (await a.fetch(`${app.url}/read`, { session: { reads: ['n'] } })).json();
  expect(final).toBe(1 + acked);
  expect(acked).toBe(40);
});

test('the retry limit: after `retries` rebuilds the call rejects with a ConflictError', async () => {
  app = await startApp(routes());
  const { a, b } = await twoTabs(app.url, { retries: 2 });
  const events: SessionClientEvent[] = [];
  a.on('*', (event) => events.push(event));
  const call = a.fetch(`${app.url}/set`, {
    ...post,
    session: {
      writes: ['n'],
      // Another tab moves n while this one builds its body: every attempt is stale.
      rebase: async (current) => {
        await b.fetch(`${app!.url}/blind`, { ...post, session: { writes: ['n'], blind: true } });
        return { body: JSON.stringify({ n: ((current.n as number | undefined) ?? 0) + 100 }) };
      },
    },
  });
  const error = await call.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConflictError);
  expect(events.filter((e) => e.type === 'sent')).toHaveLength(3);
  expect(events.filter((e) => e.type === 'conflict')).toHaveLength(3);
  expect(events.map((e) => e.type)).toEqual(['queued', 'sent', 'conflict', 'retry', 'sent', 'conflict', 'retry', 'sent', 'conflict', 'failed']);
  expect(await (await a.fetch(`${app.url}/read`, { session: { reads: ['n'] } })).json()).toBe(4);
});

test('blind: false without rebase (a body from the client\'s own view): the first 412 rejects at once with a ConflictError, nothing resent', async () => {
  app = await startApp(routes());
  const { a, b } = await twoTabs(app.url);
  await b.fetch(`${app.url}/read`, { session: { reads: ['n'] } }); // b learns n at version 1
  await a.fetch(`${app.url}/blind`, { ...post, session: { writes: ['n'], blind: true } }); // n moves to 2
  const before = app.observed.runs['/blind'] ?? 0;
  const statusesBefore = app.observed.statuses[412] ?? 0;
  const error = await b.fetch(`${app.url}/blind`, { ...post, session: { writes: ['n'], blind: false } }).catch((e: unknown) => e);
  expect(isConflictError(error)).toBe(true);
  expect((error as ConflictError).problem?.keys).toEqual({ n: { version: 2, value: 2 } });
  expect((error as ConflictError).response?.status).toBe(412);
  expect(app.observed.statuses[412]).toBe(statusesBefore + 1);
  expect(app.observed.runs['/blind'] ?? 0).toBe(before); // 412 before the handler
  expect(b.versions()).toEqual({ n: 2 });
});
