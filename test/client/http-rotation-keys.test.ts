/**
 * Issue 20 §6–7 through the real client: a login that rotates with
 * `keepKeys: false` or a list says `keys=?0`, and its Session-Versions name
 * what the new session holds (the login's own keys, the kept ones). The
 * client's version cache must then match the server's: a static-body write
 * (`blind: false`, bases declared) of a kept key and of a dropped key after
 * the login is accepted, never a 412 from a version the client kept wrongly.
 */
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { createSessionClient } from '../../src/client/index.js';
import { createValidator, type SessionStore } from '../../src/server/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { describeEachStore } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';

const SECRET = 'rotation-keys-test-secret-of-at-least-32-bytes';

describeEachStore('a login that carries some keys', (kind) => {
  let store: SessionStore;
  let server: TestServer;

  beforeEach(async () => {
    store = kind.open();
    const validator = createValidator({ store, secret: SECRET });
    const put = (key: string) =>
      validator.route({ writes: [key] }, async (request, session) => {
        session.set(key, await request.text());
        return Response.json({ [key]: session.get(key) });
      });
    server = await startServer({
      '/cart': put('cart'),
      '/return-to': put('returnTo'),
      '/login': validator.route({ writes: ['user'], reads: ['cart', 'returnTo'], rotates: true }, async (request, session) => {
        const { keepKeys } = (await request.json()) as { keepKeys: boolean | string[] };
        session.rotate({ keepKeys });
        session.set('user', 'ada');
        return Response.json({ welcome: 'ada' });
      }),
      '/me': validator.route({ reads: ['user', 'cart', 'returnTo'] }, (_request, session) =>
        Response.json({ user: session.get('user') ?? null, cart: session.get('cart') ?? null, returnTo: session.get('returnTo') ?? null }),
      ),
    });
  });
  afterEach(async () => {
    await server.close();
    await store.close();
  });
  afterAll(() => kind.cleanup());

  async function loggedIn(keepKeys: boolean | string[]) {
    const jar = createCookieJar();
    const client = createSessionClient({ fetch: jar.fetch });
    // Static bodies: each declares the base it knows, so a wrong cached version would be a 412 (a conflict).
    const put = (path: string, key: string, value: string) => client.fetch(`${server.url}${path}`, { method: 'POST', body: value, session: { writes: [key], blind: false } });
    expect((await put('/cart', 'cart', 'milk')).status).toBe(200);
    expect((await put('/return-to', 'returnTo', 'https://evil.example/')).status).toBe(200);
    expect(client.versions()).toEqual({ cart: 1, returnTo: 1 });
    const login = await client.fetch(`${server.url}/login`, { method: 'POST', body: JSON.stringify({ keepKeys }), session: { writes: ['user'], rotates: true } });
    expect(login.status).toBe(200);
    expect(login.headers.get('session-rotated')).toMatch(/;keys=\?0$/);
    const me = async () => (await client.fetch(`${server.url}/me`, { session: { reads: ['user', 'cart', 'returnTo'] } })).json();
    return { client, put, me };
  }

  it("keepKeys: ['cart']: the client holds the cart's version and none for the dropped returnTo; both next writes go through", async () => {
    const { client, put, me } = await loggedIn(['cart']);
    expect(client.versions()).toEqual({ user: 1, cart: 1 });
    expect(await me()).toEqual({ user: 'ada', cart: 'milk', returnTo: null });
    expect((await put('/cart', 'cart', 'eggs')).status).toBe(200);
    expect((await put('/return-to', 'returnTo', '/home')).status).toBe(200);
    expect(client.versions()).toEqual({ user: 1, cart: 2, returnTo: 1 });
    expect(await me()).toEqual({ user: 'ada', cart: 'eggs', returnTo: '/home' });
  });

  it('keepKeys: false: the login keeps what it set (user), the client starts the rest at version 0', async () => {
    const { client, put, me } = await loggedIn(false);
    expect(client.versions()).toEqual({ user: 1 });
    expect(await me()).toEqual({ user: 'ada', cart: null, returnTo: null });
    expect((await put('/cart', 'cart', 'eggs')).status).toBe(200);
    expect(client.versions()).toEqual({ user: 1, cart: 1, returnTo: 0 });
  });
});
