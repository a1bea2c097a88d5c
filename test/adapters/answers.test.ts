import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import { createServer as createViteServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expressRoute, sessionRoutes as expressSessionRoutes, withSession as expressWithSession } from '../../src/server/adapters/express.js';
import { sessionRoutes as honoSessionRoutes, withSession as honoWithSession } from '../../src/server/adapters/hono.js';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { sessionLanes } from '../../src/server/adapters/vite.js';
import { defineRoutes } from '../../src/routes/index.js';
import { createValidator, memoryStore, type SessionKeysOf, type SessionStore, type TrackedSession } from '../../src/server/index.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { gate } from '../support/gate.js';
import { freePort, startRedis } from '../support/private-servers.js';
import { JarBrowser } from '../support/framework-http.js';
import { idemKey } from '../support/session-http.js';

/**
 * Every problem type reaches the client in the same form (status,
 * Content-Type, body, and the Session-Versions, Session-Epoch, Retry-After,
 * Allow and Set-Cookie headers) through every server entry point, over real
 * HTTP on 127.0.0.1: one table of cases, run against each adapter, each
 * answer compared with the one `validator.route()` gives served as it is.
 */

const keys = { cart: z.array(z.string()) };
const routes = defineRoutes<SessionKeysOf<typeof keys>>()({
  addToCart: { method: 'POST', path: '/api/cart/:sku', writes: ['cart'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
});
type CartSession = TrackedSession<{ cart: string[] }, 'cart'>;

/** The slow write's handler waits here (the 409 case): `entered` opens when it runs, it goes on when `release` opens. */
let slow = { entered: gate(), release: gate() };

/** The handlers' behaviour, by the path's sku, whatever the adapter: each adapter's handler calls it in its own style. */
async function addItem(sku: string, session: CartSession): Promise<{ cart: string[] }> {
  if (sku === 'slow') {
    slow.entered.open();
    await slow.release.opened;
  }
  if (sku === 'bad') session.set('cart', [1 as unknown as string]);
  if (sku === 'admin') (session as unknown as TrackedSession).set('admin', true);
  if (sku === 'boom') throw new Error('the handler broke');
  session.set('cart', [...(session.get('cart') ?? []), sku]);
  if (sku === 'partly') {
    await session.commit();
    throw new Error('the handler broke after a commit');
  }
  return { cart: session.get('cart') ?? [] };
}
const showCart = (session: TrackedSession<{ cart: string[] }, never>) => ({ cart: session.get('cart') ?? [] });
const skuOf = (request: Request) => decodeURIComponent(new URL(request.url).pathname.split('/')[3] ?? '');

type Validator = ReturnType<typeof makeValidator>;
const makeValidator = (store: SessionStore) => createValidator({ store, keys, maxBodyBytes: 256, secret: 'a secret of at least thirty-two bytes, for the tests', onEvent: () => {} });

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.splice(0)) await close();
});
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => (server.closeAllConnections(), new Promise((resolve) => server.close(resolve))));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const serveFetch = (fetch: (request: Request) => Response | Promise<Response>) => listen(createAdaptorServer({ fetch, overrideGlobalObjects: false }) as Server);

/** The Fetch handlers of the table, as `validator.route()` makes them. */
function fetchRoutes(validator: Validator) {
  return {
    add: validator.route(routes.addToCart, async (request, session) => Response.json(await addItem(skuOf(request), session), { status: 201 })),
    show: validator.route(routes.showCart, (_request, session) => Response.json(showCart(session))),
  };
}
const mounted = (validator: Validator) =>
  validator.mount(routes, {
    addToCart: async (request, session) => Response.json(await addItem(skuOf(request), session), { status: 201 }),
    showCart: (_request, session) => Response.json(showCart(session)),
  });

const SKUS = ['tea', 'jam', 'slow', 'bad', 'admin', 'boom', 'partly', 'big'];

interface Adapter {
  /** Serves the table; answers 405 to GET /api/cart/:sku where the adapter can mount a route for every method. */
  serve(validator: Validator): Promise<string>;
  /** The adapter serves a route under a method its entry does not declare (the 405 case). */
  wrongMethod: boolean;
  /** The adapter answers a path of no route itself (the 404 case: `validator.mount()`). */
  notFound: boolean;
}

