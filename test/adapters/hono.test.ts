import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { withSession, type HonoContext } from '../../src/server/adapters/hono.js';
import { createValidator, memoryStore, type TrackedSession } from '../../src/server/index.js';
import { JarBrowser, serverPerTest } from '../support/framework-http.js';
import { idemKey } from '../support/session-http.js';

/** withSession() on a real Hono app, served by @hono/node-server over real HTTP. */
const serve = serverPerTest();
const listen = (app: Hono<any>) => serve(createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server);


type Env = { Variables: { user: string } };
/** Auth as Hono apps write it: a context variable, and a login cookie. */
const auth: MiddlewareHandler<Env> = async (c, next) => {
  const user = getCookie(c, 'login') ?? c.req.header('x-user');
  if (!user) return c.json({ error: 'log in' }, 401);
  c.set('user', user);
  await next();
};

const writeCart = () => ({ 'session-write': '"cart"', 'idempotency-key': idemKey(), 'content-type': 'application/json', 'x-user': 'ada' });
const readCart = { 'session-read': '"cart"', 'x-user': 'ada' };

function app() {
  const validator = createValidator({ store: memoryStore(), keys: { cart: z.array(z.object({ sku: z.string(), quantity: z.number(), by: z.string() })) } });
  const hono = new Hono<Env>();
  hono.post('/api/cart/:sku', auth, withSession(validator, { writes: ['cart'] }), async (c) => {
    expectTypeOf(c.var.session).toEqualTypeOf<TrackedSession<{ cart: { sku: string; quantity: number; by: string }[] } & Record<string, unknown>>>();
    const { quantity } = await c.req.json<{ quantity: number }>();
    if (quantity < 0) throw new HTTPException(400, { message: 'quantity must not be negative' });
    if (quantity > 99) throw new Error('the handler broke');
    c.var.session.set('cart', [...(c.var.session.get('cart') ?? []), { sku: c.req.param('sku'), quantity, by: c.var.user }]);
    c.header('x-trace', 'cart-add');
    setCookie(c, 'last-added', c.req.param('sku'));
    return c.json({ cart: c.var.session.get('cart') }, 201);
  });
  hono.get('/api/cart', auth, withSession(validator, { reads: ['cart'] }), (c) => c.json({ cart: c.get('session').get('cart') ?? [], page: c.req.query('page') ?? null }));
  hono.post('/api/logout', auth, withSession(validator, { writes: ['cart'] }), (c) => {
    c.var.session.destroy();
    deleteCookie(c, 'login');
    return c.json({ bye: c.var.user });
  });
  return hono;
}

