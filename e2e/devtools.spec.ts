import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { fixtureStats as stats, postTo as post } from './harness.js';

// The devtools panel (src/devtools/) mounted in a page of the e2e fixture
// (e2e/fixture/devtools.html), in real Chromium against the real validator
// (demo/server/fixture.ts): what the panel shows after requests of two tabs,
// a lane held by the other tab, a simulated 412 and its retry, a dropped
// entry, and that a fault never applies to a replay of a gone tab's write;
// every tab's outbox (client.outbox()), a closed tab's entry dropped by hand,
// and whether each key's value is known (client.valueKnown()).
// Assertions are on what the panel shows and what the server saw, never on timing.

const PAGE = '/e2e/fixture/devtools.html';

interface Tab {
  page: Page;
  errors: string[];
}

async function openTab(context: BrowserContext, panel: 'floating' | 'embedded' | 'element' | 'none'): Promise<Tab> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => void (message.type() === 'error' && errors.push(message.text())));
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  await page.goto(`${PAGE}?panel=${panel}`);
  await page.waitForFunction(() => window.devtoolsFixture !== undefined);
  return { page, errors };
}

/** A tab's errors but the console's note of an answer with one of `statuses` (a 409 in progress, a real 412): the protocol's own answers. */
const errorsBut = (tab: Tab, ...statuses: number[]) => tab.errors.filter((error) => !statuses.some((status) => error.startsWith(`Failed to load resource: the server responded with a status of ${status} `)));

const keyRow = (page: Page, key: string) => page.locator(`[data-testid=devtools-key][data-key="${key}"]`);

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
  await page.close();
});

test('two tabs burst: the panel shows the keys, the versions this tab knows, and a lane the other tab holds with the queue behind it', async ({ context }) => {
  const here = await openTab(context, 'embedded');
  const other = await openTab(context, 'none');
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe(200); // makes the session; n = 1
  // A burst across both tabs: appends and increments at once.
  const burst = (tab: Tab, tag: string) => tab.page.evaluate((tag) => Promise.all([...[1, 2, 3, 4, 5].map((i) => window.devtoolsFixture.log(`${tag}${i}`)), window.devtoolsFixture.inc(), window.devtoolsFixture.inc()]), tag);
  const [mine, theirs] = await Promise.all([burst(here, 'a'), burst(other, 'b')]);
  expect([...mine, ...theirs]).toEqual(Array(14).fill(200));
  // What the other tab wrote last reaches this idle tab by broadcast: soon, not necessarily before its own burst ends.
  await expect.poll(() => here.page.evaluate(() => window.devtoolsFixture.versions())).toMatchObject({ n: 5, log: 10 });
  await expect(keyRow(here.page, 'n').getByTestId('devtools-version')).toHaveText('v5');
  await expect(keyRow(here.page, 'log').getByTestId('devtools-version')).toHaveText('v10');
  await expect(keyRow(here.page, 'n').getByTestId('devtools-lane')).toHaveText('free');

  // The other tab holds n's lane (its increment waits at the server's gate); this tab's increment queues behind it.
  await post(here.page, '/e2e/gate/close');
  const held = other.page.evaluate(() => window.devtoolsFixture.inc(true));
  await expect.poll(async () => (await stats(here.page)).waiting).toBe(1);
  await expect(keyRow(here.page, 'n').getByTestId('devtools-lane')).toHaveText('another tab');
  const queued = here.page.evaluate(() => window.devtoolsFixture.inc());
  await expect(keyRow(here.page, 'n').getByTestId('devtools-queue')).toHaveText('1 waiting: this tab');
  await expect(here.page.getByTestId('devtools-in-flight')).toHaveText(/^n: waiting for its lanes/);
  await post(here.page, '/e2e/gate/open');
  expect([await held, await queued]).toEqual([200, 200]);
  await expect(keyRow(here.page, 'n').getByTestId('devtools-version')).toHaveText('v7');
  await expect(keyRow(here.page, 'n').getByTestId('devtools-lane')).toHaveText('free');
  // Every request of this tab is a bar of the timeline, in the rows of its keys.
  await expect(here.page.locator('[data-testid=devtools-timeline] text', { hasText: /^log$/ })).toHaveCount(1);
  await expect(here.page.locator('[data-testid=devtools-timeline] rect[data-operation]')).toHaveCount(1 + 7 + 1);
  // Every write answered: no tab's outbox holds any.
  await expect(here.page.getByTestId('devtools-outbox')).toHaveText("every tab's outbox: 0 pending");
  expect(await here.page.getByTestId('devtools-epoch').textContent()).toBe(`epoch: ${await here.page.evaluate(() => window.devtoolsFixture.epoch())}`);
  expect([...here.errors, ...other.errors]).toEqual([]);
});

