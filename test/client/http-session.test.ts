// What must hold 5 and 6: a session that ends, and the first write that makes one.
import { afterEach, expect, test } from 'vitest';
import {
  createLanes,
  createSessionClient,
  isSessionEndedError,
  memoryPendingWrites,
  memoryVersionCache,
  SessionEndedError,
  type SessionClientEvent,
  type SessionClientOptions,
} from '../../src/client/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { increment, latch, pause, startApp, type App } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const post = { method: 'POST' } as const;

async function setup() {
  const gate = latch();
  app = await startApp({
    '/n': { writes: ['n'], handler: async (request, session) => (request.headers.get('x-slow') && (await gate.wait), increment(request, session)) },
    '/logout': { writes: ['n'], handler: (_, session) => (session.destroy(), Response.json({})) },
    '/read': { reads: ['n'], handler: (_, session) => Response.json(session.get('n') ?? 0) },
  });
  const jar = createCookieJar();
  return { gate, jar, app };
}

test('410: the cache is voided, sessionended is emitted, queued writes of that session are rejected unsent', async () => {
  const { gate, jar, app } = await setup();
  const tab = createSessionClient({ fetch: jar.fetch });
  const other = createSessionClient({ fetch: jar.fetch });
  await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  const epoch = tab.epoch();
  expect(epoch).toMatch(/.+/);
  const events: SessionClientEvent[] = [];
  tab.on('sessionended', (event) => events.push(event));

  const runs = app.observed.runs['/n'];
  const slow = tab.fetch(`${app.url}/n`, { ...post, headers: { 'x-slow': '1' }, session: { writes: ['n'] } });
  const queued = [1, 2, 3].map(() => tab.fetch(`${app!.url}/n`, { ...post, session: { writes: ['n'] } }));
  while (app.observed.runs['/n'] === runs) await new Promise((resolve) => setTimeout(resolve, 5));
  await other.fetch(`${app.url}/logout`, { ...post, session: { writes: ['n'], blind: true } }); // logout in another tab
  gate.open();

  const errors = await Promise.all([slow, ...queued].map((call) => call.catch((e: unknown) => e)));
  for (const error of errors) expect(error).toBeInstanceOf(SessionEndedError);
  expect(app.observed.runs['/n']).toBe(runs! + 1); // the queued writes never reached the server
  expect(events).toMatchObject([{ type: 'sessionended', epoch }]);
  expect(tab.versions()).toEqual({});
  expect(tab.epoch()).toBe('');
});

// Node has neither IndexedDB nor Web Locks: `{ fetch }` alone is the fallback; the other is a custom one-tab setup.
const inMemory: [string, () => Partial<SessionClientOptions> & { purged?: string[] }][] = [
  ['fallback parts', () => ({})],
  [
    'custom one-tab parts',
    () => {
      const purged: string[] = [];
      return { lanes: createLanes(), firstWrite: createLanes(), cache: memoryVersionCache(), pending: { ...memoryPendingWrites(), purge: (epoch) => void purged.push(epoch) }, purged };
    },
  ],
];

test.each(inMemory)("a logout in the tab's own client (200, Session-Epoch \"\") ends the session as a 410 does, with the in-memory cache (%s)", async (_, parts) => {
  app = await startApp({
    '/n': { writes: ['n'], handler: increment },
    '/logout': { writes: ['n'], handler: (_, session) => (session.destroy(), Response.json({})) },
  });
  const jar = createCookieJar();
  const { purged, ...options } = parts();
  const tab = createSessionClient({ fetch: jar.fetch, ...options });
  await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  const epoch = tab.epoch();
  expect(epoch).toMatch(/.+/);
  const events: SessionClientEvent[] = [];
  tab.on('sessionended', (event) => events.push(event));

  // Queued behind the logout on lane n, made for the session it ends.
  const logout = tab.fetch(`${app.url}/logout`, { ...post, session: { writes: ['n'], blind: true } });
  const queued = [1, 2].map(() => tab.fetch(`${app!.url}/n`, { ...post, session: { writes: ['n'] } }).catch((e: unknown) => e));
  const answer = await logout;
  expect(answer.status).toBe(200);
  expect(answer.headers.get('session-epoch')).toBe('""');
  expect(tab.epoch()).toBe('');
  // No session, nothing known: not its keys listed at version 0 (the logout's Session-Versions).
  expect(tab.versions()).toEqual({});
  expect(events).toMatchObject([{ type: 'sessionended', epoch }]);
  if (purged) expect(purged).toEqual([epoch]);

  for (const error of await Promise.all(queued)) expect(error).toBeInstanceOf(SessionEndedError);
  expect(app.observed.runs['/n']).toBe(1); // never sent
  expect(events).toHaveLength(1); // once per session

  // The next write is a login: it creates a new session, and ending that one is told too.
  await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  const next = tab.epoch();
  expect(next).toMatch(/.+/);
  expect(next).not.toBe(epoch);
  await tab.fetch(`${app.url}/logout`, { ...post, session: { writes: ['n'], blind: true } });
  expect(events).toMatchObject([{ epoch }, { epoch: next }]);
});

