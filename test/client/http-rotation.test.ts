// Session-wide requests over real HTTP in one tab (in-tab lanes): a login (rotates) and a logout (ends) run alone.
import { afterEach, expect, test } from 'vitest';
import { createSessionClient, SessionEndedError, type SessionClientEvent } from '../../src/client/index.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer | undefined;
afterEach(async () => server?.close());

async function setup() {
  const validator = createValidator({ store: memoryStore() });
  let slow: ReturnType<typeof gate> | null = null;
  const arrived: { path: string; epoch: string | null; rotatedAlready: boolean }[] = [];
  let rotations = 0;
  const seen = (request: Request) => arrived.push({ path: new URL(request.url).pathname, epoch: request.headers.get('session-epoch'), rotatedAlready: rotations > 0 });
  server = await startServer({
    '/n': validator.route({ writes: ['n'] }, async (request, session) => {
      seen(request);
      const n = (session.get('n') as number | undefined) ?? 0;
      if (request.headers.get('x-slow')) await (slow = gate()).opened;
      session.set('n', n + 1);
      return Response.json({ n: n + 1 });
    }),
    '/login': validator.route({ writes: ['user'], rotates: true }, async (request, session) => {
      seen(request);
      session.set('user', 'ada');
      session.rotate();
      rotations++;
      return Response.json({ ok: true });
    }),
    '/logout': validator.route({ ends: true }, async (request, session) => {
      seen(request);
      session.destroy();
      return Response.json({});
    }),
  });
  const jar = createCookieJar();
  const client = createSessionClient({ fetch: jar.fetch });
  const events: SessionClientEvent[] = [];
  client.on('*', (event) => (event.type === 'rotated' || event.type === 'sessionended') && events.push(event));
  const url = server.url;
  const inc = (headers: Record<string, string> = {}) => client.fetch(`${url}/n`, { method: 'POST', headers, session: { writes: ['n'] } });
  const waitForSlow = async () => {
    while (!slow) await new Promise((resolve) => setTimeout(resolve, 5));
    return slow;
  };
  return { client, jar, events, arrived, inc, waitForSlow, url };
}

test('a login waits for the requests before it, runs alone, and the writes queued behind it go out in the new epoch: none lost, none rejected', async () => {
  const { client, jar, events, arrived, inc, waitForSlow, url } = await setup();
  expect((await inc()).status).toBe(200);
  const before = client.epoch()!;
  const cookie = jar.cookies.get('sl_session');
  const inFlight = inc({ 'x-slow': '1' });
  const slow = await waitForSlow();
  const login = client.fetch(`${url}/login`, { method: 'POST', session: { writes: ['user'], rotates: true } });
  const behind = [inc(), inc(), inc()];
  await new Promise((resolve) => setTimeout(resolve, 50));
  // The login holds nothing yet: the slow write holds the session-wide lane shared.
  expect(arrived.map((request) => request.path)).toEqual(['/n', '/n']);
  slow.open();
  expect((await Promise.all([inFlight, login, ...behind])).map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
  const after = client.epoch()!;
  expect(after).not.toBe(before);
  expect(jar.cookies.get('sl_session')).not.toBe(cookie);
  expect(events).toEqual([{ type: 'rotated', from: before, to: after, at: expect.any(Number) }]);
  // Sent after the login, in the new epoch; the versions moved along (keys kept): n is at 5, never reset.
  expect(arrived.slice(2).map(({ path, epoch, rotatedAlready }) => [path, epoch, rotatedAlready])).toEqual([
    ['/login', `"${before}"`, false],
    ['/n', `"${after}"`, true],
    ['/n', `"${after}"`, true],
    ['/n', `"${after}"`, true],
  ]);
  expect(client.versions()).toEqual({ n: 5, user: 1 });
});

test('a logout (ends: true, no keys) runs alone; writes queued behind it are rejected unsent', async () => {
  const { client, events, arrived, inc, waitForSlow, url } = await setup();
  expect((await inc()).status).toBe(200);
  const epoch = client.epoch();
  const inFlight = inc({ 'x-slow': '1' });
  const slow = await waitForSlow();
  const logout = client.fetch(`${url}/logout`, { method: 'POST', session: { ends: true } });
  const behind = [inc(), inc()];
  slow.open();
  expect((await inFlight).status).toBe(200);
  expect((await logout).status).toBe(200);
  for (const error of await Promise.all(behind.map((call) => call.catch((e: unknown) => e)))) expect(error).toBeInstanceOf(SessionEndedError);
  expect(arrived.map((request) => request.path)).toEqual(['/n', '/n', '/logout']);
  expect(events).toMatchObject([{ type: 'sessionended', epoch }]);
  expect(client.epoch()).toBe('');
});
