/**
 * `npm run demo:screenshot`: regenerates docs/demo-screenshot.png, the
 * README's picture: the same burst (one tab, 12 updates, 100 ms server
 * delay) in each mode, side by side: naive loses updates, lock loses none
 * but runs one request at a time, session-lanes loses none and queues only
 * same-key writes.
 *
 *   npm run demo:screenshot -- --out /tmp/demo.png
 */
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import { burstInTabs, chromiumLaunchOptions, openTabs } from '../e2e/harness.js';
import { MODES, type Mode } from './shop.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/demo-screenshot.png' } } });

const CAPTIONS: Record<Mode, string> = {
  naive: 'naive: whole session loaded and saved per request',
  lock: 'lock: one lock per session (PHP, Laravel block)',
  lanes: 'session-lanes: per-key lanes, versions, 412 and retry',
};

const server = await createServer({ configFile: 'demo/vite.config.ts', logLevel: 'warn', server: { port: 5191, strictPort: false } });
await server.listen();
await server.watcher.close();
const baseURL = server.resolvedUrls?.local[0] ?? 'http://localhost:5191/';
const browser = await chromium.launch(chromiumLaunchOptions({ headless: true }));
try {
  const shots: { mode: Mode; png: string }[] = [];
  for (const mode of MODES) {
    const context = await browser.newContext({ viewport: { width: 1150, height: 900 }, deviceScaleFactor: 1 });
    const [tab] = await openTabs(context, baseURL, mode, 1, 100);
    await burstInTabs([tab!], 12);
    await tab!.page.waitForTimeout(300); // the timeline's last frame
    shots.push({ mode, png: (await tab!.page.screenshot({ fullPage: true })).toString('base64') });
    await context.close();
  }
  // Side by side, one caption each, in one page the browser lays out and shoots.
  const page = await browser.newPage({ viewport: { width: 3500, height: 800 } });
  await page.setContent(`<body style="margin:0;padding:12px;display:inline-flex;gap:12px;align-items:flex-start;background:#e9e9e4;font:600 22px system-ui,sans-serif">
    ${shots.map(({ mode, png }) => `<figure style="margin:0;width:1150px"><figcaption style="margin:0 0 8px">${CAPTIONS[mode]}</figcaption><img style="width:1150px;border:1px solid #bbb" src="data:image/png;base64,${png}"></figure>`).join('')}
  </body>`);
  await page.screenshot({ path: values.out, fullPage: true });
  console.log(`wrote ${values.out}`);
} finally {
  await browser.close();
  await server.close();
}
