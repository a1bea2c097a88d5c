/**
 * `npm run demo:screenshot`: regenerates docs/demo-screenshot.png, the
 * README's picture, from the demo's page itself: one tab, one click on
 * Burst (12 updates, 100 ms server delay) runs the burst in the three
 * columns (naive loses updates, lock loses none but runs one request at a
 * time, session-lanes loses none and queues only same-key writes), with the
 * devtools panel on the session-lanes column's client below them.
 *
 * The picture ships in the tarball, so it must stay small (≤ 60 kB,
 * test/package.test.ts): the shot is written as a palette PNG of its 24 most
 * frequent colours (demo/png8.ts), and the script fails when the file is
 * still too big.
 *
 *   npm run demo:screenshot -- --out /tmp/demo.png
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import { chromiumLaunchOptions, openTabs } from '../e2e/harness.js';
import { decodePng, encodePng8 } from './png8.js';

const MAX_BYTES = 60_000;
const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/demo-screenshot.png' }, colors: { type: 'string', default: '24' } } });

const server = await createServer({ configFile: 'demo/vite.config.ts', logLevel: 'warn', server: { port: 5191, strictPort: false } });
await server.listen();
await server.watcher.close();
const baseURL = server.resolvedUrls?.local[0] ?? 'http://localhost:5191/';
const browser = await chromium.launch(chromiumLaunchOptions({ headless: true }));
try {
  const context = await browser.newContext({ viewport: { width: 1320, height: 900 }, deviceScaleFactor: 1 });
  const [tab] = await openTabs(context, baseURL, 1, 100);
  const { page } = tab!;
  await page.evaluate(() => window.demo.reset());
  await page.getByTestId('burst').click();
  await page.locator('[data-testid=burst-status][data-state=done]').waitFor({ timeout: 60_000 });
  // The panel redraws at most every 500 ms: let it draw the burst.
  await page.waitForTimeout(1_200);
  const shot = await page.screenshot({ fullPage: true });
  await context.close();
  const png = encodePng8(decodePng(shot), Number(values.colors));
  await writeFile(values.out, png);
  const bytes = png.byteLength;
  console.log(`wrote ${values.out}: ${bytes} bytes`);
  if (bytes > MAX_BYTES) {
    console.error(`${values.out} is over ${MAX_BYTES} bytes: try fewer colours (--colors 16)`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  await server.close();
}
