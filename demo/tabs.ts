/**
 * `npm run demo:tabs`: opens several tabs of one Chromium on the demo, bursts
 * in all of them at once, in each mode's column in turn (naive, lock,
 * session-lanes), and prints what the server acknowledged, what the session
 * stored and how many acknowledged updates were lost. Screenshots go to
 * test-results/demo-tabs/.
 *
 *   npm run demo:tabs -- --tabs 4 --burst 20 --delay 100 --headed
 *   npm run demo:tabs -- --url http://localhost:5173/   # a demo already running
 *
 * Adapt it: it is a plain Playwright script.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import { burstInTabs, chromiumLaunchOptions, openTabs, type BurstTally } from '../e2e/harness.js';
import { MODES } from './shop.js';

const { values } = parseArgs({
  options: {
    tabs: { type: 'string', default: '3' },
    burst: { type: 'string', default: '12' },
    delay: { type: 'string', default: '100' },
    headed: { type: 'boolean', default: false },
    url: { type: 'string' },
    out: { type: 'string', default: 'test-results/demo-tabs' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log('Usage: npm run demo:tabs -- [--tabs 3] [--burst 12] [--delay 100] [--headed] [--url http://localhost:5173/] [--out test-results/demo-tabs]');
  process.exit(0);
}

function count(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

if (values.headed && process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  console.error('--headed needs a display (DISPLAY or WAYLAND_DISPLAY is not set); run without it for headless Chromium');
  process.exit(2);
}

const tabCount = count('tabs', values.tabs, 1, 12);
const burstSize = count('burst', values.burst, 1, 200);
const delayMs = count('delay', values.delay, 0, 5000);

let server: ViteDevServer | undefined;
let baseURL = values.url;
if (!baseURL) {
  // Our own dev server, on a free port, quiet.
  server = await createServer({ configFile: 'demo/vite.config.ts', logLevel: 'warn', server: { port: 5190, strictPort: false } });
  await server.listen();
  // A measurement, not a dev session: an edit to the sources must not restart the server (and empty its memory store) mid-run.
  await server.watcher.close();
  baseURL = server.resolvedUrls?.local[0] ?? 'http://localhost:5190/';
}

const browser = await chromium.launch(chromiumLaunchOptions({ headless: !values.headed }));
const tallies: BurstTally[] = [];
const failures: string[] = [];
try {
  await mkdir(values.out, { recursive: true });
  // One context: one cookie jar, so the tabs share each mode's session; each mode's column has its own.
  const context = await browser.newContext({ viewport: { width: 1560, height: 1000 } });
  try {
    const tabs = await openTabs(context, baseURL, tabCount, delayMs);
    for (const mode of MODES) {
      try {
        tallies.push(await burstInTabs(tabs, mode, burstSize));
      } catch (error) {
        failures.push(`${mode}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const [index, { page }] of tabs.entries()) await page.screenshot({ path: join(values.out, `tab${index + 1}.png`), fullPage: true });
    // Chromium logs each 412 as a console error; those are the 412s of the table. Anything else is reported.
    const errors = tabs.flatMap((tab) => tab.errors).filter((error) => !error.includes('status of 412 (Precondition Failed)'));
    const counts = new Map<string, number>();
    for (const error of errors) counts.set(error, (counts.get(error) ?? 0) + 1);
    for (const [error, times] of counts) console.warn(`the page logged ${times} × ${error}`);
  } finally {
    await context.close();
  }
} finally {
  await browser.close();
  await server?.close();
}

const rows = tallies.map((tally) => ({
  mode: tally.mode === 'lanes' ? 'session-lanes' : tally.mode,
  tabs: tally.tabs,
  sent: tally.tabs * burstSize,
  acknowledged: tally.acknowledged,
  stored: tally.stored,
  lost: tally.lost,
  '412s': tally.conflicts,
  retries: tally.retries,
  'time (ms)': tally.durationMs,
}));
console.log(`\n${tabCount} tabs × ${burstSize} updates, server delay ${delayMs} ms\n`);
console.log(table(rows));
console.log(`\nScreenshots: ${values.out}/`);
if (failures.length > 0) {
  console.error(`\nFailed:\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
}

function table(records: readonly Record<string, string | number>[]): string {
  const columns = Object.keys(records[0] ?? {});
  const widths = columns.map((column) => Math.max(column.length, ...records.map((record) => String(record[column]).length)));
  const line = (cells: readonly string[]) => cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join('  ');
  return [line(columns), line(widths.map((width) => '-'.repeat(width))), ...records.map((record) => line(columns.map((column) => String(record[column]))))].join('\n');
}
