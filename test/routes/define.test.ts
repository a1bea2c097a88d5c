import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { defineRoutes, isWriteRoute, matchRoute, routesDocument } from '../../src/routes/index.js';

// The table.
const routes = defineRoutes({
  addToCart: { method: 'POST', path: '/api/cart/items', writes: ['cart'] },
  viewItem: { method: 'POST', path: '/api/products/:sku/view', reads: ['prefs'], writes: ['recent'] },
  showCart: { method: 'GET', path: '/api/cart', reads: ['cart'] },
  login: { method: 'POST', path: '/api/login', writes: ['user'], rotates: true },
  logout: { method: 'POST', path: '/api/logout', ends: true },
});
const base = 'https://shop.example';
const name = (method: string, url: string, under = base) => matchRoute(routes, method, url, under)?.name;

describe('defineRoutes', () => {
  test('keeps each entry as given, frozen, key lists included', () => {
    expect(routes.viewItem).toEqual({ method: 'POST', path: '/api/products/:sku/view', reads: ['prefs'], writes: ['recent'] });
    expect(Object.isFrozen(routes)).toBe(true);
    expect(Object.isFrozen(routes.viewItem)).toBe(true);
    expect(Object.isFrozen(routes.viewItem.writes)).toBe(true);
    expect(Object.keys(routes)).toEqual(['addToCart', 'viewItem', 'showCart', 'login', 'logout']);
  });

  test('the typed form is the same table', () => {
    type Keys = { cart: string[]; prefs: { theme: string } };
    const typed = defineRoutes<Keys>()({ add: { method: 'POST', path: '/api/cart/items', writes: ['cart'] } });
    expect(typed.add).toEqual({ method: 'POST', path: '/api/cart/items', writes: ['cart'] });
  });

  test('two patterns that could match the same request: a TypeError naming both', () => {
    const both = (a: string, b: string, ma = 'POST', mb = 'POST') => () => defineRoutes({ one: { method: ma, path: a }, two: { method: mb, path: b } });
    expect(both('/api/products/:sku/view', '/api/products/cart/view')).toThrow(
      new TypeError('defineRoutes(): routes "one" (POST /api/products/:sku/view) and "two" (POST /api/products/cart/view) could match the same request; make one pattern more specific or merge them'),
    );
    expect(both('/api/cart', '/api/cart/')).toThrow(/"one" \(POST \/api\/cart\) and "two" \(POST \/api\/cart\/\)/);
    expect(both('/a/:x', '/a/:y')).toThrow(TypeError);
    expect(both('/a/:x/c', '/a/b/:y')).toThrow(TypeError);
    expect(both('/caf%C3%A9', '/café')).toThrow(TypeError);
    // GET serves HEAD: a HEAD route beside it competes.
    expect(both('/a', '/a', 'GET', 'HEAD')).toThrow(TypeError);
    expect(both('/a', '/a', 'GET', 'POST')).not.toThrow();
    expect(both('/a/:x', '/a/:x/b')).not.toThrow();
    expect(both('/a/b', '/a/c')).not.toThrow();
    expect(both('/A', '/a')).not.toThrow();
  });

  test.each([
    [{ method: 'POST', path: '/a', write: ['cart'] }, 'route "r" has an unknown field "write" (known: method, path, reads, writes, rotates, ends, blind, outbox)'],
    [{ method: 'POST', path: '/a', rebase: () => ({}) }, 'route "r" has an unknown field "rebase" (known: method, path, reads, writes, rotates, ends, blind, outbox)'],
    [{ method: 'post', path: '/a' }, 'route "r" needs a method in upper case, such as "POST" (got "post")'],
    [{ path: '/a' }, 'route "r" needs a method in upper case, such as "POST" (got undefined)'],
    [{ method: 'GET', path: 'a' }, 'route "r" needs a path that begins with "/" (got "a")'],
    [{ method: 'GET', path: '/a?b=1' }, 'route "r" has path "/a?b=1", which holds "?" or "#": a pattern is a path only (queries never take part in matching)'],
    [{ method: 'GET', path: '/a//b' }, 'route "r" has path "/a//b", which has an empty segment'],
    [{ method: 'GET', path: '/a/:' }, 'route "r" has path "/a/:", whose parameter ":" is not ":" and a name'],
    [{ method: 'GET', path: '/:a/:a' }, 'route "r" has path "/:a/:a", which names parameter :a twice'],
    [{ method: 'GET', path: '/%E0' }, 'route "r" has path "/%E0", whose segment "%E0" is not valid percent-encoding'],
    [{ method: 'POST', path: '/a', reads: ['x'], writes: ['x'] }, 'route "r" names key "x" twice (a written key goes in writes only)'],
    [{ method: 'POST', path: '/a', writes: 'x' }, 'route "r" writes must be an array of key names'],
    [{ method: 'POST', path: '/a', writes: [''] }, 'route "r" writes must hold non-empty strings (got "")'],
    [{ method: 'POST', path: '/a', blind: 'yes' }, 'route "r" blind must be true or false'],
    [{ method: 'POST', path: '/a', outbox: 'no' }, 'route "r" outbox must be true or false'],
    [{ method: 'POST', path: '/a', rotates: true, ends: true }, 'route "r" cannot both rotate and end the session'],
    ['POST /a', 'route "r" must be an object { method, path, reads?, writes? }'],
  ])('%j is refused', (entry, message) => {
    expect(() => defineRoutes({ r: entry } as never)).toThrow(new TypeError(`defineRoutes(): ${message}`));
  });

  test('outbox: false on an entry is accepted and kept (the client reads it)', () => {
    const table = defineRoutes({ login: { method: 'POST', path: '/login', writes: ['user'], rotates: true, outbox: false }, pay: { method: 'POST', path: '/pay', writes: ['cart'], outbox: false } });
    expect(table.pay.outbox).toBe(false);
    expect(table.login.outbox).toBe(false);
  });

  test('a table that is not an object is refused', () => {
    expect(() => defineRoutes(null as never)).toThrow(new TypeError('defineRoutes(table): table must be an object of named routes'));
    expect(() => defineRoutes([] as never)).toThrow(TypeError);
  });
});

