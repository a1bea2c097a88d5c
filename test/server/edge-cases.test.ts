import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { countingStore } from '../support/counting-store.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/** Edge cases of the commit path, each once a real bug or a plausible one. */

let server: TestServer;
let clock: number;
let reached: ReturnType<typeof gate>;
let proceed: ReturnType<typeof gate>;
const counting = countingStore(memoryStore());

beforeEach(async () => {
  clock = Date.now();
  reached = gate();
  proceed = gate();
  counting.reset();
  const validator = createValidator({ store: counting.store, now: () => clock, retentionMs: 3_600_000, maxBodyBytes: 1024 });
  server = await startServer({
    '/login': validator.route({ writes: ['user'] }, async (request, session) => {
      session.set('user', (await request.text()) || 'ada');
      return Response.json({ ok: true });
    }),
    '/logout': validator.route({ reads: ['cart'], writes: ['user'] }, async (_request, session) => {
      session.get('cart');
      reached.open();
      await proceed.opened;
      session.destroy();
      return Response.json({ loggedOut: true });
    }),
    '/logout-committing': validator.route({ writes: ['user'] }, async (_request, session) => {
      session.destroy();
      await session.commit();
      return Response.json({ loggedOut: true });
    }),
    '/get-logout': validator.route({ reads: ['user'] }, async (_request, session) => {
      session.destroy();
      return Response.json({ loggedOut: true });
    }),
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      session.set('cart', await request.text());
      return Response.json({ ok: true });
    }),
    // Sets a, commits without waiting, sets b meanwhile.
    '/overlapping-set': validator.route({ writes: ['a', 'b'] }, async (_request, session) => {
      session.set('a', 1);
      const committing = session.commit();
      session.set('b', 2);
      await committing;
      return Response.json({ ok: true });
    }),
    // Reads cart, commits a flag, then (after cart moved) ends with nothing more to change.
    '/flag-after-read': validator.route({ reads: ['cart'], writes: ['flag'] }, async (_request, session) => {
      session.get('cart');
      session.set('flag', true);
      await session.commit();
      reached.open();
      await proceed.opened;
      return Response.json({ ok: true });
    }),
    '/view': validator.route({ reads: ['user', 'cart', 'a', 'b', 'flag'] }, async (_request, session) =>
      Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null, a: session.get('a') ?? null, b: session.get('b') ?? null, flag: session.get('flag') ?? null }),
    ),
  });
});
afterEach(async () => {
  proceed.open();
  await server.close();
});

async function loggedIn() {
  const browser = new Browser(server.url);
  expect((await browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } })).status).toBe(200);
  return browser;
}
const view = async (browser: Browser) => (await browser.send('/view', { method: 'GET' })).json();

describe('edge cases of the commit path', () => {
  it('keeps a value set while a mid-request commit was on its way', async () => {
    const browser = await loggedIn();
    const answer = await browser.send('/overlapping-set', { headers: { 'session-write': '"a", "b"', 'idempotency-key': idemKey() } });
    expect(answer.status).toBe(200);
    expect(answer.versions()).toEqual({ a: 1, b: 1 });
    expect(await view(browser)).toMatchObject({ a: 1, b: 2 });
  });

  it('never answers 412 to a logout, even when a key it read moved meanwhile', async () => {
    const browser = await loggedIn();
    const loggingOut = browser.send('/logout', { headers: { 'session-read': '"cart"', 'session-write': '"user"', 'idempotency-key': idemKey() } });
    await reached.opened;
    expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: 'tea' })).status).toBe(200);
    proceed.open();
    const answer = await loggingOut;
    expect(answer.status).toBe(200);
    expect(answer.epoch()).toBe('');
    expect(answer.response.headers.get('set-cookie')).toBeNull();
  });

  it('applies a destroy followed by session.commit() once, at the end, with a recorded 200', async () => {
    const browser = await loggedIn();
    const cookie = browser.cookie!;
    const key = idemKey();
    const answer = await browser.send('/logout-committing', { headers: { 'session-write': '"user"', 'idempotency-key': key } });
    expect(answer.status).toBe(200);
    expect(answer.json()).toEqual({ loggedOut: true });
    const replay = await browser.send('/logout-committing', { headers: { cookie, 'session-write': '"user"', 'idempotency-key': key } });
    expect(replay.status).toBe(200);
    expect(replay.text).toBe(answer.text);
  });

  it('refuses session.destroy() in a read-only route with a 500, instead of pretending to log out', async () => {
    const browser = await loggedIn();
    const answer = await browser.send('/get-logout', { method: 'GET' });
    expect(answer.status).toBe(500);
    expect(answer.json().type).toBe('https://session-lanes.dev/problems/handler-failed');
    expect(await view(browser)).toMatchObject({ user: 'ada' });
  });

  it('records the answer of a request whose only later change was none, although a key it read moved', async () => {
    const browser = await loggedIn();
    const flagging = browser.send('/flag-after-read', { headers: { 'session-read': '"cart"', 'session-write': '"flag"', 'idempotency-key': idemKey() } });
    await reached.opened;
    expect((await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() }, body: 'jam' })).status).toBe(200);
    proceed.open();
    expect((await flagging).status).toBe(200);
    expect(await view(browser)).toMatchObject({ flag: true, cart: 'jam' });
  });

  it('never lets an old session-creating Idempotency-Key into the session it created, once its record is gone', async () => {
    const key = idemKey();
    const owner = new Browser(server.url);
    expect((await owner.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': key }, body: 'owner' })).status).toBe(200);
    clock += 3_600_001; // past the record's retention; the session lives on (it is used)
    expect((await owner.send('/view', { method: 'GET' })).status).toBe(200);
    // Long past its replay window, the key is no longer a resend: the request runs as a new one, in a new
    // session (its id depends on the window too), never in the owner's.
    const stranger = new Browser(server.url);
    const answer = await stranger.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': key }, body: 'stranger' });
    expect(answer.status).toBe(200);
    expect(stranger.cookie).not.toBeNull();
    expect(stranger.cookie).not.toBe(owner.cookie);
    expect(await view(stranger)).toMatchObject({ user: 'stranger' });
    expect(await view(owner)).toMatchObject({ user: 'owner' });
  });

  it('cuts off a chunked body as soon as it passes maxBodyBytes, with 413', async () => {
    const browser = await loggedIn();
    const commitsBefore = counting.calls.commit;
    const { port } = new URL(server.url);
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/cart', headers: { cookie: browser.cookie!, 'session-write': '"cart"', 'idempotency-key': idemKey(), 'transfer-encoding': 'chunked' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      // Far more than the limit, unless the server stops reading: it answers long before the end.
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && request.write('x'.repeat(16 * 1024))) sent += 16 * 1024;
        if (sent < 64 * 1024 * 1024) request.once('drain', pump);
        else request.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(sent).toBeLessThan(64 * 1024 * 1024); // answered before the body was all sent
    expect(counting.calls.commit).toBe(commitsBefore);
  });

  it('marks session answers private to the user: Cache-Control private, no-store and Vary: Cookie', async () => {
    const browser = await loggedIn();
    const answer = await browser.send('/view', { method: 'GET' });
    expect(answer.response.headers.get('cache-control')).toBe('private, no-store');
    expect(answer.response.headers.get('vary')).toContain('Cookie');
  });
});