test('a simulated 412 on a path: the blind append is retried by the client, the server sees one request, the timeline shows the 412 and the retry', async ({ context }) => {
  const here = await openTab(context, 'embedded');
  expect(await here.page.evaluate(() => window.devtoolsFixture.log('first'))).toBe(200);
  await here.page.getByTestId('fault-target').fill('/e2e/log');
  await here.page.getByTestId('fault-answer').selectOption('412');
  await here.page.getByTestId('fault-arm').click();
  await expect(here.page.getByTestId('fault-armed')).toHaveText(/^412 × 1 on path \/e2e\/log/);
  expect(await here.page.evaluate(() => window.devtoolsFixture.log('second'))).toBe(200);
  await expect(here.page.getByTestId('fault-armed')).toHaveCount(0);
  const seen = await stats(here.page);
  expect(seen.requests['/e2e/log']).toBe(2); // the simulated 412 never reached the server
  expect(seen.statuses[412] ?? 0).toBe(0);
  // The timeline before the read below: the read is a bar too (one per key it reads), drawn at the panel's next redraw.
  const timeline = here.page.getByTestId('devtools-timeline');
  await expect(timeline.locator('rect[data-operation]')).toHaveCount(2);
  await expect(timeline.locator('line[data-event=conflict]')).toHaveCount(1);
  await expect(timeline.locator('line[data-event=retry]')).toHaveCount(1);
  expect(await here.page.evaluate(() => window.devtoolsFixture.state())).toMatchObject({ log: ['first', 'second'] });

  // The history export: the race kit's format, with the 412 and the retry in the operation's events.
  const download = here.page.waitForEvent('download');
  await here.page.getByTestId('devtools-export').click();
  const file = await (await download).path();
  const history = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8')));
  expect(history).toMatchObject({ format: 'session-lanes/race-history@1', driver: 'devtools' });
  const second = history.operations.find((operation: { id: string }) => operation.id === 'r2');
  expect(second).toMatchObject({ kind: 'append', key: 'log', method: 'POST', status: 200, url: expect.stringMatching(/\/e2e\/log$/) });
  expect(second.events.map((event: { type: string }) => event.type)).toEqual(['queued', 'sent', 'conflict', 'retry', 'sent', 'answered']);
  expect(here.errors).toEqual([]);
});

test('a 503 and an offline fault on a key are retried; a 410 asks first, warns, and ends the session', async ({ context }) => {
  const here = await openTab(context, 'embedded');
  expect(await here.page.evaluate(() => window.devtoolsFixture.log('first'))).toBe(200);
  await here.page.getByTestId('fault-kind').selectOption('key');
  await here.page.getByTestId('fault-target').fill('log');
  await here.page.getByTestId('fault-answer').selectOption('503');
  await here.page.getByTestId('fault-arm').click();
  await here.page.getByTestId('fault-answer').selectOption('offline');
  await here.page.getByTestId('fault-arm').click();
  await expect(here.page.getByTestId('fault-armed')).toHaveCount(2);
  expect(await here.page.evaluate(() => window.devtoolsFixture.log('second'))).toBe(200);
  await expect(here.page.getByTestId('fault-armed')).toHaveCount(0);
  expect((await stats(here.page)).requests['/e2e/log']).toBe(2);

  // 410: a warning under the form, and a confirmation; declined, nothing is armed.
  await here.page.getByTestId('fault-answer').selectOption('410');
  await expect(here.page.getByText(/A 410 ends the session in every tab/)).toBeVisible();
  here.page.once('dialog', (dialog) => void dialog.dismiss());
  await here.page.getByTestId('fault-arm').click();
  await expect(here.page.getByTestId('fault-armed')).toHaveCount(0);
  here.page.once('dialog', (dialog) => void dialog.accept());
  await here.page.getByTestId('fault-arm').click();
  await expect(here.page.getByTestId('fault-armed')).toHaveCount(1);
  expect(await here.page.evaluate(() => window.devtoolsFixture.log('third'))).toBe('SessionEndedError');
  await expect(here.page.getByTestId('devtools-sessionended')).toHaveCount(1);
  expect((await stats(here.page)).requests['/e2e/log']).toBe(2);
});

