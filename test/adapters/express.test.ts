import { createServer } from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { describe, expect, it } from 'vitest';
import { expressRoute, keepRawBody, withSession, type ExpressContext } from '../../src/server/adapters/express.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { JarBrowser, serverPerTest } from '../support/framework-http.js';
import { idemKey } from '../support/session-http.js';

/** Validator routes mounted on real Express 5 as Express users write routes, over real HTTP. */
const serve = serverPerTest();
const listen = (app: express.Express) => serve(createServer(app));

/** An auth middleware as apps have them: refuses without a user, puts the user on res.locals, sets a cookie of its own. */
const requireUser: RequestHandler = (req, res, next) => {
  const user = req.get('x-user');
  if (!user) return void res.status(401).json({ error: 'log in' });
  res.locals.user = user;
  res.cookie('seen', '1');
  next();
};

const json = { 'content-type': 'application/json' };
const writeCart = () => ({ 'session-write': '"cart"', 'idempotency-key': idemKey(), 'x-user': 'ada', ...json });

function cartRoutes() {
  const validator = createValidator({ store: memoryStore() });
  const add = validator.route({ writes: ['cart'] }, async (request, session, { req, res }: ExpressContext) => {
    const body = (await request.json()) as { quantity: number };
    session.set('cart', [...((session.get('cart') as unknown[] | undefined) ?? []), { sku: req.params.sku, quantity: body.quantity, by: res.locals.user }]);
    return Response.json({ cart: session.get('cart'), url: request.url, parsed: req.body ?? null }, { status: 201 });
  });
  const view = validator.route({ reads: ['cart'] }, (_request, session, { req }: ExpressContext) => Response.json({ cart: session.get('cart') ?? [], query: req.query }));
  return { add, view };
}

describe('expressRoute', () => {
  it('gives the handler route params, req, res.locals, and keeps what earlier middleware did (auth, cookies), under a mounted router', async () => {
    const { add, view } = cartRoutes();
    const app = express();
    const router = express.Router();
    router.post('/cart/:sku', requireUser, expressRoute(add));
    router.get('/cart', requireUser, expressRoute(view));
    app.use('/api', router);
    const url = await listen(app);
    const browser = new JarBrowser(url);

    expect((await browser.send('/api/cart/tea', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), ...json }, body: '{"quantity":1}' })).status).toBe(401);
    const added = await browser.send('/api/cart/tea?from=list', { headers: writeCart(), body: '{"quantity":2}' });
    expect(added.status).toBe(201);
    expect(added.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2, by: 'ada' }], url: `${url}/api/cart/tea?from=list`, parsed: null });
    // The validator's cookie and the auth middleware's both reach the browser.
    const cookies = added.response.headers.getSetCookie();
    expect(cookies.some((cookie) => cookie.startsWith('sl_session='))).toBe(true);
    expect(cookies.some((cookie) => cookie.startsWith('seen=1'))).toBe(true);
    expect(added.versions()).toEqual({ cart: 1 });

    const viewed = await browser.send('/api/cart?page=2', { method: 'GET', headers: { 'session-read': '"cart"', 'x-user': 'ada' } });
    expect(viewed.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2, by: 'ada' }], query: { page: '2' } });
    expect(viewed.versions()).toEqual({ cart: 1 });
  });

  it("gives sessionId(request, context) Express's { req, res }", async () => {
    const validator = createValidator({ store: memoryStore(), sessionId: (_request, { res }: ExpressContext) => (res.locals.user as string | undefined) ?? null });
    const add = validator.route({ writes: ['cart'] }, async (_request, session, { req }: ExpressContext) => {
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), req.params.sku!]);
      return Response.json({ cart: session.get('cart') });
    });
    const app = express();
    app.post('/cart/:sku', requireUser, expressRoute(add));
    const browser = new JarBrowser(await listen(app));
    const as = (user: string, sku: string) => browser.send(`/cart/${sku}`, { headers: { ...writeCart(), 'x-user': user } });
    expect((await as('ada', 'tea')).json()).toEqual({ cart: ['tea'] });
    expect((await as('bob', 'jam')).json()).toEqual({ cart: ['jam'] });
    expect((await as('ada', 'oat')).json()).toEqual({ cart: ['tea', 'oat'] });
  });

  it('answers a body express.json() consumed without raw bytes with a body-already-read problem naming the parser and the fix; nothing is written', async () => {
    const { add, view } = cartRoutes();
    const app = express();
    app.use(express.json());
    app.use(express.text());
    app.post('/cart/:sku', requireUser, expressRoute(add));
    app.get('/cart', requireUser, expressRoute(view));
    const browser = new JarBrowser(await listen(app));

    const refused = await browser.send('/cart/tea', { headers: writeCart(), body: '{"quantity":1}' });
    expect(refused.status).toBe(500);
    expect(refused.response.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.json()).toEqual({
      type: 'https://session-lanes.dev/problems/body-already-read',
      title: 'Request body already read by another middleware',
      status: 500,
      parser: 'express.json()',
      detail:
        'session-lanes: express.json() read the body of POST /cart/tea before session-lanes could, and kept no raw bytes; the validator fingerprints the bytes that arrived, ' +
        'so that a resend is known as the same request. Mount the route before the parser (or apply the parser only to the routes that need it), ' +
        "or keep the raw bytes: express.json({ verify: keepRawBody }), keepRawBody from 'session-lanes/server/express'",
    });
    const text = await browser.send('/cart/tea', { headers: { ...writeCart(), 'content-type': 'text/plain' }, body: 'one' });
    expect(text.status).toBe(500);
    expect(text.json()).toMatchObject({ parser: 'express.text()', detail: expect.stringContaining('express.text({ verify: keepRawBody })') });
    expect(browser.jar.cookies.has('sl_session')).toBe(false);
    // A read needs no body: it is served.
    expect((await browser.send('/cart', { method: 'GET', headers: { 'session-read': '"cart"', 'x-user': 'ada' } })).json()).toEqual({ cart: [], query: {} });
  });

  it('uses the raw bytes a parser kept (verify: keepRawBody, express.raw()): req.body is parsed as before and a resend is replayed', async () => {
    const { add } = cartRoutes();
    const app = express();
    app.use('/json', express.json({ verify: keepRawBody }));
    app.use('/raw', express.raw({ type: 'application/json' }));
    app.post('/json/cart/:sku', requireUser, expressRoute(add));
    app.post('/raw/cart/:sku', requireUser, expressRoute(add));
    const browser = new JarBrowser(await listen(app));

    const headers = writeCart();
    // The same write twice (its answer lost): the fingerprint of the kept bytes matches, so it is replayed, not applied twice.
    const added = await browser.sendTwice('/json/cart/tea', headers, '{"quantity":3}');
    expect(added.status).toBe(201);
    expect(added.json()).toMatchObject({ cart: [{ sku: 'tea', quantity: 3 }], parsed: { quantity: 3 } });
    // Another body under the same key is another request: 422.
    expect((await browser.send('/json/cart/tea', { headers, body: '{"quantity":4}' })).status).toBe(422);

    const raw = await browser.send('/raw/cart/jam', { headers: writeCart(), body: '{"quantity":1}' });
    expect(raw.status).toBe(201);
    expect((raw.json() as { cart: unknown[] }).cart).toEqual([
      { sku: 'tea', quantity: 3, by: 'ada' },
      { sku: 'jam', quantity: 1, by: 'ada' },
    ]);
  });

  it('says what to pass when given something that is not a handler', () => {
    expect(() => expressRoute(undefined as never)).toThrow('expressRoute(handler): handler must be a function, as validator.route() returns');
  });
});