const ADAPTERS: Record<string, Adapter> = {
  'validator.route': {
    wrongMethod: true,
    notFound: false,
    serve(validator) {
      const { add, show } = fetchRoutes(validator);
      return serveFetch((request) => (new URL(request.url).pathname === '/api/cart' ? show(request) : add(request)));
    },
  },
  mount: { wrongMethod: true, notFound: true, serve: (validator) => serveFetch(mounted(validator)) },
  toNodeListener: { wrongMethod: true, notFound: true, serve: (validator) => listen(createServer(toNodeListener(mounted(validator)))) },
  expressRoute: {
    wrongMethod: true,
    notFound: false,
    serve(validator) {
      const { add, show } = fetchRoutes(validator);
      const app = express();
      app.all('/api/cart/:sku', expressRoute(add));
      app.get('/api/cart', expressRoute(show));
      return listen(createServer(app));
    },
  },
  'Express withSession': {
    wrongMethod: true,
    notFound: false,
    serve(validator) {
      const app = express();
      app.all('/api/cart/:sku', expressWithSession(validator, routes.addToCart), async (req, res) => void res.status(201).json(await addItem(req.params.sku, res.locals.session)));
      app.get('/api/cart', expressWithSession(validator, routes.showCart), (_req, res) => void res.json(showCart(res.locals.session)));
      return listen(createServer(app));
    },
  },
  'Express sessionRoutes': {
    wrongMethod: false,
    notFound: false,
    serve(validator) {
      const app = express();
      app.use(
        expressSessionRoutes(validator, routes, {
          addToCart: async (req, res) => void res.status(201).json(await addItem(req.params.sku, res.locals.session)),
          showCart: (_req, res) => void res.json(showCart(res.locals.session)),
        }),
      );
      return listen(createServer(app));
    },
  },
  'Hono withSession': {
    wrongMethod: true,
    notFound: false,
    serve(validator) {
      const app = new Hono();
      app.all('/api/cart/:sku', honoWithSession(validator, routes.addToCart), async (c) => c.json(await addItem(c.req.param('sku'), c.var.session), 201));
      app.get('/api/cart', honoWithSession(validator, routes.showCart), (c) => c.json(showCart(c.var.session)));
      return serveFetch(app.fetch);
    },
  },
  'Hono sessionRoutes': {
    wrongMethod: false,
    notFound: false,
    serve(validator) {
      const app = new Hono();
      app.route(
        '/',
        honoSessionRoutes(validator, routes, {
          addToCart: async (c) => c.json(await addItem(c.req.param('sku'), c.var.session), 201),
          showCart: (c) => c.json(showCart(c.var.session)),
        }),
      );
      return serveFetch(app.fetch);
    },
  },
  Vite: {
    wrongMethod: true,
    notFound: false,
    async serve(validator) {
      const { add, show } = fetchRoutes(validator);
      const table: Record<string, typeof add> = { 'GET /api/cart': show, 'GET /api/cart/tea': add };
      for (const sku of SKUS) table[`POST /api/cart/${sku}`] = add;
      const vite: ViteDevServer = await createViteServer({ configFile: false, logLevel: 'silent', plugins: [sessionLanes({ routes: table })], server: { port: 0, host: '127.0.0.1', watch: null } });
      await vite.listen();
      closers.push(() => vite.close());
      return `http://127.0.0.1:${(vite.httpServer!.address() as AddressInfo).port}`;
    },
  },
};

/** What of an answer must be the same everywhere; an epoch and a cookie's value are per session, so only their presence counts. */
function form(answer: Awaited<ReturnType<JarBrowser['send']>>) {
  const { headers } = answer.response;
  const epoch = headers.get('session-epoch');
  return {
    status: answer.status,
    contentType: headers.get('content-type'),
    cacheControl: headers.get('cache-control'),
    body: /json/.test(headers.get('content-type') ?? '') ? answer.json() : answer.text,
    versions: headers.get('session-versions'),
    epoch: epoch === null || epoch === '""' ? epoch : 'an epoch',
    retryAfter: headers.get('retry-after'),
    allow: headers.get('allow'),
    setCookie: headers.getSetCookie().map((cookie) => cookie.replace(/^([^=]+)=[^;]*/, '$1=…')),
  };
}

const write = (key = idemKey()) => ({ 'session-write': '"cart"', 'idempotency-key': key, 'content-type': 'application/json' });

