import { expect, test } from '@playwright/test';
import { FIXTURE, fixtureStats as stats, openFixtureTab as openTab, postTo as post } from './harness.js';

// A login through a rotating route while other tabs of the same browser keep writing (issue 10): the
// session-wide lane (every request shared, the login exclusive, Web Locks across tabs) keeps every one of
// the browser's own requests from meeting the rotation at the server, so none gets a false 410.

test.beforeEach(async ({ page }) => {
  await page.goto(FIXTURE);
  await post(page, '/e2e/reset');
  await page.close();
});

test('3 tabs: two write one key 40 times each, one aborts a slow write mid-flight, the third logs in through a rotating route', async ({ context, baseURL }) => {
  const [a, b, c] = [await openTab(context), await openTab(context), await openTab(context)];
  expect(await a.page.evaluate(() => window.fixture.log('first'))).toBe(200);
  const cookie = async () => (await context.cookies()).find((each) => each.name === 'sl_session')?.value;
  const before = await cookie();
  expect(before).toMatch(/^[\w-]{43}$/);

  // The slow write reaches the server's handler and waits there (the gate), then its tab gives up on it.
  await post(a.page, '/e2e/gate/close');
  const slow = b.page.evaluate(() => window.fixture.logAbortable('slow', 'slow'));
  await expect.poll(async () => (await stats(a.page)).waiting).toBe(1);
  const burstA = a.page.evaluate(() => Promise.all(Array.from({ length: 40 }, (_, i) => window.fixture.log(`a${i}`))));
  const burstB = b.page.evaluate(() => Promise.all(Array.from({ length: 40 }, (_, i) => window.fixture.log(`b${i}`))));
  const login = c.page.evaluate(() => window.fixture.login());
  await b.page.evaluate(() => window.fixture.abort('slow'));
  const [writesA, writesB, loggedIn, aborted] = await Promise.all([burstA, burstB, login, slow]);

  expect(aborted).toBe('AbortError');
  expect(loggedIn).toBe(200);
  // Every non-aborted write acknowledged: not one 410 (nor anything else) among the browser's own answers.
  expect([...writesA, ...writesB]).toEqual(Array(80).fill(200));
  const after = await cookie();
  expect(after).toMatch(/^[\w-]{43}$/);
  expect(after).not.toBe(before);

  // The aborted write's handler still holds its round trip 1 from before the login; let it commit now: 410, and
  // it lands in neither session. That answer went to nobody (its tab aborted it).
  await post(a.page, '/e2e/gate/open');
  await expect.poll(async () => (await stats(a.page)).statuses[410] ?? 0).toBe(1);

  const state = await a.page.evaluate(() => window.fixture.state());
  const expected = ['first', ...Array.from({ length: 40 }, (_, i) => `a${i}`), ...Array.from({ length: 40 }, (_, i) => `b${i}`)];
  expect([...state.log].sort()).toEqual(expected.sort());
  // Each tab recorded the rotation once, as a rotation (not an end), and moved to the new epoch.
  for (const { page } of [a, b, c]) {
    await expect.poll(() => page.evaluate(() => window.fixture.events.filter((event) => event.type === 'rotated' || event.type === 'sessionended'))).toEqual([{ type: 'rotated' }]);
  }
  const epochs = await Promise.all([a, b, c].map(({ page }) => page.evaluate(() => window.fixture.epoch())));
  expect(new Set(epochs).size).toBe(1);

  // The pre-login cookie: 410, and no cookie set (clearing it would delete the login's).
  const old = await fetch(new URL('/e2e/state', baseURL), { headers: { cookie: `sl_session=${before}`, 'session-read': '"n", "log"' } });
  expect(old.status).toBe(410);
  expect(old.headers.getSetCookie()).toEqual([]);
  expect([a, b, c].flatMap((tab) => tab.errors)).toEqual([]);
});