describe('withSession (Express handlers written the Express way)', () => {
  function app() {
    const validator = createValidator({ store: memoryStore() });
    const app = express();
    app.use(express.json({ verify: keepRawBody }));
    app.post('/api/cart/:sku', requireUser, withSession(validator, { writes: ['cart'] }), async (req, res, next) => {
      const session = res.locals.session!;
      const { quantity } = req.body as { quantity: number };
      if (quantity > 99) return next(new Error('too many'));
      if (quantity < 0) throw new Error('the handler broke');
      session.set('cart', [...((session.get('cart') as unknown[] | undefined) ?? []), { sku: req.params.sku, quantity, by: res.locals.user }]);
      if (quantity === 0) return void res.status(400).json({ error: 'quantity must be positive' });
      res.set('x-trace', 'cart-add').cookie('last-added', req.params.sku).status(201).json({ cart: session.get('cart') });
    });
    app.get('/api/cart', requireUser, withSession(validator, { reads: ['cart'] }), (req, res) => {
      res.write('{"cart":');
      res.end(`${JSON.stringify(res.locals.session!.get('cart') ?? [])},"page":${JSON.stringify(req.query.page ?? null)}}`);
    });
    app.use(((error: Error, _req, res, _next) => {
      res.status(500).json({ error: error.message });
    }) as ErrorRequestHandler);
    return app;
  }

  it("serves res.json()/res.status()/res.write() answers with the session headers, the handler's own headers and cookies, and earlier middleware's", async () => {
    const browser = new JarBrowser(await listen(app()));
    const added = await browser.send('/api/cart/tea', { headers: writeCart(), body: '{"quantity":2}' });
    expect(added.status).toBe(201);
    expect(added.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2, by: 'ada' }] });
    expect(added.response.headers.get('x-trace')).toBe('cart-add');
    expect(added.response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(added.versions()).toEqual({ cart: 1 });
    expect([...browser.jar.cookies.keys()].sort()).toEqual(['last-added', 'seen', 'sl_session']);
    const viewed = await browser.send('/api/cart?page=2', { method: 'GET', headers: { 'session-read': '"cart"', 'x-user': 'ada' } });
    expect(viewed.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2, by: 'ada' }], page: '2' });
    expect(viewed.versions()).toEqual({ cart: 1 });
  });

  it('replays a resend from its record; next(error) and a thrown error commit nothing; a 4xx answer commits what the handler set', async () => {
    const browser = new JarBrowser(await listen(app()));
    await browser.sendTwice('/api/cart/tea', writeCart(), '{"quantity":1}');

    const refused = await browser.send('/api/cart/jam', { headers: writeCart(), body: '{"quantity":100}' });
    expect([refused.status, refused.json()]).toEqual([500, { error: 'too many' }]);
    const broken = await browser.send('/api/cart/jam', { headers: writeCart(), body: '{"quantity":-1}' });
    expect([broken.status, broken.json()]).toEqual([500, { error: 'the handler broke' }]);
    const read = () => browser.send('/api/cart', { method: 'GET', headers: { 'session-read': '"cart"', 'x-user': 'ada' } });
    expect((await read()).versions()).toEqual({ cart: 1 });

    const rejected = await browser.send('/api/cart/oat', { headers: writeCart(), body: '{"quantity":0}' });
    expect(rejected.status).toBe(400);
    expect((await read()).versions()).toEqual({ cart: 2 });
  });

  it("gives sessionId(request, context) Express's { req, res }", async () => {
    const validator = createValidator({ store: memoryStore(), sessionId: (_request, { res }: ExpressContext) => (res.locals.user as string | undefined) ?? null });
    const app = express();
    app.post('/cart/:sku', requireUser, withSession(validator, { writes: ['cart'] }), (req, res) => {
      const session = res.locals.session!;
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), req.params.sku]);
      res.json({ cart: session.get('cart') });
    });
    const url = await listen(app);
    const as = (user: string, sku: string) => new JarBrowser(url).send(`/cart/${sku}`, { headers: { ...writeCart(), 'x-user': user } });
    expect((await as('ada', 'tea')).json()).toEqual({ cart: ['tea'] });
    expect((await as('bob', 'jam')).json()).toEqual({ cart: ['jam'] });
    expect((await as('ada', 'oat')).json()).toEqual({ cart: ['tea', 'oat'] });
  });
});

