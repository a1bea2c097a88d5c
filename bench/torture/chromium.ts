/**
 * The torture's Chromium variant: real tabs of one browser (Web Locks,
 * IndexedDB outbox) append unique tokens to one session key through the
 * library's client (e2e/fixture/), while tabs are closed mid-flight and new
 * ones opened. A closed tab's writes stay in the outbox and another tab
 * replays them; none may land twice, and every acknowledged one must land.
 *
 *   npm run bench:torture:chromium        # BENCH_SECONDS=60 BENCH_TABS=4
 *
 * Loopback only (its own Vite dev server); bounded in time and operations.
 */
import { chromium, type BrowserContext } from '@playwright/test';
import { createServer } from 'vite';
import { chromiumLaunchOptions, FIXTURE, openFixtureTab, type FixtureTab } from '../../e2e/harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const MAX_OPS = Number(process.env.BENCH_OPS ?? 5_000);
const TABS = Number(process.env.BENCH_TABS ?? 4);
const BATCH = 8;

const server = await createServer({ configFile: 'demo/vite.config.ts', logLevel: 'warn', server: { port: 5192, strictPort: false } });
await server.listen();
await server.watcher.close();
const baseURL = server.resolvedUrls?.local[0] ?? 'http://localhost:5192/';
const browser = await chromium.launch(chromiumLaunchOptions({ headless: true }));
const context: BrowserContext = await browser.newContext({ baseURL });

const outcomes = new Map<string, 'acknowledged' | 'refused' | 'tab closed'>();
const tally = { operations: 0, acknowledged: 0, refused: 0, closedInFlight: 0, tabsClosed: 0, tabsOpened: 0 };
const started = Date.now();
const running = () => tally.operations < MAX_OPS && Date.now() - started < SECONDS * 1000;
let nextTab = 0;

/** A tab appends batches of tokens until the run ends or the tab is closed under it. */
async function drive(tab: FixtureTab, name: string): Promise<void> {
  let n = 0;
  while (running() && !tab.page.isClosed()) {
    const tokens = Array.from({ length: BATCH }, () => `${name}-${n++}`);
    tally.operations += tokens.length;
    try {
      const statuses = await tab.page.evaluate((items) => Promise.all(items.map((item) => window.fixture.log(item))), tokens);
      tokens.forEach((token, i) => {
        const ok = statuses[i] === 200;
        outcomes.set(token, ok ? 'acknowledged' : 'refused');
        tally[ok ? 'acknowledged' : 'refused']++;
      });
    } catch {
      // The tab was closed with the batch in flight: its outbox holds what it had not heard back about.
      for (const token of tokens) outcomes.set(token, 'tab closed');
      tally.closedInFlight += tokens.length;
    }
  }
}

async function openAndDrive(): Promise<{ tab: FixtureTab; done: Promise<void> }> {
  const tab = await openFixtureTab(context);
  tally.tabsOpened++;
  return { tab, done: drive(tab, `tab${nextTab++}`) };
}

try {
  const first = await openFixtureTab(context);
  await first.page.evaluate(() => fetch('/e2e/reset', { method: 'POST' }));
  await first.page.close();
  const tabs = await Promise.all(Array.from({ length: TABS }, () => openAndDrive()));
  const drivers: Promise<void>[] = tabs.map((t) => t.done);
  // Close a random tab mid-flight about every second, and open a new one in its place.
  while (running()) {
    await new Promise((resolve) => setTimeout(resolve, 600 + Math.random() * 800));
    if (!running()) break;
    const victim = Math.floor(Math.random() * tabs.length);
    await tabs[victim]!.tab.page.close();
    tally.tabsClosed++;
    tabs[victim] = await openAndDrive();
    drivers.push(tabs[victim]!.done);
  }
  await Promise.all(drivers);
  // The outboxes drain: closed tabs' writes are claimed and replayed by the tabs still open.
  const reader = tabs[0]!.tab;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await reader.page.evaluate(() => window.fixture.outbox())).length > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  const { log } = await reader.page.evaluate(() => window.fixture.state());
  const seen = new Map<string, number>();
  for (const token of log) seen.set(token, (seen.get(token) ?? 0) + 1);
  const lost = [...outcomes].filter(([token, outcome]) => outcome === 'acknowledged' && !seen.has(token)).length;
  const duplicated = [...seen.values()].filter((times) => times > 1).length;
  const refusedButApplied = [...outcomes].filter(([token, outcome]) => outcome === 'refused' && seen.has(token)).length;
  const closedLanded = [...outcomes].filter(([token, outcome]) => outcome === 'tab closed' && seen.has(token)).length;
  const phantom = [...seen.keys()].filter((token) => !outcomes.has(token)).length;
  console.log(`\n| | Chromium, ${TABS} tabs open at a time |\n| --- | --- |`);
  console.log(`| operations | ${tally.operations} (${Math.round((Date.now() - started) / 1000)} s) |`);
  console.log(`| acknowledged | ${tally.acknowledged} |`);
  console.log(`| refused | ${tally.refused} |`);
  console.log(`| in flight in a tab that was closed (of which landed) | ${tally.closedInFlight} (${closedLanded}) |`);
  console.log(`| tabs closed / opened | ${tally.tabsClosed} / ${tally.tabsOpened} |`);
  console.log(`| lost | ${lost} |`);
  console.log(`| duplicated | ${duplicated} |`);
  console.log(`| refused but applied / never sent but present | ${refusedButApplied} / ${phantom} |`);
  if (lost + duplicated + refusedButApplied + phantom > 0) {
    console.log('FAILED');
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  await server.close();
}
