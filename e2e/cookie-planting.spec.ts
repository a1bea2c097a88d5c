import { expect, test, type Browser, type Page } from '@playwright/test';
import { createValidator, memoryStore } from '../src/server/index.js';
import { selfSignedCertificate, startHttpsServer, type HttpsTestServer } from '../test/support/https-server.js';

// A sibling subdomain plants a cookie of the session's name (issue 10 §3), in real Chromium. Chromium resolves
// *.localhost to loopback and treats it as a secure context, so `app.site.localhost` (the app) and
// `evil.site.localhost` (the sibling) are two hosts of one site, both on this test's Vite server.

const host = (name: string, baseURL: string | undefined) => {
  const url = new URL(baseURL!);
  url.hostname = `${name}.site.localhost`;
  return url.origin;
};

/** A write and a read from the page, as the app's own script would make them (headers by hand: no client needed). */
const write = (page: Page, path: string, item: string) =>
  page.evaluate(
    async ({ path, item }) => {
      const response = await fetch(path, { method: 'POST', headers: { 'session-write': '"log"', 'idempotency-key': `"${crypto.randomUUID()}"`, 'content-type': 'application/json' }, body: JSON.stringify({ item }) });
      return { status: response.status, body: await response.text() };
    },
    { path, item },
  );
const read = (page: Page, path: string) =>
  page.evaluate(async (path) => {
    const response = await fetch(path, { headers: { 'session-read': '"log"' } });
    return { status: response.status, body: await response.text() };
  }, path);

/** The attacker's own session: one anonymous write from another browser context; returns its cookie value. */
async function attackerSession(page: Page, origin: string, path: string, name: string): Promise<string> {
  await page.goto(`${origin}/e2e/stats`);
  expect((await write(page, path, 'attacker-bait')).status).toBe(200);
  return (await page.context().cookies()).find((cookie) => cookie.name === name)!.value;
}

/** From the sibling host: plant `name=value` for the whole site, with a longer Path than the app's cookie. */
async function plant(page: Page, origin: string, cookie: string): Promise<void> {
  await page.goto(`${origin}/e2e/stats`);
  await page.evaluate((cookie) => (document.cookie = cookie), cookie);
}

test('a planted duplicate neither fixes the victim nor locks them out: the __Host- cookie is the only one read', async ({ browser, baseURL }) => {
  const app = host('app', baseURL);
  const evil = host('evil', baseURL);
  const attacker = await (await browser.newContext()).newPage();
  const planted = await attackerSession(attacker, app, '/e2e/host/log', '__Host-sl_host');

  const victim = await (await browser.newContext()).newPage();
  await victim.goto(`${app}/e2e/stats`);
  expect((await write(victim, '/e2e/host/log', 'victim-1')).status).toBe(200);
  const own = (await victim.context().cookies()).find((cookie) => cookie.name === '__Host-sl_host');
  expect(own).toMatchObject({ secure: true, path: '/', domain: 'app.site.localhost' });

  // The sibling tries both names; the browser refuses a __Host- cookie with a Domain, and keeps the plain one.
  const sibling = await victim.context().newPage();
  await plant(sibling, evil, `sl_host=${planted}; domain=site.localhost; path=/e2e`);
  await plant(sibling, evil, `__Host-sl_host=${planted}; domain=site.localhost; path=/; secure`);
  const cookies = await victim.context().cookies(`${app}/e2e/host/state`);
  expect(cookies.filter((cookie) => cookie.name.endsWith('sl_host')).map((cookie) => [cookie.name, cookie.value === planted])).toEqual(
    expect.arrayContaining([
      ['sl_host', true],
      ['__Host-sl_host', false],
    ]),
  );

  // The victim goes on in their own session: not fixed (never the attacker's data), not locked out.
  expect((await write(victim, '/e2e/host/log', 'victim-2')).status).toBe(200);
  const mine = await read(victim, '/e2e/host/state');
  expect(mine.status).toBe(200);
  expect(JSON.parse(mine.body).log).toEqual(['victim-1', 'victim-2']);
  expect(JSON.parse((await read(attacker, '/e2e/host/state')).body).log).toEqual(['attacker-bait']);
});

test('without the prefix (a plain cookie name), two cookies of the name: neither is used, nothing is cleared, the session waits intact', async ({ browser, baseURL }) => {
  const app = host('app', baseURL);
  const evil = host('evil', baseURL);
  const attacker = await (await browser.newContext()).newPage();
  const planted = await attackerSession(attacker, app, '/e2e/plain/log', 'sl_session');

  const victim = await (await browser.newContext()).newPage();
  await victim.goto(`${app}/e2e/stats`);
  expect((await write(victim, '/e2e/plain/log', 'victim-1')).status).toBe(200);
  const own = (await victim.context().cookies()).find((cookie) => cookie.name === 'sl_session')!.value;

  const sibling = await victim.context().newPage();
  await plant(sibling, evil, `sl_session=${planted}; domain=site.localhost; path=/e2e`);
  // Sent first (longer Path): a server that took it would write the victim's data into the attacker's session.
  const write2 = await write(victim, '/e2e/plain/log', 'victim-2');
  expect(write2.status).toBe(410);
  expect(write2.body).not.toContain('attacker-bait');
  expect(JSON.parse((await read(attacker, '/e2e/plain/state')).body).log).toEqual(['attacker-bait']);
  // Nothing was cleared: the victim's own cookie is still there, and once the planted one is gone the session serves.
  expect((await victim.context().cookies(`${app}/`)).find((cookie) => cookie.name === 'sl_session' && cookie.path === '/')?.value).toBe(own);
  await plant(sibling, evil, `sl_session=; domain=site.localhost; path=/e2e; max-age=0`);
  expect(JSON.parse((await read(victim, '/e2e/plain/state')).body).log).toEqual(['victim-1']);
});

