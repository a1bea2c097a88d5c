/**
 * Does the devtools panel cost the page frames? The devtools fixture page
 * (e2e/fixture/devtools.html) makes blind appends through the real client at
 * about 100 client events per second (queued, sent, committed: 3 per request,
 * one request every 30 ms) for 10 s, while the page records its
 * requestAnimationFrame deltas: once without the panel, once with it open
 * (embedded, so always drawn). PASS when the p95 frame time with the panel
 * is at most 1.1× the run without it and no frame with the panel takes over
 * 50 ms. It also prints the panel's own bundle size (minified, brotli).
 *
 *   npm run bench:devtools        # BENCH_SECONDS=10 BENCH_INTERVAL_MS=30
 *
 * Loopback only (its own Vite dev server); bounded in time and requests.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { chromium } from '@playwright/test';
import { build, createServer } from 'vite';
import { chromiumLaunchOptions } from '../e2e/harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const INTERVAL = Number(process.env.BENCH_INTERVAL_MS ?? 30);

interface Run {
  deltas: number[];
  events: number;
  requests: number;
  failed: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function panelSize(): Promise<{ minified: number; brotli: number }> {
  const outDir = await mkdtemp(join(tmpdir(), 'session-lanes-devtools-size-'));
  try {
    await build({
      configFile: false,
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true, minify: true, target: 'es2022', lib: { entry: join(import.meta.dirname, '../src/devtools/index.ts'), formats: ['es'], fileName: 'devtools' }, rolldownOptions: { external: [], output: { minify: true } } },
    });
    const files = (await readdir(outDir)).filter((file) => file.endsWith('.js'));
    const code = Buffer.concat(await Promise.all(files.map((file) => readFile(join(outDir, file)))));
    return { minified: code.length, brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

const server = await createServer({ configFile: 'demo/vite.config.ts', logLevel: 'warn', server: { port: 5199, strictPort: false } });
await server.listen();
await server.watcher.close();
const baseURL = server.resolvedUrls?.local[0] ?? 'http://localhost:5199/';
const browser = await chromium.launch(chromiumLaunchOptions({ headless: true }));

async function run(panel: 'none' | 'embedded'): Promise<Run> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1200, height: 900 } });
  try {
    // tsx compiles the function given to page.evaluate keeping names, with a helper the page does not have.
    await context.addInitScript('globalThis.__name = (fn) => fn');
    const page = await context.newPage();
    await page.goto('/e2e/stats');
    await page.evaluate(() => fetch('/e2e/reset', { method: 'POST' }));
    await page.goto(`/e2e/fixture/devtools.html?panel=${panel}`);
    await page.waitForFunction(() => window.devtoolsFixture !== undefined);
    // The session exists and the page is warm before measuring.
    await page.evaluate(() => window.devtoolsFixture.log('warm-up'));
    return await page.evaluate(
      async ({ seconds, interval }) => {
        const deltas: number[] = [];
        const firstEvent = window.devtoolsFixture.events();
        let requests = 0;
        let failed = 0;
        const calls: Promise<unknown>[] = [];
        const end = performance.now() + seconds * 1000;
        const timer = setInterval(() => {
          requests++;
          calls.push(window.devtoolsFixture.log(`item-${requests}`).then((status) => void (status === 200 || failed++)));
        }, interval);
        await new Promise<void>((resolve) => {
          let last = performance.now();
          const frame = (time: number) => {
            deltas.push(time - last);
            last = time;
            if (time < end) requestAnimationFrame(frame);
            else resolve();
          };
          requestAnimationFrame((time) => ((last = time), requestAnimationFrame(frame)));
        });
        clearInterval(timer);
        const events = window.devtoolsFixture.events() - firstEvent;
        await Promise.all(calls);
        return { deltas, events, requests, failed };
      },
      { seconds: SECONDS, interval: INTERVAL },
    );
  } finally {
    await context.close();
  }
}

try {
  const size = await panelSize();
  const without = await run('none');
  const withPanel = await run('embedded');
  const line = (name: string, { deltas, events, requests, failed }: Run) =>
    `${name.padEnd(14)} frames ${String(deltas.length).padStart(4)}  p50 ${percentile(deltas, 50).toFixed(1).padStart(5)} ms  p95 ${percentile(deltas, 95).toFixed(1).padStart(5)} ms  max ${Math.max(...deltas).toFixed(1).padStart(5)} ms  events ${(events / SECONDS).toFixed(0)}/s  requests ${requests} (${failed} failed)`;
  console.log(`devtools panel: ${size.minified} B minified, ${size.brotli} B brotli`);
  console.log(line('without panel', without));
  console.log(line('panel open', withPanel));
  const ratio = percentile(withPanel.deltas, 95) / percentile(without.deltas, 95);
  const worst = Math.max(...withPanel.deltas);
  const pass = ratio <= 1.1 && worst <= 50 && withPanel.failed === 0 && without.failed === 0;
  console.log(`p95 ratio ${ratio.toFixed(3)} (≤ 1.1), worst frame with the panel ${worst.toFixed(1)} ms (≤ 50): ${pass ? 'PASS' : 'FAIL'}`);
  process.exitCode = pass ? 0 : 1;
} finally {
  await browser.close();
  await server.close();
}
