// The route table on the server, over real HTTP: 405 for a route under the wrong method, a whole table mounted, its JSON form.
import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { createSessionClient } from '../../src/client/index.js';
import { PROBLEM } from '../../src/protocol/problems.js';
import { defineRoutes, routesDocument } from '../../src/routes/index.js';
import { createValidator, memoryStore, serveRouteTable } from '../../src/server/index.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { countingStore } from '../support/counting-store.js';
import { startServer, type TestServer } from '../support/server.js';

const routes = defineRoutes({
  addToCart: { method: 'POST', path: '/api/cart/items', writes: ['cart'] },
  viewItem: { method: 'POST', path: '/api/products/:sku/view', reads: ['prefs'], writes: ['recent'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
  emptyCart: { method: 'DELETE', path: '/api/cart', writes: ['cart'] },
});
const keys = { cart: z.array(z.string()), recent: z.array(z.string()), prefs: z.object({ theme: z.string() }) };

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function app(options: Parameters<ReturnType<typeof createValidator>['mount']>[2] = {}) {
  const counted = countingStore(memoryStore());
  const validator = createValidator({ store: counted.store, keys });
  const api = validator.mount(
    routes,
    {
      addToCart: async (request, session) => {
        const { sku } = (await request.json()) as { sku: string };
        session.set('cart', [...(session.get('cart') ?? []), sku]);
        return Response.json(session.get('cart'));
      },
      viewItem: (request, session) => {
        const sku = decodeURIComponent(new URL(request.url).pathname.split('/')[3]!);
        session.set('recent', [sku, ...(session.get('recent') ?? [])].slice(0, 5));
        return Response.json({ theme: session.get('prefs')?.theme ?? 'light' });
      },
      showCart: (_request, session) => Response.json(session.get('cart') ?? []),
      emptyCart: (_request, session) => (session.delete('cart'), new Response(null, { status: 204 })),
    },
    options,
  );
  return { validator, api, calls: counted.calls };
}

async function problemOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await response.json()) as Record<string, unknown>;
}

