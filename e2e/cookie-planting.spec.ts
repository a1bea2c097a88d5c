import { expect, test, type Page } from '@playwright/test';

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
