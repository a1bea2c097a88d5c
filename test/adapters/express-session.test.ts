import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { expressRoute, withSession, type ExpressContext } from '../../src/server/adapters/express.js';
import { createValidator } from '../../src/server/index.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { Answer, idemKey } from '../support/session-http.js';
import { describeWithServer, REDIS_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

/**
 * The recipe of docs/adopt.md on real express-session with connect-redis:
 * session-lanes keeps the cart under express-session's own id
 * (`sessionId: (_, { req }) => req.sessionID`), so that express-session's
 * login and logout are the session's too.
 */
declare module 'express-session' {
  interface SessionData {
    user: string;
    cart: string[];
    wishlist: string[];
  }
}

const unreachable = await tcpUnreachable(REDIS_URL);

describeWithServer('express-session + connect-redis', 'Redis', unreachable, () => {
  const prefix = `sl-test:${uniqueSuffix()}:`;
  const redis = createClient({ url: REDIS_URL });
  const store = redisStore({ url: REDIS_URL, prefix: `${prefix}lanes:` });
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    await redis.connect();
    const validator = createValidator({ store, sessionId: (_request, { req }: ExpressContext) => req.sessionID });
    const app = express();
    // saveUninitialized: true, so that a visitor's first write keeps its id: an unsaved session gets a new id at every request.
    app.use(session({ store: new RedisStore({ client: redis, prefix: `${prefix}sess:` }), secret: 'a secret of the app', resave: false, saveUninitialized: true }));
    // Written the Express way (withSession) and as a Fetch handler (expressRoute): both on express-session.
    app.post('/api/cart/:sku', withSession(validator, { writes: ['cart'] }), (req, res) => {
      const lanes = res.locals.session!;
      lanes.set('cart', [...((lanes.get('cart') as string[] | undefined) ?? []), req.params.sku]);
      res.json({ cart: lanes.get('cart'), user: req.session.user ?? null });
    });
    // Handlers written for express-session, unchanged but for withSession(): req.session.cart and .wishlist are session-lanes keys now.
    app.post('/api/wishlist/:sku', withSession(validator, { writes: ['wishlist'] }), (req, res) => {
      req.session.wishlist = [...new Set([...(req.session.wishlist ?? []), req.params.sku])];
      res.json({ wishlist: req.session.wishlist });
    });
    app.post('/api/basket/:sku', withSession(validator, { writes: ['cart'] }), (req, res) => {
      (req.session.cart ??= []).push(req.params.sku);
      res.json({ cart: req.session.cart });
    });
    // The old code, not yet moved: it keeps the cart in express-session itself.
    app.post('/legacy/cart/:sku', (req, res) => {
      req.session.cart = [...(req.session.cart ?? []), req.params.sku];
      res.json({ cart: req.session.cart });
    });
    // Login and logout written for express-session, unchanged: withSession() follows regenerate() and destroy().
    app.post('/login', withSession(validator, { rotates: true }), (req, res, next) => {
      req.session.regenerate((error) => {
        if (error) return next(error);
        req.session.user = 'ada';
        res.json({ user: req.session.user });
      });
    });
    app.post('/signout', withSession(validator, { ends: true }), (req, res, next) => req.session.destroy((error) => (error ? next(error) : res.json({ bye: true }))));
    app.post('/clash', withSession(validator, { writes: ['cookie'] }), (_req, res) => void res.json({ reached: true }));
    app.get(
      '/api/cart',
      expressRoute(validator.route({ reads: ['cart'] }, (_request, lanes, { req }: ExpressContext) => Response.json({ cart: lanes.get('cart') ?? [], user: req.session.user ?? null }))),
    );
    app.post(
      '/logout',
      expressRoute(
        validator.route({ writes: ['cart'] }, async (_request, lanes, { req }: ExpressContext) => {
          lanes.destroy();
          await new Promise<void>((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
          return Response.json({ bye: true });
        }),
      ),
    );
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await store.close();
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
    await redis.quit();
  });

  /** A browser: a cookie jar, and the epoch a client would send back. */
  function browser() {
    const jar = createCookieJar();
    let epoch: string | null = null;
    const send = async (path: string, init: { method?: string; headers?: Record<string, string> } = {}) => {
      const headers = { ...init.headers, ...(epoch !== null && epoch !== '' ? { 'session-epoch': `"${epoch}"` } : {}) };
      const response = await jar.fetch(baseUrl + path, { method: init.method ?? 'POST', headers });
      const answer = new Answer(response, await response.text());
      if (answer.response.headers.has('session-epoch')) epoch = answer.epoch();
      return answer;
    };
    return { jar, send, sid: () => jar.cookies.get('connect.sid'), epoch: () => epoch };
  }
  const oldTab = ({ cookie }: { cookie: string }) => {
    const jar = createCookieJar();
    jar.cookies.set('connect.sid', cookie);
    return jar;
  };
  const write = () => ({ headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } });
  const read = { method: 'GET', headers: { 'session-read': '"cart"' } };

  it("keeps an anonymous visitor's cart under express-session's id, across requests", async () => {
    const ada = browser();
    expect((await ada.send('/api/cart/tea', write())).json()).toEqual({ cart: ['tea'], user: null });
    const sid = ada.sid();
    expect(sid).toBeDefined();
    expect((await ada.send('/api/cart/jam', write())).json()).toEqual({ cart: ['tea', 'jam'], user: null });
    expect(ada.sid()).toBe(sid);
    const viewed = await ada.send('/api/cart', read);
    expect(viewed.json()).toEqual({ cart: ['tea', 'jam'], user: null });
    expect(viewed.versions()).toEqual({ cart: 2 });
    // The library sets no cookie of its own: express-session's is the only one.
    expect([...ada.jar.cookies.keys()]).toEqual(['connect.sid']);
  });

  it('serves handlers written for express-session unchanged, without losing concurrent updates of different keys', async () => {
    const ada = browser();
    await ada.send('/api/cart/tea', write());
    // Concurrent writes of two keys: express-session's whole-session save would let one erase the other.
    // (The browser's lanes run writes of one key one after another, and writes of different keys side by side.)
    const skus = ['a', 'b', 'c', 'd', 'e'];
    for (const sku of skus) {
      await Promise.all([ada.send(`/api/wishlist/${sku}`, { headers: { 'session-write': '"wishlist"', 'idempotency-key': idemKey() } }), ada.send(`/api/basket/${sku}`, write())]);
    }
    expect((await ada.send('/api/basket/jam', write())).json()).toEqual({ cart: ['tea', ...skus, 'jam'] });
    const wishlist = await ada.send('/api/wishlist/a', { headers: { 'session-write': '"wishlist"', 'idempotency-key': idemKey() } });
    expect([...(wishlist.json() as { wishlist: string[] }).wishlist].sort()).toEqual(skus);
    expect(wishlist.versions()).toEqual({ wishlist: 5 }); // the last add of 'a' changed nothing: no new version
    // express-session's own record holds neither key.
    const sid = decodeURIComponent(ada.sid()!).slice(2).split('.')[0]!;
    const record = JSON.parse((await redis.get(`${prefix}sess:${sid}`))!) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(['cookie']);
  });

  it("moves a key's old express-session value into session-lanes at its first write", async () => {
    const ada = browser();
    expect((await ada.send('/legacy/cart/tea')).json()).toEqual({ cart: ['tea'] });
    expect((await ada.send('/legacy/cart/jam')).json()).toEqual({ cart: ['tea', 'jam'] });
    expect((await ada.send('/api/basket/oat', write())).json()).toEqual({ cart: ['tea', 'jam', 'oat'] });
    const viewed = await ada.send('/api/cart', read);
    expect(viewed.json()).toEqual({ cart: ['tea', 'jam', 'oat'], user: null });
    expect(viewed.versions()).toEqual({ cart: 1 });
    const sid = decodeURIComponent(ada.sid()!).slice(2).split('.')[0]!;
    expect(JSON.parse((await redis.get(`${prefix}sess:${sid}`))!)).not.toHaveProperty('cart');
  });

  it("log in (express-session's regenerate()): the cart moves to the new id; log out (destroy()): both end; the old ids get 410", async () => {
    const ada = browser();
    await ada.send('/api/cart/tea', write());
    await ada.send('/api/wishlist/oat', { headers: { 'session-write': '"wishlist"', 'idempotency-key': idemKey() } });
    const anonymous = { cookie: ada.jar.cookies.get('connect.sid')!, epoch: ada.epoch()! };

    const login = await ada.send('/login', { headers: { 'idempotency-key': idemKey() } });
    expect(login.json()).toEqual({ user: 'ada' });
    expect(ada.jar.cookies.get('connect.sid')).not.toBe(anonymous.cookie);
    expect(login.epoch()).not.toBe(anonymous.epoch);
    expect(login.epoch()).not.toBe('');
    // The cart survived the login, under the new express-session id, with its versions.
    const viewed = await ada.send('/api/cart', read);
    expect(viewed.json()).toEqual({ cart: ['tea'], user: 'ada' });
    expect(viewed.versions()).toEqual({ cart: 1 });
    expect((await ada.send('/api/cart/jam', write())).json()).toEqual({ cart: ['tea', 'jam'], user: 'ada' });
    expect((await ada.send('/api/wishlist/rye', { headers: { 'session-write': '"wishlist"', 'idempotency-key': idemKey() } })).json()).toEqual({ wishlist: ['oat', 'rye'] });

    // A tab still on the anonymous session: 410.
    const late = await oldTab(anonymous).fetch(`${baseUrl}/api/cart/x`, { method: 'POST', headers: { ...write().headers, 'session-epoch': `"${anonymous.epoch}"` } });
    expect(late.status).toBe(410);

    const signedIn = { cookie: ada.jar.cookies.get('connect.sid')!, epoch: ada.epoch()! };
    const out = await ada.send('/signout', { headers: { 'idempotency-key': idemKey() } });
    expect(out.json()).toEqual({ bye: true });
    expect(out.epoch()).toBe('');
    const after = await oldTab(signedIn).fetch(`${baseUrl}/api/cart`, { headers: { ...read.headers, 'session-epoch': `"${signedIn.epoch}"` } });
    expect(after.status).toBe(410);
    expect(await (await oldTab(signedIn).fetch(`${baseUrl}/api/cart`, { headers: read.headers })).json()).toEqual({ cart: [], user: null });
  });

  it("refuses a route key that is one of express-session's own members, naming it", async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const answer = await browser().send('/clash', { headers: { 'session-write': '"cookie"', 'idempotency-key': idemKey() } });
      expect(answer.status).toBe(500);
      expect(answer.json()).toMatchObject({ type: expect.stringContaining('handler-failed') });
      // The default onEvent says why, in the server's log.
      expect(String(logged.mock.calls[0]?.[1])).toContain(`the route's key "cookie" is also a member of req.session's own (express-session's req.session.cookie)`);
    } finally {
      logged.mockRestore();
    }
  });

  it('a logout that destroys the express-session ends both; the old express-session id then gets 410', async () => {
    const ada = browser();
    await ada.send('/api/cart/tea', write());
    const oldCookie = ada.jar.cookies.get('connect.sid')!;
    const oldEpoch = ada.epoch()!;
    const out = await ada.send('/logout', write());
    expect(out.json()).toEqual({ bye: true });
    expect(out.epoch()).toBe('');
    // express-session is gone from its store…
    const sid = decodeURIComponent(oldCookie).slice(2).split('.')[0]!;
    expect(await redis.exists(`${prefix}sess:${sid}`)).toBe(0);
    // …and a request made for the old session (another tab: its cookie, its epoch) is 410, never served from a new, empty one.
    const tab = createCookieJar();
    tab.cookies.set('connect.sid', oldCookie);
    const late = await tab.fetch(`${baseUrl}/api/cart/oat`, { method: 'POST', headers: { ...write().headers, 'session-epoch': `"${oldEpoch}"` } });
    expect(late.status).toBe(410);
    const lateRead = await tab.fetch(`${baseUrl}/api/cart`, { headers: { ...read.headers, 'session-epoch': `"${oldEpoch}"` } });
    expect(lateRead.status).toBe(410);
    // The ended cart is nowhere: a fresh read under the old cookie is an empty visitor's.
    expect(await (await tab.fetch(`${baseUrl}/api/cart`, { headers: read.headers })).json()).toEqual({ cart: [], user: null });
  });
});
