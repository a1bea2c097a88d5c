import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express, { type ErrorRequestHandler } from 'express';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expressRoute, sessionRoutes as expressSessionRoutes, withSession as expressWithSession } from '../../src/server/adapters/express.js';
import { sessionRoutes as honoSessionRoutes, withSession as honoWithSession } from '../../src/server/adapters/hono.js';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { routesMiddleware } from '../../src/server/adapters/vite.js';
import { defineRoutes } from '../../src/routes/index.js';
import { createValidator, memoryStore, type SessionKeysOf } from '../../src/server/index.js';
import { JarBrowser, serverPerTest } from '../support/framework-http.js';
import { idemKey } from '../support/session-http.js';

/** The paths a new user falls into, each done as described, over real HTTP: the exact answer or message. */
const serve = serverPerTest();
const listenExpress = (app: express.Express) => serve(createServer(app));
const listenHono = (app: Hono) => serve(createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server);

const keys = { cart: z.array(z.string()) };
const routes = defineRoutes<SessionKeysOf<typeof keys>>()({
  addToCart: { method: 'POST', path: '/api/cart/:sku', writes: ['cart'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
});
const newValidator = () => createValidator({ store: memoryStore(), keys, onEvent: () => {} });
const write = () => ({ 'session-write': '"cart"', 'idempotency-key': idemKey(), 'content-type': 'application/json' });
const BODY_ALREADY_READ = 'https://session-lanes.dev/problems/body-already-read';
const expressFix = (parser: string) =>
  `session-lanes: ${parser}() read the body of POST /api/cart/tea before session-lanes could, and kept no raw bytes; the validator fingerprints the bytes that arrived, ` +
  'so that a resend is known as the same request. Mount the route before the parser (or apply the parser only to the routes that need it), ' +
  `or keep the raw bytes: ${parser}({ verify: keepRawBody }), keepRawBody from 'session-lanes/server/express'`;

describe('a body an earlier parser consumed (the README quick start in an app with express.json())', () => {
  function mountings(validator: ReturnType<typeof newValidator>): Record<string, (app: express.Express) => void> {
    const add = validator.route(routes.addToCart, async (request, session) => {
      const { quantity } = (await request.json()) as { quantity: number };
      session.set('cart', [...(session.get('cart') ?? []), `${quantity}`]);
      return Response.json({ cart: session.get('cart') });
    });
    return {
      toNodeListener: (app) => app.post('/api/cart/:sku', toNodeListener(add)),
      expressRoute: (app) => app.post('/api/cart/:sku', expressRoute(add)),
      withSession: (app) => app.post('/api/cart/:sku', expressWithSession(validator, routes.addToCart), (_req, res) => void res.json({ reached: true })),
      sessionRoutes: (app) =>
        app.use(expressSessionRoutes(validator, routes, { addToCart: (_req, res) => void res.json({ reached: true }), showCart: (_req, res) => void res.json([]) })),
      'Vite (routesMiddleware)': (app) => app.use(routesMiddleware({ 'POST /api/cart/tea': add })),
    };
  }

  for (const name of Object.keys(mountings(newValidator()))) {
    it(`${name}: a 500 body-already-read problem naming express.json() and the fix, not an empty body; nothing is written`, async () => {
      const validator = newValidator();
      const app = express();
      app.use(express.json());
      mountings(validator)[name]!(app);
      const browser = new JarBrowser(await listenExpress(app));
      const refused = await browser.send('/api/cart/tea', { headers: write(), body: '{"quantity":2}' });
      expect([refused.status, refused.response.headers.get('content-type')]).toEqual([500, 'application/problem+json']);
      expect(refused.json()).toEqual({
        type: BODY_ALREADY_READ,
        title: 'Request body already read by another middleware',
        status: 500,
        detail: expressFix('express.json'),
        parser: 'express.json()',
      });
      expect(refused.response.headers.get('set-cookie')).toBeNull();
    });
  }

  it('toNodeListener uses the raw bytes the parser kept (keepRawBody), and a resend of them is replayed', async () => {
    const { keepRawBody } = await import('../../src/server/adapters/express.js');
    const validator = newValidator();
    const app = express();
    app.use(express.json({ verify: keepRawBody }));
    mountings(validator).toNodeListener!(app);
    const browser = new JarBrowser(await listenExpress(app));
    const added = await browser.sendTwice('/api/cart/tea', write(), '{"quantity":2}');
    expect(added.json()).toEqual({ cart: ['2'] });
  });
});

describe('Hono: the fingerprint is over the bytes that arrived', () => {
  function app(read: (c: Parameters<Parameters<Hono['use']>[1]>[0]) => Promise<unknown>) {
    const validator = newValidator();
    const hono = new Hono();
    hono.post(
      '/api/cart/:sku',
      async (c, next) => {
        await read(c);
        await next();
      },
      honoWithSession(validator, routes.addToCart),
      async (c) => {
        c.var.session.set('cart', [...(c.var.session.get('cart') ?? []), await c.req.text()]);
        return c.json({ cart: c.var.session.get('cart') });
      },
    );
    return hono;
  }

  it('refuses a body earlier middleware decoded to text that is not its bytes (invalid UTF-8), naming the reader and the fix', async () => {
    const url = await listenHono(app((c) => c.req.text()));
    const response = await fetch(`${url}/api/cart/tea`, { method: 'POST', headers: write(), body: new Uint8Array([0x22, 0x63, 0xff, 0x22]) });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      type: BODY_ALREADY_READ,
      title: 'Request body already read by another middleware',
      status: 500,
      parser: 'c.req.json() (or c.req.text())',
      detail:
        'session-lanes: c.req.json() (or c.req.text()) read the body of POST /api/cart/tea before session-lanes could, and kept no raw bytes; the validator fingerprints the bytes that arrived, ' +
        'so that a resend is known as the same request. Mount withSession() before the middleware that reads the body, or have that middleware read it with c.req.arrayBuffer() first ' +
        '(c.req.json() then parses those same bytes)',
    });
  });

  it('refuses a body read as form data, and serves one read with c.req.arrayBuffer() or c.req.json() from the bytes, a resend replayed', async () => {
    const form = await listenHono(app((c) => c.req.formData()));
    const refused = await fetch(`${form}/api/cart/tea`, { method: 'POST', headers: { ...write(), 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect([refused.status, ((await refused.json()) as { parser: string }).parser]).toEqual([500, 'c.req.formData() (or c.req.parseBody())']);

    for (const read of [(c: { req: { arrayBuffer(): Promise<unknown> } }) => c.req.arrayBuffer(), (c: { req: { json(): Promise<unknown> } }) => c.req.json()]) {
      const browser = new JarBrowser(await listenHono(app(read as never)));
      const headers = write();
      // A BOM is 3 bytes the decoded text lacks: it is kept (or the request refused), never dropped from the fingerprint.
      const added = await browser.sendTwice('/api/cart/tea', headers, '{"quantity":1}');
      expect(added.json()).toEqual({ cart: ['{"quantity":1}'] });
      expect((await browser.send('/api/cart/tea', { headers, body: '{"quantity":2}' })).status).toBe(422);
    }
  });

  it('refuses a body whose BOM the decoded text dropped', async () => {
    const url = await listenHono(app((c) => c.req.json()));
    const response = await fetch(`${url}/api/cart/tea`, { method: 'POST', headers: write(), body: new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"a":1}')]) });
    expect([response.status, ((await response.json()) as { type: string }).type]).toEqual([500, BODY_ALREADY_READ]);
  });
});

describe('a route table mounted in one call (sessionRoutes)', () => {
  it('Express: each route at its method and path, params and typed session; any other request goes on to next()', async () => {
    const validator = newValidator();
    const app = express();
    app.use((req, res, next) => {
      res.locals.user = req.get('x-user') ?? 'nobody';
      next();
    });
    app.use(
      expressSessionRoutes(validator, routes, {
        addToCart: (req, res) => {
          const { session } = res.locals;
          if (req.params.sku === 'broken') throw new Error('the handler broke');
          session.set('cart', [...(session.get('cart') ?? []), req.params.sku]);
          res.status(201).json({ cart: session.get('cart'), user: res.locals.user });
        },
        showCart: (_req, res) => void res.json({ cart: res.locals.session.get('cart') ?? [] }),
      }),
    );
    app.get('/api/cart/:sku', (req, res) => void res.json({ page: req.params.sku }));
    app.get('/about', (_req, res) => void res.send('about'));
    app.use(((error: Error, _req, res, _next) => void res.status(500).json({ error: error.message })) as ErrorRequestHandler);
    const browser = new JarBrowser(await listenExpress(app));

    const added = await browser.send('/api/cart/tea?from=list', { headers: { ...write(), 'x-user': 'ada' }, body: '{}' });
    expect([added.status, added.json(), added.versions()]).toEqual([201, { cart: ['tea'], user: 'ada' }, { cart: 1 }]);
    expect((await browser.send('/api/cart', { method: 'GET', headers: { 'session-read': '"cart"' } })).json()).toEqual({ cart: ['tea'] });
    // A path of the table under another method, and a path of no route: the app's own routes.
    expect((await browser.send('/api/cart/tea', { method: 'GET' })).json()).toEqual({ page: 'tea' });
    expect((await browser.send('/about', { method: 'GET' })).text).toBe('about');
    expect((await browser.send('/api/nothing', { method: 'GET' })).status).toBe(404);
    // A thrown error is the app's error handler's, and commits nothing.
    const broken = await browser.send('/api/cart/broken', { headers: write(), body: '{}' });
    expect([broken.status, broken.json()]).toEqual([500, { error: 'the handler broke' }]);
    expect((await browser.send('/api/cart', { method: 'GET', headers: { 'session-read': '"cart"' } })).versions()).toEqual({ cart: 1 });
  });

  it('Hono: each route at its method and path; any other request goes on to the app', async () => {
    const validator = newValidator();
    const app = new Hono();
    app.route(
      '/',
      honoSessionRoutes(validator, routes, {
        addToCart: (c) => {
          c.var.session.set('cart', [...(c.var.session.get('cart') ?? []), c.req.param('sku')]);
          return c.json({ cart: c.var.session.get('cart') }, 201);
        },
        showCart: (c) => c.json({ cart: c.var.session.get('cart') ?? [] }),
      }),
    );
    app.get('/api/cart/:sku', (c) => c.json({ page: c.req.param('sku') }));
    const browser = new JarBrowser(await listenHono(app));
    const added = await browser.send('/api/cart/tea', { headers: write(), body: '{}' });
    expect([added.status, added.json(), added.versions()]).toEqual([201, { cart: ['tea'] }, { cart: 1 }]);
    expect((await browser.send('/api/cart', { method: 'GET', headers: { 'session-read': '"cart"' } })).json()).toEqual({ cart: ['tea'] });
    expect((await browser.send('/api/cart/tea', { method: 'GET' })).json()).toEqual({ page: 'tea' });
    expect((await browser.send('/api/nothing', { method: 'GET' })).status).toBe(404);
  });

  it('a missing handler, or one of no route, is a TypeError naming it (Express and Hono)', () => {
    const validator = newValidator();
    for (const mount of [expressSessionRoutes, honoSessionRoutes] as ((...args: unknown[]) => unknown)[]) {
      expect(() => mount(validator, routes, { addToCart: () => {} })).toThrow('sessionRoutes(validator, routes, handlers): route "showCart" (GET /api/cart) has no handler');
      expect(() => mount(validator, routes, { addToCart: () => {}, showCart: () => {}, wishlist: () => {} })).toThrow(
        'sessionRoutes(validator, routes, handlers): handler "wishlist" names no route of the table',
      );
      expect(() => mount(validator, { addToCart: routes.addToCart }, { addToCart: () => {} })).toThrow('sessionRoutes(validator, routes, handlers): routes must come from defineRoutes() (session-lanes/routes)');
    }
  });
});

describe('a request that declares nothing to a route of the table (a client without routes, a call on another path)', () => {
  it('gets a 428 that says the route is in the table but the request declared nothing, and names the two likely causes', async () => {
    const app = express();
    app.use(expressSessionRoutes(newValidator(), routes, { addToCart: (_req, res) => void res.json({}), showCart: (_req, res) => void res.json({}) }));
    const browser = new JarBrowser(await listenExpress(app));
    const answer = await browser.send('/api/cart/tea', { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(428);
    expect(answer.json()).toEqual({
      type: 'https://session-lanes.dev/problems/declaration-required',
      title: 'Session-Write declaration required',
      status: 428,
      keys: ['cart'],
      detail:
        'This route (POST /api/cart/:sku) is in the server\'s route table and writes "cart", but the request declared nothing (no Session-Write, no Idempotency-Key). ' +
        "Likely causes: the client was created without `routes` (createSessionClient({ routes })), or the call's method and path do not match the route's entry POST /api/cart/:sku. " +
        'Without the client, send Session-Write and Idempotency-Key yourself (PROTOCOL.md)',
    });
    // A request that declares something, but not every written key, keeps the protocol's sentence.
    const partial = await browser.send('/api/cart/tea', { headers: { 'idempotency-key': idemKey() }, body: '{}' });
    expect(partial.json().detail).toBe('This route writes "cart": declare every written key in Session-Write');
  });
});

describe('withSession() given something that is not a declaration', () => {
  it('says what it expected (Express and Hono)', () => {
    const validator = newValidator();
    const message = 'withSession(validator, declaration): declaration must be a route table entry (routes.addToCart) or { reads, writes }, got undefined (is the entry named as in the route table?)';
    expect(() => expressWithSession(validator, undefined as never)).toThrow(new TypeError(message));
    expect(() => honoWithSession(validator, undefined as never)).toThrow(new TypeError(message));
    expect(() => expressWithSession(validator, 'addToCart' as never)).toThrow('declaration must be a route table entry (routes.addToCart) or { reads, writes }, got "addToCart"');
  });
});

describe('session.rotate() in a route whose entry does not say rotates', () => {
  it('fails the request, and the error names the table entry to change', async () => {
    const errors: unknown[] = [];
    const validator = createValidator({ store: memoryStore(), keys, onEvent: (event) => void errors.push(event.error) });
    const app = express();
    app.use(
      expressSessionRoutes(validator, routes, {
        addToCart: (_req, res) => {
          (res.locals.session as unknown as { rotate(): void }).rotate();
          res.json({});
        },
        showCart: (_req, res) => void res.json({}),
      }),
    );
    const answer = await new JarBrowser(await listenExpress(app)).send('/api/cart/tea', { headers: write(), body: '{}' });
    expect([answer.status, answer.json().type]).toEqual([500, 'https://session-lanes.dev/problems/handler-failed']);
    expect(String(errors[0])).toBe(
      "TypeError: session.rotate(): declare the route `rotates: true` in its route table entry (login: { method: 'POST', path: '/login', rotates: true }), or in the declaration it was mounted with",
    );
  });
});
