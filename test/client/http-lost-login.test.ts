/**
 * Issue 20 §6: no user is locked out by a lost login answer. The login
 * committed (the old id is a tombstone) but its answer never reached the
 * browser, and it was not resent within the replay window (a dropped mobile
 * connection, a closed tab). The browser keeps the old cookie. Before the
 * fix every later request got a 410 that cleared nothing, until the
 * tombstone expired (14 days). Now, past `replayWindowMs` after the
 * rotation, a tombstone's 410 to a request that names no Session-Epoch
 * clears the cookie, as an ended session's does; within the window it still
 * clears nothing (the login's resend may yet set the new cookie).
 * Through the real client and a cookie jar, on every store.
 */
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createSessionClient, isOutcomeUnknownError, isSessionEndedError } from '../../src/client/index.js';
import { createValidator, type SessionStore } from '../../src/server/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { describeEachStore } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';

const SECRET = 'lost-login-test-secret-of-at-least-32-bytes';
const WINDOW = 120_000;

describeEachStore('a lost login answer', (kind) => {
  let store: SessionStore;
  let server: TestServer;
  let clock: number;

  beforeEach(async () => {
    store = kind.open();
    clock = Date.now();
    const validator = createValidator({ store, secret: SECRET, replayWindowMs: WINDOW, now: () => clock });
    server = await startServer({
      '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
        session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), ((await request.json()) as { item: string }).item]);
        return Response.json({ cart: session.get('cart') });
      }),
      '/login': validator.route({ writes: ['user'], rotates: true }, (_request, session) => {
        session.set('user', 'ada');
        session.rotate();
        return Response.json({ welcome: 'ada' });
      }),
      '/me': validator.route({ reads: ['user', 'cart'] }, (_request, session) => Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null })),
    });
  });
  afterEach(async () => {
    await server.close();
    await store.close();
  });
  afterAll(() => kind.cleanup());

  /**
   * One browser whose connection drops during the login: the first attempt reaches the server (which commits
   * the rotation) and its answer is lost; every resend fails before it leaves (the connection is gone).
   */
  function browser() {
    let loginAttempts = 0;
    const network: typeof fetch = async (input, init) => {
      if (new URL(String(input)).pathname !== '/login') return fetch(input, init);
      loginAttempts++;
      if (loginAttempts === 1) await fetch(input, init);
      throw new TypeError('fetch failed (the connection dropped)');
    };
    const jar = createCookieJar(network);
    const client = createSessionClient({ fetch: jar.fetch, deadline: 1_000, backoff: 50 });
    const add = (item: string) => client.fetch(`${server.url}/cart`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item }), session: { writes: ['cart'], blind: true } });
    const me = async () => (await client.fetch(`${server.url}/me`, { session: { reads: ['user', 'cart'] } })).json();
    const login = () => client.fetch(`${server.url}/login`, { method: 'POST', session: { writes: ['user'], rotates: true, outbox: false } });
    return { jar, client, add, me, login, attempts: () => loginAttempts };
  }

  it('past the replay window: the next request (old epoch) gets a 410 that clears nothing, the one after (no epoch) clears the cookie, and its resend makes a working session', async () => {
    const { jar, client, add, me, login, attempts } = browser();
    expect((await add('before')).status).toBe(200);
    const old = jar.cookies.get('sl_session');
    const oldEpoch = client.epoch();

    expect(isOutcomeUnknownError(await login().catch((error: unknown) => error))).toBe(true);
    expect(attempts()).toBeGreaterThan(1);
    // The login committed: the old id is a tombstone, and the browser never got the new cookie.
    expect(jar.cookies.get('sl_session')).toBe(old);

    clock += WINDOW + 1_000;
    const history = jar.history.length;
    // Made for the session the client knows (it names the old epoch): 410, and the cookie left alone.
    expect(isSessionEndedError(await add('named-old-epoch').catch((error: unknown) => error))).toBe(true);
    expect(jar.history.slice(history)).toEqual([]);
    expect(jar.cookies.get('sl_session')).toBe(old);
    expect(client.epoch()).toBe('');

    // Knowing no session now: its 410 clears the tombstone's cookie, and the client's one resend makes a new session.
    const fresh = await add('after');
    expect(fresh.status).toBe(200);
    expect(jar.history.slice(history)).toEqual([expect.stringMatching(/^sl_session=; Max-Age=0; /), expect.stringMatching(/^sl_session=[\w-]{43}; /)]);
    const now = jar.cookies.get('sl_session');
    expect(now).toBeDefined();
    expect(now).not.toBe(old);
    expect(client.epoch()).not.toBe(oldEpoch);
    expect(await me()).toEqual({ user: null, cart: ['after'] });
    expect((await add('more')).status).toBe(200);
    expect(await me()).toEqual({ user: null, cart: ['after', 'more'] });
  });

  it('within the replay window the tombstone clears nothing: the login resent with the old cookie still gets its answer and the new cookie', async () => {
    const { jar, add } = browser();
    expect((await add('before')).status).toBe(200);
    const old = jar.cookies.get('sl_session')!;
    const key = `"${crypto.randomUUID()}"`;
    const loginBy = (cookie: string) => fetch(`${server.url}/login`, { method: 'POST', headers: { cookie, 'session-write': '"user"', 'idempotency-key': key } });
    expect((await loginBy(`sl_session=${old}`)).status).toBe(200); // its answer, say, lost

    clock += WINDOW - 1_000;
    const noEpoch = await fetch(`${server.url}/me`, { headers: { cookie: `sl_session=${old}`, 'session-read': '"user"' } });
    expect(noEpoch.status).toBe(410);
    expect(noEpoch.headers.getSetCookie()).toEqual([]);
    const resent = await loginBy(`sl_session=${old}`);
    expect(resent.status).toBe(200);
    expect(resent.headers.getSetCookie()).toEqual([expect.stringMatching(/^sl_session=[\w-]{43}; /)]);

    // Past the window, the same resend replays nothing: it gets the tombstone's 410, which now clears the old cookie
    // (it names no epoch), while a request that names one still clears nothing.
    clock += 2_000;
    const late = await loginBy(`sl_session=${old}`);
    expect(late.status).toBe(410);
    expect(late.headers.getSetCookie()).toEqual([expect.stringMatching(/^sl_session=; Max-Age=0; /)]);
    const named = await fetch(`${server.url}/me`, { headers: { cookie: `sl_session=${old}`, 'session-read': '"user"', 'session-epoch': '"AAAAAAAAAAAAAAAAAAAAAA"' } });
    expect(named.status).toBe(410);
    expect(named.headers.getSetCookie()).toEqual([]);
  });
});
