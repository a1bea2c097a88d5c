import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createValidator, memoryStore, type SessionStore } from '../../src/server/index.js';
import { countingStore, type StoreCalls } from '../support/counting-store.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

const KEYS = Array.from({ length: 50 }, (_, i) => `k${i}`);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


let server: TestServer;
let store: SessionStore;
let calls: StoreCalls;
let resetCalls: () => void;
let handlerRuns: number;
let pause: ReturnType<typeof gate> | null;
let paused: ReturnType<typeof gate> | null;

beforeEach(async () => {
  const counting = countingStore(memoryStore());
  store = counting.store;
  calls = counting.calls;
  resetCalls = counting.reset;
  handlerRuns = 0;
  pause = null;
  paused = null;
  const validator = createValidator({ store, keys: { counter: z.number().int() } });
  const routes: Record<string, (request: Request) => Promise<Response>> = {
    '/login': validator.route({ writes: ['user'] }, async (_request, session) => {
      session.set('user', 'ada');
      return Response.json({ ok: true });
    }),
    '/logout': validator.route({ writes: ['user'] }, async (_request, session) => {
      session.destroy();
      return Response.json({ ok: true });
    }),
    '/increment': validator.route({ writes: ['counter'] }, async (_request, session) => {
      handlerRuns++;
      const value = session.get('counter') ?? 0;
      if (pause) {
        paused?.open();
        await pause.opened;
      }
      session.set('counter', value + 1);
      return Response.json({ value: value + 1 });
    }),
    '/set-counter': validator.route({ writes: ['counter'] }, async (request, session) => {
      handlerRuns++;
      session.set('counter', (await request.json()).value);
      return Response.json({ ok: true });
    }),
    '/delete-counter': validator.route({ writes: ['counter'] }, async (_request, session) => {
      if (pause) {
        paused?.open();
        await pause.opened;
      }
      session.delete('counter');
      return Response.json({ ok: true });
    }),
    // Reads `flag`, writes `counter`: the commit must also check `flag`.
    '/counter-from-flag': validator.route({ reads: ['flag'], writes: ['counter'] }, async (_request, session) => {
      const flag = session.get('flag');
      if (pause) {
        paused?.open();
        await pause.opened;
      }
      session.set('counter', flag ? 100 : -100);
      return Response.json({ ok: true });
    }),
    // Reads nothing: only the request's declaration of `flag` puts it in the compare-and-swap.
    '/counter-ignoring-flag': validator.route({ reads: ['flag'], writes: ['counter'] }, async (_request, session) => {
      paused?.open();
      await pause?.opened;
      session.set('counter', 1);
      return Response.json({ ok: true });
    }),
    '/flag': validator.route({ writes: ['flag'] }, async (request, session) => {
      session.set('flag', (await request.json()).value);
      return Response.json({ ok: true });
    }),
    '/read': validator.route({ reads: ['counter', 'flag'] }, async (_request, session) => {
      handlerRuns++;
      return Response.json({ counter: session.get('counter') ?? null, flag: session.get('flag') ?? null });
    }),
  };
  for (const key of KEYS) {
    routes[`/own/${key}`] = validator.route({ writes: [key] }, async (request, session) => {
      await delay(5);
      session.set(key, await request.text());
      return Response.json({ ok: true });
    });
  }
  routes['/all'] = validator.route({ reads: KEYS }, async (_request, session) => Response.json(Object.fromEntries(KEYS.map((key) => [key, session.get(key) ?? null]))));
  server = await startServer(routes);
});

afterEach(async () => {
  pause?.open();
  await server.close();
});

async function loggedIn(): Promise<Browser> {
  const browser = new Browser(server.url);
  const answer = await browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } });
  expect(answer.status).toBe(200);
  expect(browser.cookie).not.toBeNull();
  return browser;
}