test('a dropped entry: a closed tab\'s never-sent rebase write shows as dropped, with its reason', async ({ context }) => {
  const here = await openTab(context, 'embedded');
  const closing = await openTab(context, 'none');
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe(200);
  await post(here.page, '/e2e/gate/close');
  const inFlight = here.page.evaluate(() => window.devtoolsFixture.inc(true));
  await expect.poll(async () => (await stats(here.page)).waiting).toBe(1);
  void closing.page.evaluate(() => void window.devtoolsFixture.incRebase());
  await expect(keyRow(here.page, 'n').getByTestId('devtools-queue')).toHaveText('1 waiting: another tab');
  await closing.page.close();
  await expect(here.page.getByTestId('devtools-dropped')).toHaveText(/^rebase: POST http:\/\/[^ ]+\/e2e\/inc \(n; never sent;/);
  await post(here.page, '/e2e/gate/open');
  expect(await inFlight).toBe(200);
  expect(here.errors).toEqual([]);
});

test('faults never apply to a replay: a gone tab\'s sent write, adopted while a 412 is armed on its path, is not dropped', async ({ context }) => {
  const here = await openTab(context, 'embedded');
  const closing = await openTab(context, 'none');
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe(200); // n = 1
  await here.page.getByTestId('fault-target').fill('/e2e/inc');
  await here.page.getByTestId('fault-count').fill('5');
  await here.page.getByTestId('fault-arm').click();
  await post(here.page, '/e2e/gate/close');
  void closing.page.evaluate(() => void window.devtoolsFixture.inc(true));
  await expect.poll(async () => (await stats(here.page)).waiting).toBe(1);
  await closing.page.close();
  // This tab adopts the gone tab's write and replays it as sent: its answer is the first attempt's, once the gate opens.
  await expect.poll(async () => (await stats(here.page)).requests['/e2e/inc']).toBeGreaterThan(2);
  await expect(here.page.getByTestId('devtools-in-flight')).toHaveText(/^n: sent, attempt \d+, .* old \(adopted from a gone tab\)$/);
  await post(here.page, '/e2e/gate/open');
  await expect.poll(() => here.page.evaluate(() => window.devtoolsFixture.versions().n)).toBe(2);
  await expect(here.page.getByTestId('devtools-in-flight')).toHaveCount(0);
  await expect(here.page.getByTestId('devtools-dropped')).toHaveCount(0);
  await expect(here.page.getByTestId('fault-armed')).toHaveText(/^412 × 5 on path \/e2e\/inc/);
  expect(await here.page.evaluate(() => window.devtoolsFixture.state())).toMatchObject({ n: 2 });
  // A request this tab makes still meets the fault: a static increment's 412 is a ConflictError at once.
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe('ConflictError');
  await expect(here.page.getByTestId('fault-armed')).toHaveText(/^412 × 4 on path \/e2e\/inc/);
});

test("every tab's outbox: a closed tab's entries, one replayed by this tab and one waiting its turn; Drop deletes that one and it never reaches the server", async ({ context }) => {
  const here = await openTab(context, 'embedded');
  const closing = await openTab(context, 'none');
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe(200); // a session; n = 1
  await post(here.page, '/e2e/gate/close');
  // The other tab's first increment waits at the server's gate; its second, stored and never sent, waits for n's lane.
  void closing.page.evaluate(() => void window.devtoolsFixture.inc(true));
  await expect.poll(async () => (await stats(here.page)).waiting).toBe(1);
  void closing.page.evaluate(() => void window.devtoolsFixture.inc());
  const entries = here.page.getByTestId('devtools-outbox-entry');
  await expect(entries).toHaveCount(2);
  await expect(here.page.getByTestId('devtools-outbox')).toHaveText("every tab's outbox: 2 pending");
  await expect(entries.nth(0)).toHaveText(/^POST http:\/\/[^ ]+\/e2e\/inc\?gate=1 \(n\): sent, [^,]+ old, another tab Drop$/);
  await expect(entries.nth(1)).toHaveText(/^POST http:\/\/[^ ]+\/e2e\/inc \(n\): not sent, [^,]+ old, another tab Drop$/);
  const [sentKey, queuedKey] = await entries.evaluateAll((items) => items.map((item) => item.getAttribute('data-key')!));
  const entry = (key: string) => here.page.locator(`[data-testid=devtools-outbox-entry][data-key="${key}"]`);

  await closing.page.close();
  // This tab adopts the closed tab's writes one after the other, in the order queued: it replays the sent one now
  // (the server holds its first attempt at the gate: 409 in progress, resent), and the never-sent one waits.
  await expect(entry(sentKey!)).toHaveAttribute('data-tab', 'replaying');
  await expect(entry(sentKey!)).toContainText('closed tab (this tab replays it)');
  await expect(entry(queuedKey!)).toHaveAttribute('data-tab', 'closed');
  await expect(entry(queuedKey!)).toContainText('closed tab (waits for adoption); once adopted: sent as queued');
  await entry(queuedKey!).getByTestId('devtools-outbox-drop').click();
  await expect(here.page.getByTestId('devtools-dropped')).toHaveText(/^manual: POST http:\/\/[^ ]+\/e2e\/inc \(n; never sent;/);
  await expect(entries).toHaveCount(1);
  await expect(entry(queuedKey!)).toHaveCount(0);

  await post(here.page, '/e2e/gate/open');
  await expect(entries).toHaveCount(0);
  await expect(here.page.getByTestId('devtools-outbox')).toHaveText("every tab's outbox: 0 pending");
  await expect(here.page.getByTestId('devtools-in-flight')).toHaveCount(0);
  // n: the first increment, and the closed tab's sent one, once; the dropped one never reached the server.
  expect(await here.page.evaluate(() => window.devtoolsFixture.state())).toMatchObject({ n: 2 });
  const seen = await stats(here.page);
  expect(seen.keys[queuedKey!]).toBeUndefined();
  expect(seen.keys[sentKey!]).toBeGreaterThanOrEqual(2); // its first attempt, and this tab's replay answered from the record
  expect(seen.finished).toBe(2);
  expect(errorsBut(here, 409)).toEqual([]);
});

test('value known: a key whose value a real 412 brought, and a key only written blind (its version known, its value not)', async ({ context }) => {
  const here = await openTab(context, 'embedded');
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe(200); // a session; n = 1
  expect(await here.page.evaluate(() => window.devtoolsFixture.log('a'))).toBe(200);
  // Reading both keys tells their versions, never their values.
  expect(await here.page.evaluate(() => window.devtoolsFixture.state())).toMatchObject({ n: 1, log: ['a'] });
  for (const key of ['n', 'log']) {
    await expect(keyRow(here.page, key).getByTestId('devtools-version')).toHaveText('v1');
    await expect(keyRow(here.page, key).getByTestId('devtools-value')).toHaveText('not known');
  }
  // Another writer of the session, outside this client (another device would be one): n = 2 at the server.
  const outside = await here.page.evaluate(async () => {
    const headers = { 'session-write': '"n";v=1', 'session-epoch': `"${window.devtoolsFixture.epoch()}"`, 'idempotency-key': `"${crypto.randomUUID()}"` };
    return (await fetch('/e2e/inc', { method: 'POST', headers })).status;
  });
  expect(outside).toBe(200);
  // This tab's static increment declares base 1: the server's 412 carries n's version and value.
  expect(await here.page.evaluate(() => window.devtoolsFixture.inc())).toBe('ConflictError');
  await expect(keyRow(here.page, 'n').getByTestId('devtools-version')).toHaveText('v2');
  await expect(keyRow(here.page, 'n').getByTestId('devtools-value')).toHaveText('known');
  await expect(keyRow(here.page, 'log').getByTestId('devtools-value')).toHaveText('not known');
  expect(errorsBut(here, 412)).toEqual([]);
});
