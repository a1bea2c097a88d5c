import { afterEach, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import type { CookieOptions } from '../../src/server/session-cookie.js';
import { startServer, type TestServer } from '../support/server.js';
import { idemKey } from '../support/session-http.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function app(cookie: CookieOptions) {
  const validator = createValidator({ store: memoryStore(), cookie });
  server = await startServer({
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), await request.text()]);
      return Response.json({ cart: session.get('cart') });
    }),
    '/login': validator.route({ writes: ['user'], rotates: true }, async (_request, session) => {
      session.set('user', 'ada');
      session.rotate();
      return Response.json({ ok: true });
    }),
    '/me': validator.route({ reads: ['cart'] }, async (_request, session) => Response.json({ cart: session.get('cart') ?? null })),
  });
  const url = server.url;
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(url + path, { method: 'POST', headers: { 'session-write': path === '/cart' ? '"cart"' : '"user"', 'idempotency-key': idemKey(), ...headers }, body });
  const me = (cookie: string) => fetch(url + '/me', { headers: { cookie } }).then(async (response) => ({ status: response.status, body: await response.json(), setCookie: response.headers.getSetCookie() }));
  return { post, me };
}

const pair = (setCookie: string) => setCookie.split(';')[0]!;

it('names the cookie __Host-<name> exactly when it is Secure, has no Domain and has Path=/', async () => {
  const cases: [CookieOptions, RegExp][] = [
    [{ secure: true }, /^__Host-sl_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/],
    [{ sameSite: 'None' }, /^__Host-sl_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=None; Secure$/],
    [{ secure: true, domain: 'example.test' }, /^sl_session=[\w-]{43}; Path=\/; Domain=example.test; HttpOnly; SameSite=Lax; Secure$/],
    [{ secure: true, path: '/app' }, /^sl_session=[\w-]{43}; Path=\/app; HttpOnly; SameSite=Lax; Secure$/],
    [{}, /^sl_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/],
  ];
  for (const [options, expected] of cases) {
    const { post } = await app(options);
    expect((await post('/cart', 'a')).headers.getSetCookie(), JSON.stringify(options)).toEqual([expect.stringMatching(expected)]);
    await server!.close();
    server = undefined;
  }
});

it("honours X-Forwarded-Proto only with trustProxy: behind a TLS-terminating proxy, secure: 'auto' sets Secure (and __Host-)", async () => {
  const trusted = await app({ trustProxy: true });
  expect((await trusted.post('/cart', 'a', { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toMatch(/^__Host-sl_session=.*; Secure$/);
  expect((await trusted.post('/cart', 'a', { 'x-forwarded-proto': 'https, http' })).headers.get('set-cookie')).toMatch(/^__Host-sl_session=.*; Secure$/);
  expect((await trusted.post('/cart', 'a', { 'x-forwarded-proto': 'http' })).headers.get('set-cookie')).toMatch(/^sl_session=.*Lax$/);
  await server!.close();
  server = undefined;
  // Without trust, a client could claim https for itself: the header is ignored.
  const untrusted = await app({});
  expect((await untrusted.post('/cart', 'a', { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toMatch(/^sl_session=.*Lax$/);
});

it('reads <name> only when no __Host-<name> is present, so sessions begun before the upgrade live on', async () => {
  const before = await app({});
  const legacy = pair((await before.post('/cart', 'legacy')).headers.get('set-cookie')!);
  const legacyValue = legacy.split('=')[1];
  // The same store would serve both; here one app: a legacy cookie and a __Host- one of another session.
  const modern = pair((await before.post('/cart', 'modern')).headers.get('set-cookie')!).replace('sl_session=', '__Host-sl_session=');
  expect((await before.me(legacy)).body.cart).toEqual(['legacy']);
  expect((await before.me(`${legacy}; ${modern}`)).body.cart).toEqual(['modern']);
  expect((await before.me(`${modern}; sl_session=${legacyValue}`)).body.cart).toEqual(['modern']);
});

it('a login over a session of the unprefixed name: with migratePlain it sets __Host-<name> and clears the old one; without, the plain cookie is not read', async () => {
  const migrating = await app({ trustProxy: true, migratePlain: true });
  const legacy = pair((await migrating.post('/cart', 'a')).headers.get('set-cookie')!);
  const login = await migrating.post('/login', '{}', { cookie: legacy, 'x-forwarded-proto': 'https' });
  expect(login.status).toBe(200);
  expect(login.headers.get('session-rotated')).toMatch(/^"[\w-]{22}"$/);
  expect(login.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-sl_session=[\w-]{43}; /), expect.stringMatching(/^sl_session=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax; Secure$/)]);
  await server!.close();
  server = undefined;
  // Without it the plain cookie (maybe a sibling's) is ignored: the login makes a fresh session, and clears nothing it did not read.
  const strict = await app({ trustProxy: true });
  const plain = pair((await strict.post('/cart', 'a')).headers.get('set-cookie')!);
  const fresh = await strict.post('/login', '{}', { cookie: plain, 'x-forwarded-proto': 'https' });
  expect(fresh.status).toBe(200);
  expect(fresh.headers.get('session-rotated')).toBe('""'); // a login that made the session rotates from no epoch
  expect(fresh.headers.getSetCookie()).toEqual([expect.stringMatching(/^__Host-sl_session=[\w-]{43}; /)]);
});

it('two cookies of the session name: uses neither (410), creates nothing and clears nothing; the user keeps the session', async () => {
  const { post, me } = await app({});
  const victim = pair((await post('/cart', 'mine')).headers.get('set-cookie')!);
  const attacker = pair((await post('/cart', 'planted')).headers.get('set-cookie')!);
  // A sibling subdomain's cookie with a longer Path comes first.
  const both = `${attacker}; ${victim}`;
  const read = await me(both);
  expect(read.status).toBe(410);
  expect(read.setCookie).toEqual([]);
  expect(JSON.stringify(read.body)).not.toContain('planted');
  const write = await post('/cart', 'lost?', { cookie: both });
  expect(write.status).toBe(410);
  expect(write.headers.getSetCookie()).toEqual([]);
  expect((await me(victim)).body.cart).toEqual(['mine']);
  expect((await me(attacker)).body.cart).toEqual(['planted']);
});

it('rejects cookie options it cannot honour with exact messages', () => {
  const make = (cookie: unknown) => () => createValidator({ store: memoryStore(), cookie: cookie as CookieOptions });
  expect(make({ name: '__Host-sl' })).toThrow('cookie.name must not carry a prefix ("__Host-sl"): the validator adds __Host- itself whenever the cookie qualifies');
  expect(make({ secure: 'yes' })).toThrow("cookie.secure must be true, false or 'auto'");
  expect(make({ trustProxy: 1 })).toThrow('cookie.trustProxy must be a boolean');
  expect(make({ migratePlain: 'yes' })).toThrow('cookie.migratePlain must be a boolean');
});