const write = (browser: Browser, path: string, key: string, base: number | null, body?: unknown) =>
  browser.send(path, {
    headers: { 'session-write': base === null ? `"${key}"` : `"${key}";v=${base}`, 'idempotency-key': idemKey(), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

describe('commit', () => {
  it('commits 50 concurrent writes of distinct keys of one session, each with a correct base', async () => {
    const browser = await loggedIn();
    const answers = await Promise.all(
      KEYS.map((key) => browser.send(`/own/${key}`, { headers: { 'session-write': `"${key}";v=0`, 'idempotency-key': idemKey() }, body: `value-${key}` })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(KEYS.map(() => 200));
    for (const [i, answer] of answers.entries()) expect(answer.versions()).toEqual({ [KEYS[i]!]: 1 });
    const all = await browser.send('/all', { method: 'GET' });
    expect(all.json()).toEqual(Object.fromEntries(KEYS.map((key) => [key, `value-${key}`])));
  });

  it('lets exactly one of 20 concurrent writes from one base commit; the others get 412 with the current version and value', async () => {
    const browser = await loggedIn();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => write(browser, '/set-counter', 'counter', 0, { value: i + 1 })));
    const committed = answers.filter((answer) => answer.status === 200);
    const stale = answers.filter((answer) => answer.status === 412);
    expect(committed).toHaveLength(1);
    expect(stale).toHaveLength(19);
    const winner = committed[0]!;
    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
    expect(read.versions()).toEqual({ counter: 1 });
    for (const answer of stale) {
      expect(answer.response.headers.get('content-type')).toBe('application/problem+json');
      const problem = answer.json();
      expect(problem.type).toBe('https://session-lanes.dev/problems/stale');
      // Every loser either lost before its handler (base check) or at the compare-and-swap; both report the winner's state.
      expect(problem.keys).toEqual({ counter: { version: 1, value: read.json().counter } });
      expect(answer.versions()).toEqual({ counter: 1 });
    }
    expect(winner.versions()).toEqual({ counter: 1 });
  });

  it('answers a stale base with 412 before the handler runs; a read-only request is never 412', async () => {
    const browser = await loggedIn();
    expect((await write(browser, '/set-counter', 'counter', 0, { value: 1 })).status).toBe(200);
    handlerRuns = 0;
    const stale = await write(browser, '/set-counter', 'counter', 0, { value: 2 });
    expect(stale.status).toBe(412);
    expect(handlerRuns).toBe(0);
    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter";v=0, "flag";v=7' } });
    expect(read.status).toBe(200);
    expect(read.json()).toEqual({ counter: 1, flag: null });
    expect(read.versions()).toEqual({ counter: 1, flag: 0 });
  });

  it('fails the commit with 412 when a key the handler only read changes meanwhile, applying nothing; the 412 names only the declared keys', async () => {
    const browser = await loggedIn();
    pause = gate();
    paused = gate();
    const slow = browser.send('/counter-from-flag', { headers: { 'session-write': '"counter";v=0', 'idempotency-key': idemKey() } });
    await paused.opened;
    expect((await write(browser, '/flag', 'flag', 0, { value: true })).status).toBe(200);
    pause.open();
    const answer = await slow;
    expect(answer.status).toBe(412);
    // The request declared only counter: flag, which the handler read, is not disclosed (nor is its value stored by a client).
    expect(answer.json().keys).toEqual({ counter: { version: 0 } });
    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter", "flag"' } });
    expect(read.json()).toEqual({ counter: null, flag: true });
    expect(read.versions()).toEqual({ counter: 0, flag: 1 });
  });

  it('fails the commit with 412 when a declared key the handler never touched changes meanwhile', async () => {
    const browser = await loggedIn();
    pause = gate();
    paused = gate();
    // `flag` declared blind (no base): no check before the handler, but the commit still checks it.
    const slow = browser.send('/counter-ignoring-flag', { headers: { 'session-read': '"flag"', 'session-write': '"counter";v=0', 'idempotency-key': idemKey() } });
    await paused.opened;
    expect((await write(browser, '/flag', 'flag', 0, { value: true })).status).toBe(200);
    pause.open();
    const answer = await slow;
    expect(answer.status).toBe(412);
    expect(answer.json().keys.flag).toEqual({ version: 1, value: true });
    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
    expect(read.json().counter).toBeNull();
    expect(read.versions()).toEqual({ counter: 0 });
  });

  it('writes nothing for a read-only request, nor for a set to the current value (canonical JSON)', async () => {
    const browser = await loggedIn();
    expect((await write(browser, '/set-counter', 'counter', 0, { value: 5 })).status).toBe(200);
    resetCalls();
    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
    expect(read.status).toBe(200);
    expect(calls.commit).toBe(0);
    resetCalls();
    const same = await write(browser, '/set-counter', 'counter', 1, { value: 5 });
    expect(same.status).toBe(200);
    expect(same.versions()).toEqual({ counter: 1 });
    expect(calls.commit).toBe(0);
    expect(calls.release).toBe(1); // the claim is given back, not recorded
  });

  it('treats a delete as a versioned change: a racing write is caught, and the deleted key never comes back', async () => {
    const browser = await loggedIn();
    expect((await write(browser, '/set-counter', 'counter', 0, { value: 7 })).status).toBe(200);
    pause = gate();
    paused = gate();
    const deleting = browser.send('/delete-counter', { headers: { 'session-write': '"counter";v=1', 'idempotency-key': idemKey() } });
    await paused.opened;
    expect((await write(browser, '/set-counter', 'counter', 1, { value: 8 })).status).toBe(200);
    pause.open();
    expect((await deleting).status).toBe(412);

    const deleted = await write(browser, '/delete-counter', 'counter', 2);
    expect(deleted.status).toBe(200);
    expect(deleted.versions()).toEqual({ counter: 3 });
    // A write made from before the delete is stale, even though the key is now absent.
    const revived = await write(browser, '/set-counter', 'counter', 2, { value: 9 });
    expect(revived.status).toBe(412);
    expect(revived.json().keys).toEqual({ counter: { version: 3 } });
    const read = await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
    expect(read.json().counter).toBeNull();
    expect(read.versions()).toEqual({ counter: 3 });
    // The next set continues from the marker's version: a version number never comes back.
    expect((await write(browser, '/set-counter', 'counter', 3, { value: 10 })).versions()).toEqual({ counter: 4 });
  });

  it('answers 410 to a slow write whose session was destroyed meanwhile, and does not resurrect the session', async () => {
    const browser = await loggedIn();
    expect((await write(browser, '/set-counter', 'counter', 0, { value: 1 })).status).toBe(200);
    const cookie = browser.cookie!;
    pause = gate();
    paused = gate();
    const slow = browser.send('/increment', { headers: { 'session-write': '"counter";v=1', 'idempotency-key': idemKey() } });
    await paused.opened;
    const logout = await browser.send('/logout', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } });
    expect(logout.status).toBe(200);
    expect(logout.epoch()).toBe('');
    expect(browser.cookie).toBe(cookie); // no answer clears it but the next request's 410
    pause.open();
    const answer = await slow;
    expect(answer.status).toBe(410);
    expect(browser.cookie).toBe(cookie);
    expect(answer.json().type).toBe('https://session-lanes.dev/problems/session-ended');
    // The store has no such session: a request with the old cookie is still 410, and creates nothing.
    const sessionId = cookie.split('=')[1]!;
    expect((await store.begin({ sessionId, keys: ['counter'], now: Date.now() })).session).toBeNull();
    const again = await browser.send('/read', { method: 'GET', headers: { cookie, 'session-read': '"counter"' } });
    expect(again.status).toBe(410);
    expect((await store.begin({ sessionId, keys: ['counter'], now: Date.now() })).session).toBeNull();
  });

  it('costs two store round trips per committing request and one per read-only request', async () => {
    const browser = await loggedIn();
    await browser.send('/read', { method: 'GET' }); // spend the first expiry touch
    resetCalls();
    expect((await write(browser, '/set-counter', 'counter', 0, { value: 1 })).status).toBe(200);
    expect(calls).toMatchObject({ begin: 1, commit: 1, release: 0, touch: 0 });
    resetCalls();
    expect((await browser.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } })).status).toBe(200);
    expect(calls).toMatchObject({ begin: 1, commit: 0, release: 0, touch: 0 });
  });
});