/** Each case: the requests a client makes (a fresh browser each time), returning the answer under test, and the type it must be. */
const CASES: Record<string, { type: string; status: number; needs?: 'wrongMethod' | 'notFound'; storeDown?: true; run(browser: JarBrowser): Promise<Awaited<ReturnType<JarBrowser['send']>>> }> = {
  'invalid-declaration': { type: 'invalid-declaration', status: 400, run: (b) => b.send('/api/cart/tea', { headers: { ...write(), 'session-write': '"cart";w=1' }, body: '{}' }) },
  'declaration-required (nothing declared)': { type: 'declaration-required', status: 428, run: (b) => b.send('/api/cart/tea', { body: '{}' }) },
  'invalid-declaration (a key outside the route)': {
    type: 'invalid-declaration',
    status: 400,
    run: (b) => b.send('/api/cart/tea', { headers: { ...write(), 'session-write': '"wishlist"' }, body: '{}' }),
  },
  stale: {
    type: 'stale',
    status: 412,
    async run(b) {
      await b.send('/api/cart/tea', { headers: write(), body: '{}' });
      return b.send('/api/cart/jam', { headers: { ...write(), 'session-write': '"cart";v=5' }, body: '{}' });
    },
  },
  'in-progress': {
    type: 'in-progress',
    status: 409,
    async run(b) {
      await b.send('/api/cart/tea', { headers: write(), body: '{}' });
      slow = { entered: gate(), release: gate() };
      const key = idemKey();
      const first = b.send('/api/cart/slow', { headers: write(key), body: '{}' });
      await slow.entered.opened;
      const resent = await b.send('/api/cart/slow', { headers: write(key), body: '{}' });
      slow.release.open();
      expect((await first).status).toBe(201);
      return resent;
    },
  },
  'idempotency-key-reused': {
    type: 'idempotency-key-reused',
    status: 422,
    async run(b) {
      const key = idemKey();
      await b.send('/api/cart/tea', { headers: write(key), body: '{"n":1}' });
      return b.send('/api/cart/tea', { headers: write(key), body: '{"n":2}' });
    },
  },
  'session-ended': {
    type: 'session-ended',
    status: 410,
    run(b) {
      b.jar.cookies.set('sl_session', 'A'.repeat(43));
      return b.send('/api/cart', { method: 'GET', headers: { 'session-read': '"cart"' } });
    },
  },
  'invalid-value': { type: 'invalid-value', status: 422, run: (b) => b.send('/api/cart/bad', { headers: write(), body: '{}' }) },
  'undeclared-key': { type: 'undeclared-key', status: 500, run: (b) => b.send('/api/cart/admin', { headers: write(), body: '{}' }) },
  'handler-failed': { type: 'handler-failed', status: 500, run: (b) => b.send('/api/cart/boom', { headers: write(), body: '{}' }) },
  'partly-committed': { type: 'partly-committed', status: 500, run: (b) => b.send('/api/cart/partly', { headers: write(), body: '{}' }) },
  'body-too-large': { type: 'body-too-large', status: 413, run: (b) => b.send('/api/cart/big', { headers: write(), body: JSON.stringify({ text: 'x'.repeat(300) }) }) },
  'store-unavailable': { type: 'store-unavailable', status: 503, storeDown: true, run: (b) => b.send('/api/cart/tea', { headers: write(), body: '{}' }) },
  'method-not-allowed': { type: 'method-not-allowed', status: 405, needs: 'wrongMethod', run: (b) => b.send('/api/cart/tea', { method: 'GET', headers: { 'session-read': '"cart"' } }) },
  'route-not-found': { type: 'route-not-found', status: 404, needs: 'notFound', run: (b) => b.send('/api/nothing', { method: 'GET' }) },
};

describe('every problem type, through every adapter', async () => {
  // A private Redis that is the read-only replica of a primary that does not exist: every write fails for real (READONLY).
  const replica = await startRedis(['--replicaof', '127.0.0.1', String(await freePort())]);
  const downStore = redisStore({ url: replica.url, prefix: `answers-${process.pid}:` });
  const servers: Record<string, { up: string; down: string }> = {};
  closers.push(() => downStore.close(), () => replica.stop());

  beforeAll(async () => {
    for (const [name, adapter] of Object.entries(ADAPTERS)) {
      servers[name] = { up: await adapter.serve(makeValidator(memoryStore())), down: await adapter.serve(makeValidator(downStore)) };
    }
  }, 60_000);

  for (const [name, test] of Object.entries(CASES)) {
    it(`${name}: ${test.status} ${test.type}, the same answer everywhere`, { timeout: 60_000 }, async () => {
      const forms: Record<string, ReturnType<typeof form>> = {};
      for (const [adapter, { wrongMethod, notFound }] of Object.entries(ADAPTERS)) {
        if ((test.needs === 'wrongMethod' && !wrongMethod) || (test.needs === 'notFound' && !notFound)) continue;
        const { up, down } = servers[adapter]!;
        forms[adapter] = form(await test.run(new JarBrowser(test.storeDown ? down : up)));
      }
      for (const reference of [forms['validator.route'], forms.mount].filter((found) => found !== undefined)) {
        expect(reference.body).toMatchObject({ type: `https://session-lanes.dev/problems/${test.type}`, status: test.status });
        expect(reference).toMatchObject({ status: test.status, contentType: 'application/problem+json', cacheControl: 'no-store' });
      }
      // An adapter over a whole table answers as validator.mount() does (its 405 names the path's methods), any other as validator.route().
      const like = (adapter: string) => forms[ADAPTERS[adapter]!.notFound ? 'mount' : 'validator.route'] ?? forms.mount;
      expect(forms).toEqual(Object.fromEntries(Object.keys(forms).map((adapter) => [adapter, like(adapter)])));
    });
  }
});