describe('validator.route(entry, handler)', () => {
  test('a request under another method than the entry declares: 405 naming both, Allow set, the store untouched', async () => {
    const counted = countingStore(memoryStore());
    const validator = createValidator({ store: counted.store, keys });
    const add = validator.route(routes.addToCart, () => new Response('ran'));
    // Mounted by mistake under GET as well.
    server = await startServer({ '/api/cart/items': add });
    const response = await fetch(`${server.url}/api/cart/items`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await problemOf(response)).toEqual({
      type: PROBLEM.methodNotAllowed.type,
      title: PROBLEM.methodNotAllowed.title,
      status: 405,
      detail: 'This route is POST /api/cart/items in the route table; the request was GET. Mount the route under POST, or change the table',
      method: 'GET',
      allowed: ['POST'],
    });
    expect(counted.calls.begin).toBe(0);
  });

  test('a GET route serves HEAD; a declaration without method serves any', async () => {
    const validator = createValidator({ store: memoryStore(), keys });
    server = await startServer({
      '/api/cart': validator.route(routes.showCart, () => new Response('[]')),
      '/any': validator.route({ reads: ['cart'] }, () => new Response('ok')),
    });
    expect((await fetch(`${server.url}/api/cart`, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(`${server.url}/api/cart`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${server.url}/any`, { method: 'PATCH' })).status).toBe(200);
  });

  test('a bad method in a declaration is a TypeError', () => {
    const validator = createValidator({ store: memoryStore() });
    expect(() => validator.route({ method: 'post', writes: ['a'] }, () => new Response())).toThrow(
      new TypeError('validator.route(): method must be an HTTP method in upper case, such as "POST" (got "post")'),
    );
  });
});

describe('validator.mount(routes, handlers)', () => {
  test('the client and the mounted table: plain fetch calls, tagged and served', async () => {
    const { api } = app();
    server = await startServer({ '/': api, ...Object.fromEntries(['/api/cart/items', '/api/cart', '/api/products/sku%201/view', '/api/products/sku-2/view'].map((p) => [p, api])) });
    const jar = createCookieJar();
    const client = createSessionClient({ fetch: jar.fetch, routes, base: server.url });
    for (const sku of ['a', 'b']) expect((await client.fetch(`${server.url}/api/cart/items`, { method: 'POST', body: JSON.stringify({ sku }) })).status).toBe(200);
    expect(await (await client.fetch(`${server.url}/api/cart`)).json()).toEqual(['a', 'b']);
    expect(await (await client.fetch(`${server.url}/api/products/sku%201/view`, { method: 'POST' })).json()).toEqual({ theme: 'light' });
    expect((await client.fetch(`${server.url}/api/cart`, { method: 'DELETE' })).status).toBe(204);
    expect(await (await client.fetch(`${server.url}/api/cart`)).json()).toEqual([]);
    expect(client.versions()).toMatchObject({ cart: 3, recent: 1 });
  });

  test('a path of the table under another method: 405 with every allowed method; elsewhere a 404 problem, or notFound', async () => {
    const { api } = app();
    const response = await api(new Request('http://x/api/cart', { method: 'PUT' }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, DELETE');
    expect((await problemOf(response)).allowed).toEqual(['GET', 'HEAD', 'DELETE']);
    const missing = await api(new Request('http://x/api/nothing'));
    expect(missing.status).toBe(404);
    expect(await problemOf(missing)).toMatchObject({ type: PROBLEM.routeNotFound.type, detail: 'No route of the table matches GET /api/nothing' });
    const own = app({ notFound: () => new Response('mine', { status: 404 }) }).api;
    expect(await (await own(new Request('http://x/api/nothing'))).text()).toBe('mine');
  });

  test('prefix: the table\'s paths start there', async () => {
    const { api } = app({ prefix: '/shop' });
    const jar = createCookieJar();
    server = await startServer({ '/shop/api/cart/items': api, '/api/cart/items': api });
    const client = createSessionClient({ fetch: jar.fetch, routes, base: `${server.url}/shop` });
    expect((await client.fetch(`${server.url}/shop/api/cart/items`, { method: 'POST', body: '{"sku":"s"}' })).status).toBe(200);
    expect((await fetch(`${server.url}/api/cart/items`, { method: 'POST' })).status).toBe(404);
  });

  test('a missing or stray handler, a bad table or prefix: TypeErrors naming them', () => {
    const validator = createValidator({ store: memoryStore(), keys });
    const ok = () => new Response();
    // @ts-expect-error emptyCart has no handler
    expect(() => validator.mount(routes, { addToCart: ok, viewItem: ok, showCart: ok })).toThrow(
      new TypeError('validator.mount(): route "emptyCart" (DELETE /api/cart) has no handler'),
    );
    expect(() => validator.mount(routes, { addToCart: ok, viewItem: ok, showCart: ok, emptyCart: ok, extra: ok } as never)).toThrow(
      new TypeError('validator.mount(): handler "extra" names no route of the table'),
    );
    expect(() => validator.mount({ r: { method: 'GET', path: '/' } }, { r: ok })).toThrow(
      new TypeError('validator.mount(routes, handlers): routes must come from defineRoutes() (session-lanes/routes)'),
    );
    expect(() => validator.mount(routes, { addToCart: ok, viewItem: ok, showCart: ok, emptyCart: ok }, { prefix: 'shop/' })).toThrow(
      new TypeError('validator.mount(): prefix must be a path such as "/shop", without a trailing slash (got "shop/")'),
    );
  });
});

test('serveRouteTable: the JSON form to GET and HEAD, 405 otherwise', async () => {
  const handler = serveRouteTable(routes);
  const response = handler(new Request('http://x/routes.json'));
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(await response.json()).toEqual(routesDocument(routes));
  expect(await handler(new Request('http://x/routes.json', { method: 'HEAD' })).text()).toBe('');
  const post = handler(new Request('http://x/routes.json', { method: 'POST' }));
  expect(post.status).toBe(405);
  expect(post.headers.get('allow')).toBe('GET, HEAD');
});
