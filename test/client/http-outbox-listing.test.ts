// client.outbox(), client.dropOutboxEntry() and client.valueKnown() with the in-memory pending writes (no
// IndexedDB in Node), against the real validator over HTTP. The IndexedDB outbox: outbox-listing.test.ts, and in
// Chromium e2e/devtools.spec.ts.
import { afterEach, expect, test } from 'vitest';
import { createSessionClient, isConflictError, memoryPendingWrites, memoryVersionCache, type PendingWrites, type SessionClientEvent } from '../../src/client/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { increment, latch, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const blindWrite = { method: 'POST', session: { writes: ['n'] } } as const;
const staticWrite = { method: 'POST', session: { writes: ['n'], blind: false } } as const;

async function setup() {
  const gate = latch();
  app = await startApp({
    '/n': {
      writes: ['n'],
      handler: async (request, session) => {
        if (request.headers.get('x-slow')) await gate.wait;
        return increment(request, session);
      },
    },
  });
  const jar = createCookieJar();
  const client = createSessionClient({ fetch: jar.fetch, cache: memoryVersionCache(), pending: memoryPendingWrites() });
  const dropped: SessionClientEvent[] = [];
  client.on('dropped', (event) => dropped.push(event));
  return { app, gate, jar, client, dropped };
}

test("outbox() lists a write while it runs, this live tab's, with what was sent; then none", async () => {
  const { app, gate, client } = await setup();
  expect(await client.outbox()).toEqual([]);
  const call = client.fetch(`${app.url}/n`, { ...blindWrite, headers: { 'x-slow': '1' } });
  while (!app.observed.runs['/n']) await new Promise((resolve) => setTimeout(resolve, 5));
  const [entry, ...rest] = await client.outbox();
  expect(rest).toEqual([]);
  expect(entry).toMatchObject({ input: `${app.url}/n`, writes: ['n'], blind: true, live: true, mine: true });
  expect(typeof entry!.tab).toBe('string');
  expect(new Headers(entry!.sent!.headers).get('idempotency-key')).toBe(`"${entry!.key}"`);
  gate.open();
  expect((await call).status).toBe(200);
  expect(await client.outbox()).toEqual([]);
});

test("dropOutboxEntry(): deletes the entry, tells `dropped` reason 'manual'; false for a key not listed; the running request goes on", async () => {
  const { app, gate, client, dropped } = await setup();
  const call = client.fetch(`${app.url}/n`, { ...blindWrite, headers: { 'x-slow': '1' } });
  while (!app.observed.runs['/n']) await new Promise((resolve) => setTimeout(resolve, 5));
  const [entry] = await client.outbox();
  expect(await client.dropOutboxEntry(entry!.key)).toBe(true);
  expect(await client.outbox()).toEqual([]);
  expect(dropped).toMatchObject([{ type: 'dropped', reason: 'manual', entry: { key: entry!.key, writes: ['n'] } }]);
  expect(await client.dropOutboxEntry(entry!.key)).toBe(false);
  expect(await client.dropOutboxEntry('no-such-key')).toBe(false);
  expect(dropped).toHaveLength(1);
  gate.open();
  expect((await call).status).toBe(200);
  expect(app.observed.runs['/n']).toBe(1);
});

test('a custom pending writes without list(): outbox() lists none, dropOutboxEntry() finds none', async () => {
  app = await startApp({ '/n': { writes: ['n'], handler: increment } });
  const stored = new Map<string, unknown>();
  const pending: PendingWrites = { put: (entry) => void stored.set(entry.key, entry), delete: (key) => void stored.delete(key) };
  const client = createSessionClient({ fetch: createCookieJar().fetch, cache: memoryVersionCache(), pending });
  const events: SessionClientEvent[] = [];
  client.on('dropped', (event) => events.push(event));
  expect((await client.fetch(`${app.url}/n`, blindWrite)).status).toBe(200);
  expect(await client.outbox()).toEqual([]);
  expect(await client.dropOutboxEntry('any-key-at-all')).toBe(false);
  expect(events).toEqual([]);
});

test('valueKnown(): false for a key written blind (its version known, its value not) and for a key never seen; true once a 412 brought the value', async () => {
  const { app, jar, client } = await setup();
  expect((await client.fetch(`${app.url}/n`, blindWrite)).status).toBe(200); // a session; n = 1
  expect(client.versions()).toEqual({ n: 1 });
  expect(client.valueKnown('n')).toBe(false);
  expect(client.valueKnown('never-seen')).toBe(false);
  // Another client of the same session that knows nothing: its static write declares base 0, and the 412 brings n's value.
  const other = createSessionClient({ fetch: jar.fetch, cache: memoryVersionCache(), pending: memoryPendingWrites() });
  expect(isConflictError(await other.fetch(`${app.url}/n`, staticWrite).catch((error: unknown) => error))).toBe(true);
  expect(other.versions()).toEqual({ n: 1 });
  expect(other.valueKnown('n')).toBe(true);
  // Its next write commits n = 2: the version moves on, and the value at it is not known.
  expect((await other.fetch(`${app.url}/n`, staticWrite)).status).toBe(200);
  expect(other.versions()).toEqual({ n: 2 });
  expect(other.valueKnown('n')).toBe(false);
});