describe('withSession (Hono)', () => {
  it("hands the handler the tracked session; params, context variables, and the handler's headers and cookies survive into the answer", async () => {
    const browser = new JarBrowser(await listen(app()));
    expect((await browser.send('/api/cart/tea', { headers: { ...writeCart(), 'x-user': '' }, body: '{"quantity":1}' })).status).toBe(401);

    const added = await browser.send('/api/cart/tea', { headers: writeCart(), body: '{"quantity":2}' });
    expect(added.status).toBe(201);
    expect(added.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2, by: 'ada' }] });
    expect(added.response.headers.get('x-trace')).toBe('cart-add');
    expect(added.versions()).toEqual({ cart: 1 });
    expect(added.epoch()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect([...browser.jar.cookies.keys()].sort()).toEqual(['last-added', 'sl_session']);

    const viewed = await browser.send('/api/cart?page=2', { method: 'GET', headers: readCart });
    expect(viewed.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2, by: 'ada' }], page: '2' });
    expect(viewed.versions()).toEqual({ cart: 1 });
  });

  it('replays a resend of the same write from its record, and refuses the same key with another body', async () => {
    const browser = new JarBrowser(await listen(app()));
    const headers = writeCart();
    await browser.sendTwice('/api/cart/tea', headers, '{"quantity":2}');
    expect((await browser.send('/api/cart/tea', { headers, body: '{"quantity":3}' })).status).toBe(422);
    expect((await browser.send('/api/cart', { method: 'GET', headers: readCart })).json()).toMatchObject({ cart: [{ sku: 'tea', quantity: 2 }] });
  });

  it("a logout clears the app's login cookie and ends the session, in one answer", async () => {
    const browser = new JarBrowser(await listen(app()));
    browser.jar.cookies.set('login', 'ada');
    await browser.send('/api/cart/tea', { headers: writeCart(), body: '{"quantity":1}' });
    const out = await browser.send('/api/logout', { headers: writeCart() });
    expect(out.json()).toEqual({ bye: 'ada' });
    expect(out.epoch()).toBe('');
    expect(browser.jar.cookies.has('login')).toBe(false);
    // The validator's own cookie goes with the next request's 410: a logout's answer clears none (PROTOCOL.md).
    expect((await browser.send('/api/cart', { method: 'GET', headers: readCart })).status).toBe(410);
    expect(browser.jar.cookies.has('sl_session')).toBe(false);
  });

  it('commits nothing when the handler throws or answers 5xx; an HTTPException 4xx is answered as it is', async () => {
    const browser = new JarBrowser(await listen(app()));
    await browser.send('/api/cart/tea', { headers: writeCart(), body: '{"quantity":1}' });
    const broken = await browser.send('/api/cart/jam', { headers: writeCart(), body: '{"quantity":100}' });
    expect(broken.status).toBe(500);
    const refused = await browser.send('/api/cart/jam', { headers: writeCart(), body: '{"quantity":-1}' });
    expect(refused.status).toBe(400);
    expect(refused.text).toBe('quantity must not be negative');
    expect((await browser.send('/api/cart', { method: 'GET', headers: readCart })).versions()).toEqual({ cart: 1 });
  });

  it('serves a body that earlier middleware already parsed through c.req', async () => {
    const validator = createValidator({ store: memoryStore() });
    const hono = new Hono();
    hono.post(
      '/notes',
      async (c, next) => {
        const { text } = await c.req.json<{ text: string }>();
        if (text.length === 0) return c.json({ error: 'empty' }, 400);
        await next();
      },
      withSession(validator, { writes: ['notes'] }),
      async (c) => {
        const { text } = await c.req.json<{ text: string }>();
        c.var.session.set('notes', [...((c.var.session.get('notes') as string[] | undefined) ?? []), text]);
        return c.json({ notes: c.var.session.get('notes') });
      },
    );
    const browser = new JarBrowser(await listen(hono));
    const headers = { 'session-write': '"notes"', 'content-type': 'application/json' };
    expect((await browser.send('/notes', { headers: { ...headers, 'idempotency-key': idemKey() }, body: '{"text":"one"}' })).json()).toEqual({ notes: ['one'] });
    expect((await browser.send('/notes', { headers: { ...headers, 'idempotency-key': idemKey() }, body: '{"text":"two"}' })).json()).toEqual({ notes: ['one', 'two'] });
  });

  it("gives sessionId(request, context) Hono's { c }", async () => {
    const validator = createValidator({ store: memoryStore(), sessionId: (_request, { c }: HonoContext) => (c.get('user') as string | undefined) ?? null });
    const hono = new Hono<Env>();
    hono.post('/cart/:sku', auth, withSession(validator, { writes: ['cart'] }), (c) => {
      c.var.session.set('cart', [...((c.var.session.get('cart') as string[] | undefined) ?? []), c.req.param('sku')]);
      return c.json({ cart: c.var.session.get('cart') });
    });
    const url = await listen(hono);
    const as = (user: string, sku: string) => new JarBrowser(url).send(`/cart/${sku}`, { headers: { ...writeCart(), 'x-user': user } });
    expect((await as('ada', 'tea')).json()).toEqual({ cart: ['tea'] });
    expect((await as('bob', 'jam')).json()).toEqual({ cart: ['jam'] });
    const third = await as('ada', 'oat');
    expect(third.json()).toEqual({ cart: ['tea', 'oat'] });
    expect(third.response.headers.get('set-cookie')).toBeNull();
  });

  it('fails, at the first request of a route mounted under another method than its entry declares, with an error naming the fix', async () => {
    const validator = createValidator({ store: memoryStore() });
    const showCart = { method: 'GET', path: '/api/cart', reads: ['cart'] } as const;
    const errors: Error[] = [];
    const hono = new Hono();
    hono.onError((error, c) => (errors.push(error), c.text('misconfigured', 500)));
    hono.post('/api/cart', withSession(validator, showCart), (c) => c.json({ reached: true }));
    hono.get('/api/cart', withSession(validator, showCart), (c) => c.json({ reached: true }));
    const browser = new JarBrowser(await listen(hono));
    expect((await browser.send('/api/cart', { body: '' })).status).toBe(500);
    expect(errors.map((error) => error.message)).toEqual([
      'session-lanes: the route GET /api/cart is mounted with app.post(); mount it with app.get(), as the route table declares, or change the method in the table',
    ]);
    // GET, and HEAD (which a GET route serves), reach the handler.
    expect((await browser.send('/api/cart', { method: 'GET' })).json()).toEqual({ reached: true });
    expect((await browser.send('/api/cart', { method: 'HEAD' })).status).toBe(200);
    expect(errors).toHaveLength(1);
  });

  it("sets another context variable when the app's own session middleware uses `session`", async () => {
    const validator = createValidator({ store: memoryStore(), keys: { cart: z.array(z.string()) } });
    const hono = new Hono<{ Variables: { session: { user: string } } }>();
    hono.use('*', async (c, next) => {
      c.set('session', { user: 'ada' }); // the app's own session layer
      await next();
    });
    hono.post('/cart/:sku', withSession(validator, { writes: ['cart'] }, { variable: 'lanes' }), (c) => {
      expectTypeOf(c.var.lanes.get('cart')).toEqualTypeOf<string[] | undefined>();
      c.var.lanes.set('cart', [...(c.var.lanes.get('cart') ?? []), c.req.param('sku')]);
      return c.json({ cart: c.var.lanes.get('cart'), user: c.var.session.user });
    });
    const browser = new JarBrowser(await listen(hono));
    expect((await browser.send('/cart/tea', { headers: writeCart() })).json()).toEqual({ cart: ['tea'], user: 'ada' });
    expect((await browser.send('/cart/jam', { headers: writeCart() })).json()).toEqual({ cart: ['tea', 'jam'], user: 'ada' });
    expect(() => withSession(validator, { writes: ['cart'] }, { variable: '' })).toThrow('withSession(validator, declaration, { variable }): variable must be a non-empty string');
  });
});