describe('a route mounted under another method than its entry declares', () => {
  it('fails at its first request with an error naming the fix (withSession)', async () => {
    const validator = createValidator({ store: memoryStore() });
    const addToCart = { method: 'POST', path: '/api/cart/:sku', writes: ['cart'] } as const;
    const errors: Error[] = [];
    const app = express();
    app.get('/api/cart/:sku', withSession(validator, addToCart), (_req, res) => void res.json({ reached: true }));
    app.post('/api/cart/:sku', withSession(validator, addToCart), (_req, res) => void res.json({ reached: true }));
    app.use(((error: Error, _req, res, _next) => {
      errors.push(error);
      res.status(500).end();
    }) as ErrorRequestHandler);
    const browser = new JarBrowser(await listen(app));
    expect((await browser.send('/api/cart/tea', { method: 'GET' })).status).toBe(500);
    expect(errors[0]?.message).toBe(
      'session-lanes: the route POST /api/cart/:sku is mounted with app.get(); mount it with app.post(), as the route table declares, or change the method in the table',
    );
    expect((await browser.send('/api/cart/tea', { headers: writeCart(), body: '{}' })).json()).toEqual({ reached: true });
    expect(errors).toHaveLength(1);
  });
});

describe('withSession over a session object of the app (req.session)', () => {
  it("reads and writes the route's keys through req.session, leaves its other properties alone, and refuses a write of a key the route only reads", async () => {
    const validator = createValidator({ store: memoryStore() });
    const app = express();
    // A cookie-session-like layer: a plain object on req.session, with the app's own data.
    app.use((req, _res, next) => {
      (req as unknown as { session: Record<string, unknown> }).session = { user: 'ada', cart: ['legacy'] };
      next();
    });
    type WithSession = { session: { user: string; cart?: string[]; prefs?: string } };
    app.post('/cart/:sku', withSession(validator, { reads: ['prefs'], writes: ['cart'] }), (req, res) => {
      const { session } = req as unknown as WithSession;
      session.cart!.push(req.params.sku);
      res.json({ cart: session.cart, user: session.user, prefs: session.prefs ?? null, own: Object.keys(session) });
    });
    app.post('/prefs', withSession(validator, { reads: ['prefs'], writes: ['cart'] }), (req, res) => {
      (req as unknown as WithSession).session.prefs = 'dark';
      res.json({ unreachable: true });
    });
    const browser = new JarBrowser(await listen(app));
    const first = await browser.send('/cart/tea', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } });
    // The old value of a written key moves over at its first write; the app's own properties stay the app's.
    expect(first.json()).toEqual({ cart: ['legacy', 'tea'], user: 'ada', prefs: null, own: ['user'] });
    expect(first.versions()).toEqual({ cart: 1 });
    const second = await browser.send('/cart/jam', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } });
    expect(second.json()).toMatchObject({ cart: ['legacy', 'tea', 'jam'] });
    const refused = await browser.send('/prefs', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } });
    expect(refused.status).toBe(500);
    expect(refused.json()).toMatchObject({ key: 'prefs' });
  });
});
