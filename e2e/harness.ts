import { existsSync } from 'node:fs';
import type { BrowserContext, LaunchOptions, Page } from '@playwright/test';
import type { BurstResult } from '../demo/main.js';
import type { FixtureStats } from '../demo/server/fixture.js';
import type { Mode, ShopState } from '../demo/shop.js';

/**
 * What the e2e tests and `npm run demo:tabs` share: how Chromium is
 * launched, and how several tabs of one browser burst at the demo at once.
 */

/** Debian's Chromium, where Playwright cannot download its own (no network). */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export function chromiumLaunchOptions(options: { headless?: boolean } = {}): LaunchOptions {
  return {
    ...(existsSync(SYSTEM_CHROMIUM) ? { executablePath: SYSTEM_CHROMIUM } : {}),
    ...(options.headless === undefined ? {} : { headless: options.headless }),
    args: [
      // The machine may have no network: nothing may phone home.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // Several tabs burst at once; a tab in the background must not be slowed down.
      '--disable-background-timer-throttling',
      '--disable-backgrounding-occluded-windows',
      '--disable-renderer-backgrounding',
    ],
  };
}

export interface DemoTab {
  page: Page;
  /** Console errors and uncaught exceptions of the page, as text. */
  errors: string[];
}

/**
 * Opens `count` tabs of the demo in one context (one cookie jar, one origin: one session per mode, each mode's
 * column its own), each ready.
 */
export async function openTabs(context: BrowserContext, baseURL: string, count: number, delayMs: number): Promise<DemoTab[]> {
  const tabs: DemoTab[] = [];
  for (let index = 0; index < count; index += 1) {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    await page.goto(new URL(`/?delay=${delayMs}`, baseURL).href);
    // Tabs open one after another, so that the first one alone creates the sessions.
    // A page that fails to start fails the wait at once, with its own error.
    const crashed = new Promise<never>((_, reject) => page.once('pageerror', reject));
    crashed.catch(() => {});
    try {
      await Promise.race([page.waitForFunction(() => window.demo !== undefined, null, { timeout: 15_000 }), crashed]);
      await page.evaluate(() => window.demo.ready);
    } catch (error) {
      throw new Error(`The demo did not start in tab ${index + 1}: ${errors.join('; ') || String(error)}`, { cause: error });
    }
    tabs.push({ page, errors });
  }
  return tabs;
}

export interface BurstTally {
  mode: Mode;
  tabs: number;
  /** Updates the server acknowledged (2xx), over all tabs. */
  acknowledged: number;
  /** Acknowledged updates present in the session once every tab is done. */
  stored: number;
  lost: number;
  /** Updates the server refused (not acknowledged: not lost either). */
  failed: number;
  conflicts: number;
  retries: number;
  /** From the first tab's start to the last tab done. */
  durationMs: number;
  results: BurstResult[];
}

/**
 * Empties `mode`'s session, then bursts in that mode's column of every tab
 * at once and waits for all of them; counts what was acknowledged against
 * what the session holds at the end. A tab's own count may miss what a
 * later tab erased, so the tally reads the session once, after every tab is
 * done.
 */
export async function burstInTabs(tabs: readonly DemoTab[], mode: Mode, size: number): Promise<BurstTally> {
  const first = tabs[0];
  if (!first) throw new TypeError('burstInTabs(): no tabs');
  await first.page.evaluate((mode) => window.demo.reset([mode]), mode);
  const started = Date.now();
  const results = await Promise.all(
    tabs.map(async ({ page }, index) => {
      const result = await page.evaluate(([size, mode]) => window.demo.burst(size, [mode]).then((results) => results[mode]), [size, mode] as const);
      if (!result) throw new Error(`The ${mode} burst gave no result in tab ${index + 1}`);
      return result;
    }),
  );
  const durationMs = Date.now() - started;
  const state: ShopState = await first.page.evaluate((mode) => window.demo.state(mode), mode);
  let acknowledged = 0;
  let stored = 0;
  for (const result of results) {
    for (const entry of result.acknowledged) {
      acknowledged += 1;
      const [key, item] = entry.split('/') as [keyof ShopState, string];
      const list = state[key];
      if (Array.isArray(list) && list.includes(item)) stored += 1;
    }
  }
  const sum = (pick: (result: BurstResult) => number) => results.reduce((total, result) => total + pick(result), 0);
  return {
    mode,
    tabs: tabs.length,
    acknowledged,
    stored,
    lost: acknowledged - stored,
    failed: sum((result) => result.failed),
    conflicts: sum((result) => result.conflicts),
    retries: sum((result) => result.retries),
    durationMs,
    results,
  };
}

/** The page of the cross-tab suites (e2e/fixture/): `window.fixture` drives one client; the routes are demo/server/fixture.ts. */
export const FIXTURE = '/e2e/fixture/index.html';

export interface FixtureTab {
  page: Page;
  /** Console errors and uncaught exceptions. */
  errors: string[];
}

/**
 * Opens the fixture in a new tab of `context`, once `window.fixture` is
 * there. `init` runs in the page before any of its scripts (to take a part
 * of the browser away, say).
 */
export async function openFixtureTab(context: BrowserContext, init?: () => void): Promise<FixtureTab> {
  const page = await context.newPage();
  const errors: string[] = [];
  // The message's location names the resource when a load failed ("Failed to load resource" alone does not).
  page.on('console', (message) => void (message.type() === 'error' && errors.push(`${message.text()} (${message.location().url})`)));
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  if (init) await page.addInitScript(init);
  await page.goto(FIXTURE);
  await page.waitForFunction(() => window.fixture !== undefined);
  return { page, errors };
}

/** POSTs to a fixture route (reset, gate/close, gate/open) from `page`, outside any client. */
export const postTo = (page: Page, path: string): Promise<void> => page.evaluate((path) => fetch(path, { method: 'POST' }).then(() => undefined), path);

/** What the fixture's server saw since the last reset. */
export const fixtureStats = (page: Page): Promise<FixtureStats> => page.evaluate(() => fetch('/e2e/stats').then((response) => response.json()));

/** A page of the origin that runs no client (so it adopts no outbox): the fixture's stats, as JSON. */
export async function openObserver(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto('/e2e/stats');
  return page;
}