// Issue 20 §4, over real HTTPS (Node's TLS with a self-signed certificate, the Node adapter, `secure: 'auto'`): a user
// who holds no __Host- cookie yet, before their first visit or after a logout, is not read through a plain cookie
// a sibling planted. Before the fix the server read it: the victim's first write landed in the attacker's session.
test.describe('over HTTPS, a user who holds no __Host- cookie yet', () => {
  let server: HttpsTestServer;
  let port = 0;
  test.beforeAll(async () => {
    const validator = createValidator({ store: memoryStore(), onEvent: () => {} });
    server = await startHttpsServer(selfSignedCertificate(), {
      '/page': async () => new Response('<!doctype html><title>app</title>', { headers: { 'content-type': 'text/html' } }),
      '/log': validator.route({ writes: ['log'] }, async (request, session) => {
        session.set('log', [...((session.get('log') as string[] | undefined) ?? []), ((await request.json()) as { item: string }).item]);
        return Response.json({ log: session.get('log') });
      }),
      '/state': validator.route({ reads: ['log'] }, (_request, session) => Response.json({ log: session.get('log') ?? [] })),
      '/logout': validator.route({ ends: true }, (_request, session) => (session.destroy(), Response.json({}))),
    });
    port = server.port;
  });
  test.afterAll(() => server.close());

  const origin = (name: string) => `https://${name}.site.localhost:${port}`;
  /** A browser of its own (the certificate is ours: its errors are ignored, never the cookie rules). */
  const open = async (browser: Browser, name: string) => {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await page.goto(`${origin(name)}/page`);
    return page;
  };
  const logOf = async (page: Page) => JSON.parse((await read(page, '/state')).body).log as string[];
  const sessionCookies = async (page: Page) => (await page.context().cookies(`${origin('app')}/`)).filter((cookie) => cookie.name.endsWith('sl_session'));

  /** The attacker's own session, made over HTTPS: the id they plant. */
  async function attackerId(browser: Browser): Promise<{ id: string; attacker: Page }> {
    const attacker = await open(browser, 'app');
    expect((await write(attacker, '/log', 'attacker-bait')).status).toBe(200);
    const id = (await attacker.context().cookies()).find((cookie) => cookie.name === '__Host-sl_session')!.value;
    return { id, attacker };
  }

  /** From the sibling host, in the victim's browser: a plain cookie of the session's name for the whole site. */
  async function plantFromSibling(victim: Page, cookie: string): Promise<void> {
    const sibling = await victim.context().newPage();
    await sibling.goto(`${origin('evil')}/page`);
    await sibling.evaluate((cookie) => (document.cookie = cookie), cookie);
    await sibling.close();
  }

  test('a plain cookie planted before the first visit: the first write makes the victim their own __Host- session', async ({ browser }) => {
    const { id, attacker } = await attackerId(browser);
    const victim = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await plantFromSibling(victim, `sl_session=${id}; domain=site.localhost; path=/`);
    await victim.goto(`${origin('app')}/page`);
    expect((await sessionCookies(victim)).map((cookie) => [cookie.name, cookie.domain])).toEqual([['sl_session', '.site.localhost']]);

    expect((await write(victim, '/log', 'victim-1')).status).toBe(200);
    const own = (await sessionCookies(victim)).find((cookie) => cookie.name === '__Host-sl_session');
    expect(own).toMatchObject({ secure: true, path: '/', domain: 'app.site.localhost' });
    expect(own!.value).not.toBe(id);
    expect((await write(victim, '/log', 'victim-2')).status).toBe(200);
    expect(await logOf(victim)).toEqual(['victim-1', 'victim-2']);
    expect(await logOf(attacker)).toEqual(['attacker-bait']);
  });

  test('a malformed plain cookie planted before the first visit locks nobody out', async ({ browser }) => {
    const victim = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await plantFromSibling(victim, 'sl_session=garbage; domain=site.localhost; path=/');
    await victim.goto(`${origin('app')}/page`);
    expect((await read(victim, '/state')).status).toBe(200);
    expect((await write(victim, '/log', 'mine')).status).toBe(200);
    expect(await logOf(victim)).toEqual(['mine']);
  });

  test('a plain cookie planted after a logout: the next session is the victim’s own, never the attacker’s', async ({ browser }) => {
    const { id, attacker } = await attackerId(browser);
    const victim = await open(browser, 'app');
    expect((await write(victim, '/log', 'before')).status).toBe(200);
    const logout = await victim.evaluate(async () => (await fetch('/logout', { method: 'POST', headers: { 'idempotency-key': `"${crypto.randomUUID()}"` } })).status);
    expect(logout).toBe(200);
    await plantFromSibling(victim, `sl_session=${id}; domain=site.localhost; path=/`);

    // The dead __Host- cookie gets its clearing 410 (it names an ended session; the request names no epoch)…
    expect((await write(victim, '/log', 'after-1')).status).toBe(410);
    expect((await sessionCookies(victim)).map((cookie) => cookie.name)).toEqual(['sl_session']);
    // …and the next write makes a fresh session of the victim's own, though the planted cookie is still there.
    expect((await write(victim, '/log', 'after-2')).status).toBe(200);
    expect(await logOf(victim)).toEqual(['after-2']);
    expect((await sessionCookies(victim)).find((cookie) => cookie.name === '__Host-sl_session')!.value).not.toBe(id);
    expect(await logOf(attacker)).toEqual(['attacker-bait']);
  });
});