describe('matchRoute', () => {
  test('method and pattern; path parameters decoded', () => {
    expect(matchRoute(routes, 'POST', 'https://shop.example/api/products/sku%201/view', base)).toEqual({ name: 'viewItem', entry: routes.viewItem, params: { sku: 'sku 1' } });
    expect(name('POST', 'https://shop.example/api/cart/items')).toBe('addToCart');
    expect(name('GET', 'https://shop.example/api/cart/items')).toBeUndefined();
    expect(name('GET', 'https://shop.example/api/cart')).toBe('showCart');
  });

  test('case-sensitive, one trailing slash ignored, query strings and fragments ignored', () => {
    expect(name('GET', 'https://shop.example/API/cart')).toBeUndefined();
    expect(name('GET', 'https://shop.example/api/cart/')).toBe('showCart');
    expect(name('GET', 'https://shop.example/api/cart//')).toBeUndefined();
    expect(name('GET', 'https://shop.example/api/cart?page=2#top')).toBe('showCart');
    expect(name('POST', 'https://shop.example/api/products//view')).toBeUndefined();
  });

  test('segments compared decoded: an encoded slash stays inside its segment', () => {
    expect(matchRoute(routes, 'POST', 'https://shop.example/api/products/a%2Fb/view', base)?.params).toEqual({ sku: 'a/b' });
    expect(name('POST', 'https://shop.example/api/%63art/items')).toBe('addToCart');
    expect(name('POST', 'https://shop.example/api/products/%E0/view')).toBeUndefined();
  });

  test('methods as fetch sends them: the six standard ones in any case, others as written; HEAD goes to a GET route', () => {
    expect(name('post', 'https://shop.example/api/login')).toBe('login');
    expect(name('HEAD', 'https://shop.example/api/cart')).toBe('showCart');
    const patch = defineRoutes({ p: { method: 'PATCH', path: '/p' } });
    expect(matchRoute(patch, 'PATCH', 'https://shop.example/p', base)?.name).toBe('p');
    expect(matchRoute(patch, 'patch', 'https://shop.example/p', base)).toBeUndefined();
  });

  test('another origin is never matched; a base path prefix is a whole segment', () => {
    expect(name('GET', 'https://evil.example/api/cart')).toBeUndefined();
    expect(name('GET', 'http://shop.example/api/cart')).toBeUndefined();
    expect(name('GET', 'https://shop.example:8443/api/cart')).toBeUndefined();
    expect(name('GET', 'https://shop.example/shop/api/cart', 'https://shop.example/shop')).toBe('showCart');
    expect(name('GET', 'https://shop.example/shop/api/cart', 'https://shop.example/shop/')).toBe('showCart');
    expect(name('GET', 'https://shop.example/shopping/api/cart', 'https://shop.example/shop')).toBeUndefined();
    expect(name('GET', 'https://shop.example/api/cart', 'https://shop.example/shop')).toBeUndefined();
  });

  test('isWriteRoute: writes, rotates or ends', () => {
    expect(isWriteRoute(routes, 'POST', 'https://shop.example/api/cart/items', base)).toBe(true);
    expect(isWriteRoute(routes, 'POST', 'https://shop.example/api/logout', base)).toBe(true);
    expect(isWriteRoute(routes, 'GET', 'https://shop.example/api/cart', base)).toBe(false);
    expect(isWriteRoute(routes, 'POST', 'https://shop.example/api/elsewhere', base)).toBe(false);
  });

  test('a table not made by defineRoutes is refused', () => {
    expect(() => matchRoute({ r: { method: 'GET', path: '/' } }, 'GET', 'https://x/', 'https://x')).toThrow(
      new TypeError('routes must come from defineRoutes() (session-lanes/routes)'),
    );
  });

  test('random tables: defineRoutes refuses exactly those where some request matches two routes; otherwise each request matches the one route it matches alone', () => {
    const segment = fc.constantFrom('a', 'b', ':p', ':q');
    const pattern = fc.array(segment, { maxLength: 3 }).map((parts) => '/' + parts.map((p, i) => (p.startsWith(':') ? `${p}${i}` : p)).join('/'));
    const entry = fc.record({ method: fc.constantFrom('GET', 'POST', 'HEAD'), path: pattern });
    // Every request that could tell the patterns apart: paths of up to 3 segments over a, b, c.
    const paths = [[]] as string[][];
    for (let i = 0; i < paths.length && paths.length < 40; i++) if (paths[i]!.length < 3) for (const s of ['a', 'b', 'c']) paths.push([...paths[i]!, s]);
    const probes = ['GET', 'POST', 'HEAD'].flatMap((method) => paths.map((parts) => [method, `https://x/${parts.join('/')}`] as const));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        const alone = entries.map((e) => defineRoutes({ e }));
        const hits = probes.map(([method, url]) => entries.filter((_, i) => matchRoute(alone[i]!, method, url, 'https://x')));
        let defined;
        try {
          defined = defineRoutes(Object.fromEntries(entries.map((e, i) => [`r${i}`, e])));
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
          expect(hits.some((h) => h.length > 1)).toBe(true);
          return;
        }
        probes.forEach(([method, url], i) => {
          expect(hits[i]!.length).toBeLessThanOrEqual(1);
          expect(matchRoute(defined, method, url, 'https://x')?.entry).toEqual(hits[i]![0]);
        });
      }),
      { numRuns: 300 },
    );
  });
});

test('routesDocument: every field present, defaults filled in; defineRoutes reads it back', () => {
  const document = routesDocument(routes);
  expect(document.version).toBe(1);
  expect(document.routes.addToCart).toEqual({ method: 'POST', path: '/api/cart/items', reads: [], writes: ['cart'], rotates: false, ends: false, blind: true });
  expect(document.routes.logout).toEqual({ method: 'POST', path: '/api/logout', reads: [], writes: [], rotates: false, ends: true, blind: true });
  const again = defineRoutes(JSON.parse(JSON.stringify(document)).routes);
  expect(matchRoute(again, 'POST', 'https://shop.example/api/products/x/view', base)?.name).toBe('viewItem');
});
