import { afterEach, beforeEach, expect, it } from 'vitest';
import { createValidator, REPLAYED_HEADER } from '../../src/server/index.js';
import type { SessionStore } from '../../src/server/store.js';
import { describeEachStore } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * Under an app's own sessionId() resolver, session.rotate({ id }) moves the
 * session to the id the app gives (express-session's regenerate() at login),
 * atomically in the commit, over real HTTP on every store.
 */
describeEachStore('rotate({ id }) under a resolver', (kind) => {
  let opened: { store: SessionStore; cleanup(): Promise<void> };
  let server: TestServer;
  let events: { type: string; error?: unknown }[];

  beforeEach(async () => {
    const store = kind.open();
    opened = { store, cleanup: async () => (await store.close(), await kind.cleanup()) };
    events = [];
    // The app's session layer: the id is the X-Sid header (express-session's cookie, in real life).
    const validator = createValidator({ store: opened.store, sessionId: (request) => request.headers.get('x-sid'), onEvent: (event) => void events.push(event) });
    server = await startServer({
      '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
        session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
        return Response.json({ cart: session.get('cart') });
      }),
      '/login': validator.route({ writes: ['user'], rotates: true }, async (request, session) => {
        session.set('user', 'ada');
        session.rotate({ id: request.headers.get('x-new-sid')! });
        return Response.json({ welcome: 'ada' });
      }),
      '/me': validator.route({ reads: ['user', 'cart'] }, async (_request, session) => Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null })),
    });
  });

  afterEach(async () => {
    await server.close();
    await opened.cleanup();
  });

  const as = (sid: string) => {
    const browser = new Browser(server.url);
    return {
      add: (item: string, key = idemKey(), epoch?: string) =>
        browser.send('/cart', { headers: { 'x-sid': sid, 'session-write': '"cart"', 'idempotency-key': key, ...(epoch ? { 'session-epoch': `"${epoch}"` } : {}) }, body: item }),
      login: (to: string) => browser.send('/login', { headers: { 'x-sid': sid, 'x-new-sid': to, 'session-write': '"user"', 'idempotency-key': idemKey() } }),
      me: () => browser.send('/me', { method: 'GET', headers: { 'x-sid': sid, 'session-read': '"user", "cart"' } }),
    };
  };

  it('moves keys, versions and idempotency records to the new id; the old id answers 410', async () => {
    const key = idemKey();
    const before = as('anon-1');
    const added = await before.add('tea', key);
    await before.add('jam');
    const login = await before.login('user-1');
    expect(login.json()).toEqual({ welcome: 'ada' });
    expect(login.epoch()).not.toBe(added.epoch());
    expect(login.response.headers.get('set-cookie')).toBeNull();

    const after = as('user-1');
    const me = await after.me();
    expect(me.json()).toEqual({ user: 'ada', cart: ['tea', 'jam'] });
    expect(me.versions()).toEqual({ user: 1, cart: 2 });
    // A write made before the login, resent after it under the new id: its record moved too, so it replays.
    const resent = await after.add('tea', key);
    expect(resent.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect((await after.me()).json()).toEqual({ user: 'ada', cart: ['tea', 'jam'] });
    // The old id is a tombstone: a request made for it (another tab) is 410, and nothing lands there.
    expect((await before.add('oat', idemKey(), added.epoch()!)).status).toBe(410);
    expect((await before.add('oat')).status).toBe(410);
  });

  it("refuses to rotate onto an id that already holds a session: nothing is applied, both sessions stay as they were, and the error says why", async () => {
    const other = as('user-2');
    await other.add('theirs');
    const mine = as('anon-2');
    await mine.add('mine');
    const login = await mine.login('user-2');
    expect(login.status).toBe(500);
    expect((await other.me()).json()).toEqual({ user: null, cart: ['theirs'] });
    expect((await other.me()).versions()).toEqual({ user: 0, cart: 1 });
    expect((await mine.me()).json()).toEqual({ user: null, cart: ['mine'] });
    expect(String(events.find((event) => event.type === 'handler-error')?.error)).toContain('session.rotate({ id }): the id the app gave already holds a session');
  });
});