test('a dead cookie and no known epoch: the writes queued behind the first write are rejected unsent when it gets 410, and create nothing', async () => {
  const { jar, app } = await setup();
  // The browser still holds the cookie of a session that ended (expired, or ended elsewhere): a fresh page knows no epoch.
  const before = createSessionClient({ fetch: jar.fetch });
  await before.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  const dead = jar.cookies.get('sl_session')!;
  await before.fetch(`${app.url}/logout`, { ...post, session: { writes: ['n'], blind: true } });
  jar.cookies.set('sl_session', dead);
  const creates = app.observed.creates;
  const runs = app.observed.runs['/n'];

  const page = createSessionClient({ fetch: jar.fetch });
  expect(page.epoch()).toBeUndefined();
  const ended: SessionClientEvent[] = [];
  page.on('sessionended', (event) => ended.push(event));
  const writes = [1, 2, 3].map(() => page.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } }).catch((e: unknown) => e));
  const errors = await Promise.all(writes);
  for (const error of errors) expect(error).toBeInstanceOf(SessionEndedError);
  expect((errors[1] as Error).message).toMatch(/not sent/);
  expect(app.observed.runs['/n']).toBe(runs); // the first write got 410 before its handler; the others were never sent
  expect(app.observed.creates).toBe(creates);
  expect(ended).toHaveLength(1);

  // What the app does next is a new write, made after the 410: a new login, which creates one session.
  const login = await page.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  expect(login.status).toBe(200);
  expect(app.observed.creates).toBe(creates + 1);
});

test('a request made for one session never lands in the session of a later login', async () => {
  const { jar, app } = await setup();
  const tab = createSessionClient({ fetch: jar.fetch });
  const other = createSessionClient({ fetch: jar.fetch });
  await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  await other.fetch(`${app.url}/read`, { session: { reads: ['n'] } });
  const first = tab.epoch();
  // Logout and a new login in the other tab: the shared cookie now names a new session.
  await other.fetch(`${app.url}/logout`, { ...post, session: { writes: ['n'], blind: true } });
  await other.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  expect(other.epoch()).not.toBe(first);
  expect(app.observed.creates).toBe(2);

  // The tab still believes in the first session: its write carries that epoch and is refused.
  const error = await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'], blind: true } }).catch((e: unknown) => e);
  expect(isSessionEndedError(error)).toBe(true);
  expect(await (await other.fetch(`${app.url}/read`, { session: { reads: ['n'] } })).json()).toBe(1);
  // Made after the 410, with no epoch known, a write joins the session the cookie names
  // (blind: the tab knows nothing of that session's versions).
  await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'], blind: true } });
  expect(tab.epoch()).toBe(other.epoch());
  expect(await (await other.fetch(`${app.url}/read`, { session: { reads: ['n'] } })).json()).toBe(2);
});

test('no session yet: 10 concurrent writes create exactly one session, and all 10 commit', async () => {
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  app = await startApp(Object.fromEntries(keys.map((key) => [`/w/${key}`, { writes: [key], handler: increment }])));
  const jar = createCookieJar();
  const client = createSessionClient({ fetch: jar.fetch });
  const answers = await Promise.all(keys.map((key) => client.fetch(`${app!.url}/w/${key}`, { ...post, session: { writes: [key] } })));
  expect(answers.map((response) => response.status)).toEqual(keys.map(() => 200));
  expect(app.observed.creates).toBe(1);
  expect(app.observed.commits).toBe(10);
  expect(jar.history).toHaveLength(1);
  expect(client.versions()).toEqual(Object.fromEntries(keys.map((key) => [key, 1])));
});

test('after a 410, a late answer of the ended session is not learned again: the next login is not refused', async () => {
  const gate = latch();
  app = await startApp({
    '/n': { writes: ['n'], handler: increment },
    '/logout': { writes: ['n'], handler: (_, session) => (session.destroy(), Response.json({})) },
    '/slow-read': { reads: ['m'], handler: async (_, session) => (await gate.wait, Response.json(session.get('m') ?? 0)) },
  });
  const jar = createCookieJar();
  const tab = createSessionClient({ fetch: jar.fetch });
  const other = createSessionClient({ fetch: jar.fetch });
  await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'] } });
  const first = tab.epoch();
  // A read served by the first session, answered late.
  const late = tab.fetch(`${app.url}/slow-read`, { session: { reads: ['m'] } });
  while (!app.observed.runs['/slow-read']) await pause(5);
  await other.fetch(`${app.url}/logout`, { ...post, session: { writes: ['n'], blind: true } });
  await expect(tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'], blind: true } })).rejects.toThrow(SessionEndedError);
  gate.open();
  const answer = await late;
  expect(answer.headers.get('session-epoch')).toBe(`"${first}"`);
  expect(tab.epoch()).toBe('');
  // A login: no epoch known, so it creates a session.
  expect((await tab.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'], blind: true } })).status).toBe(200);
  expect(tab.epoch()).toMatch(/.+/);
  expect(tab.epoch()).not.toBe(first);
});
