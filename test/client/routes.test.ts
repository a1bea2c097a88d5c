// A route table tags each fetch: which calls are tagged, with what, and which pass through untouched. A stub fetch records what was sent.
import { describe, expect, test } from 'vitest';
import { createSessionClient } from '../../src/client/index.js';
import { routeTagger } from '../../src/client/route-tags.js';
import { defineRoutes } from '../../src/routes/index.js';

const routes = defineRoutes({
  addToCart: { method: 'POST', path: '/api/cart/items', writes: ['cart'] },
  viewItem: { method: 'POST', path: '/api/products/:sku/view', reads: ['prefs'], writes: ['recent'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
  setPrefs: { method: 'PUT', path: '/api/prefs', writes: ['prefs'], blind: false },
  login: { method: 'POST', path: '/api/login', writes: ['user'], rotates: true },
  logout: { method: 'POST', path: '/api/logout', ends: true },
});
const ORIGIN = 'https://shop.example';

function stubbed(options: { base?: string } = {}) {
  const sent: Request[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    sent.push(request);
    const write = request.headers.get('session-write');
    const read = request.headers.get('session-read');
    const keys = [write, read].filter(Boolean).join(', ').replace(/;v=\d+/g, '').match(/"[^"]+"/g) ?? [];
    return new Response('{}', { headers: { 'session-epoch': '"E1"', 'session-versions': keys.map((k) => `${k};v=1`).join(', ') } });
  };
  const client = createSessionClient({ fetch, routes, base: ORIGIN, ...options });
  /** The session headers of the last request sent, without the Idempotency-Key's value. */
  const tags = () => {
    const headers = sent.at(-1)!.headers;
    return { read: headers.get('session-read'), write: headers.get('session-write'), key: headers.has('idempotency-key') };
  };
  return { client, sent, tags };
}

const untagged = { read: null, write: null, key: false };

describe('a call is tagged from the route its method and path match', () => {
  test('absolute URLs; a write goes blind (no v) with an Idempotency-Key; a read sends no v either', async () => {
    const { client, tags } = stubbed();
    await client.fetch(`${ORIGIN}/api/cart/items`, { method: 'POST', body: '{}' });
    expect(tags()).toEqual({ read: null, write: '"cart"', key: true });
    await client.fetch(`${ORIGIN}/api/cart`);
    expect(tags()).toEqual({ read: '"cart"', write: null, key: false });
  });

  test('relative URLs resolve as fetch resolves them (outside a page: against base)', async () => {
    const sent: string[] = [];
    // The stub resolves what it is given, as a page's fetch would.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(new URL(String(input), ORIGIN), init);
      sent.push(`${request.headers.get('session-write')}`);
      return new Response('{}', { headers: { 'session-epoch': '"E1"' } });
    };
    const client = createSessionClient({ fetch, routes, base: ORIGIN });
    await client.fetch('/api/cart/items', { method: 'POST' });
    await client.fetch('/api/elsewhere', { method: 'POST' });
    await client.fetch('api/cart/items', { method: 'POST' });
    expect(sent).toEqual(['"cart"', 'null', '"cart"']);
  });

  test('what the URL parser changes is matched as parsed: dot segments, backslashes, tabs, surrounding spaces', async () => {
    const { client, tags } = stubbed();
    for (const url of [`${ORIGIN}/api/x/../cart`, `${ORIGIN}/api/./cart`, `${ORIGIN}/api/%2E/cart`, `${ORIGIN}/api\\cart`, `${ORIGIN}/api/ca\trt`, `  ${ORIGIN}/api/cart \n`]) {
      await client.fetch(url);
      expect(tags().read, url).toBe('"cart"');
    }
  });

  test('a Request input: its method and URL', async () => {
    const { client, tags } = stubbed();
    await client.fetch(new Request(`${ORIGIN}/api/products/sku-1/view`, { method: 'POST', body: '{}' }));
    expect(tags()).toEqual({ read: '"prefs"', write: '"recent"', key: true });
    await client.fetch(new Request(`${ORIGIN}/api/products/sku-1/view`));
    expect(tags()).toEqual(untagged);
  });

  test('a URL object, query strings, one trailing slash, encoded segments, lower-case standard methods', async () => {
    const { client, tags } = stubbed();
    await client.fetch(new URL(`${ORIGIN}/api/cart?page=2`));
    expect(tags().read).toBe('"cart"');
    await client.fetch(`${ORIGIN}/api/cart/?page=2#top`);
    expect(tags().read).toBe('"cart"');
    await client.fetch(`${ORIGIN}/api/products/caf%C3%A9%2F1/view`, { method: 'post' });
    expect(tags().write).toBe('"recent"');
    await client.fetch(`${ORIGIN}/api/%63art/items`, { method: 'POST' });
    expect(tags().write).toBe('"cart"');
  });

  test('no route: passes through untouched (wrong method, other path, case, two trailing slashes, bad encoding)', async () => {
    const { client, sent, tags } = stubbed();
    for (const [url, method] of [
      [`${ORIGIN}/api/cart`, 'POST'],
      [`${ORIGIN}/api/basket`, 'GET'],
      [`${ORIGIN}/API/cart`, 'GET'],
      [`${ORIGIN}/api/cart//`, 'GET'],
      [`${ORIGIN}/api/products/%E0/view`, 'POST'],
    ] as const) {
      await client.fetch(url, { method, headers: { a: 'b' } });
      expect(tags()).toEqual(untagged);
      expect([...sent.at(-1)!.headers]).toEqual([['a', 'b']]);
    }
  });

  test('another origin is never tagged, even on a matching path', async () => {
    const { client, tags } = stubbed();
    for (const url of ['https://evil.example/api/cart/items', 'http://shop.example/api/cart/items', 'https://shop.example:8443/api/cart/items']) {
      await client.fetch(url, { method: 'POST' });
      expect(tags()).toEqual(untagged);
    }
  });

  test('base with a path prefix: the table\'s paths start there', async () => {
    const { client, tags } = stubbed({ base: `${ORIGIN}/shop` });
    await client.fetch(`${ORIGIN}/shop/api/cart/items`, { method: 'POST' });
    expect(tags().write).toBe('"cart"');
    await client.fetch(`${ORIGIN}/api/cart/items`, { method: 'POST' });
    expect(tags()).toEqual(untagged);
    await client.fetch(`${ORIGIN}/shopping/api/cart/items`, { method: 'POST' });
    expect(tags()).toEqual(untagged);
  });

  test('blind: false in the table declares bases; the call\'s own session wins field by field', async () => {
    const { client, sent, tags } = stubbed();
    await client.fetch(`${ORIGIN}/api/prefs`, { method: 'PUT', body: '{}' });
    expect(tags().write).toBe('"prefs";v=0');
    await client.fetch(`${ORIGIN}/api/prefs`, { method: 'PUT', body: '{}' });
    expect(tags().write).toBe('"prefs";v=1');
    // The call makes it blind; the table's writes stay.
    await client.fetch(`${ORIGIN}/api/prefs`, { method: 'PUT', body: '{}', session: { blind: true } });
    expect(tags().write).toBe('"prefs"');
    // The call adds a read and opts out of blind; the table's writes stay.
    await client.fetch(`${ORIGIN}/api/cart/items`, { method: 'POST', session: { reads: ['prefs'], blind: false } });
    expect(tags()).toEqual({ read: '"prefs";v=1', write: '"cart";v=0', key: true });
    // rebase at the call: not blind; the value at v=1 is unknown here, so base 0 (a 412 would bring it).
    const seen: unknown[] = [];
    await client.fetch(`${ORIGIN}/api/cart/items`, { method: 'POST', session: { rebase: (current) => (seen.push({ ...current }), { body: 'x' }) } });
    expect(tags().write).toBe('"cart";v=0');
    expect(await sent.at(-1)!.text()).toBe('x');
    expect(seen).toEqual([{}]);
  });

  test('an untagged call may still declare its own session', async () => {
    const { client, tags } = stubbed();
    await client.fetch(`${ORIGIN}/api/other`, { method: 'POST', session: { writes: ['misc'] } });
    expect(tags()).toEqual({ read: null, write: '"misc"', key: true });
  });

  test('the tagger carries rotates and ends, and merges the call over the route', () => {
    const tag = routeTagger(routes, ORIGIN);
    expect(tag(`${ORIGIN}/api/login`, { method: 'POST' })).toEqual(routes.login);
    expect(tag(`${ORIGIN}/api/logout`, { method: 'POST' })).toMatchObject({ ends: true });
    expect(tag(`${ORIGIN}/api/login`, { method: 'POST', session: { reads: ['x'] } })).toEqual({ ...routes.login, reads: ['x'] });
    expect(tag(`${ORIGIN}/api/none`, { method: 'POST', session: { reads: ['x'] } })).toEqual({ reads: ['x'] });
    expect(tag('http://[not a url', {})).toBeUndefined();
  });
});

test('options: exact TypeErrors', () => {
  // base without routes is allowed (it resolves relative inputs outside a page), but must be absolute.
  expect(() => createSessionClient({ base: ORIGIN })).not.toThrow();
  expect(() => createSessionClient({ base: 'shop' })).toThrow(new TypeError('base must be an absolute URL, not "shop"'));
  expect(() => createSessionClient({ routes: { r: { method: 'GET', path: '/' } }, base: ORIGIN })).toThrow(new TypeError('routes must come from defineRoutes() (session-lanes/routes)'));
  expect(() => createSessionClient({ routes, base: '/shop' })).toThrow(new TypeError('base must be an absolute URL, not "/shop"'));
  // Node has no page: no origin to default to.
  expect(() => createSessionClient({ routes })).toThrow(new TypeError('options.base is needed outside a page'));
});
