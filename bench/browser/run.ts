/**
 * What the client costs a real page (issue 24): Chromium through Playwright
 * issues reads and blind writes to a local server that answers each in 5 ms,
 * through plain `fetch` carrying the same valid session headers and through
 * the client (Web Locks, the shared IndexedDB version cache, the outbox), in
 * one tab and in three tabs of one browser at once (each tab writing its own
 * key), and 6 concurrent writes to 6 keys against one write alone.
 *
 *   npx tsx bench/browser/run.ts                  # 5 runs of 200 of each variant (1,000 per variant)
 *   BENCH_QUICK=1 npx tsx bench/browser/run.ts    # one run of 50: checks that it runs
 *
 * Each run measures the variants in an order that alternates from run to
 * run; the goals are judged on the median of the runs' figures. The page's
 * probes (bench/browser/page.ts) split the client's own time into lock waits
 * and IndexedDB transactions. The server counts the writes its handler
 * committed, which must equal the writes the page made.
 */
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from '@playwright/test';
import { createServer as createViteServer, type Plugin } from 'vite';
import { chromiumLaunchOptions } from '../../e2e/harness.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { toNodeListener, type FetchHandler } from '../../src/server/adapters/node.js';
import type { Variant } from './page.js';

const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 5));
const PER_RUN = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 50 : 200));
const ANSWER_MS = 5;
const WIDTH = 6;

// The server: the validator on the memory store; every route answers after 5 ms.
// One session makes every write of the run (~20,000, each record kept for the resend window): its allowance is raised
// so that none is refused (the default 8 MiB per session refuses some, and a refused write is not a measured one).
const validator = createValidator({ store: memoryStore({ maxBytes: 1024 * 1024 * 1024, maxSessionBytes: 256 * 1024 * 1024 }), secret: 'bench-secret-bench-secret-bench-secret' });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let committed = 0;
const read = validator.route({ reads: ['r'] }, async (_request, session) => {
  await pause(ANSWER_MS);
  return Response.json({ r: session.get('r') ?? 0 });
});
const writes = new Map<string, FetchHandler>();
const writeTo = (key: string): FetchHandler => {
  let handler = writes.get(key);
  if (!handler) {
    handler = validator.route({ writes: [key] }, async (request, session) => {
      const { by } = (await request.json()) as { by: number };
      await pause(ANSWER_MS);
      session.set(key, ((session.get(key) as number | undefined) ?? 0) + by);
      committed++;
      return Response.json({ ok: true });
    });
    writes.set(key, handler);
  }
  return handler;
};
const api = toNodeListener((request) => {
  const { pathname } = new URL(request.url);
  if (pathname === '/bench-api/read') return read(request);
  const key = /^\/bench-api\/write\/([a-z0-9]+)$/.exec(pathname)?.[1];
  return key ? writeTo(key)(request) : new Response('not found', { status: 404 });
});
const routes: Plugin = {
  name: 'session-lanes-browser-bench',
  configureServer(server) {
    server.middlewares.use((request, response, next) => (request.url?.startsWith('/bench-api/') ? void api(request, response) : next()));
  },
};

const vite = await createViteServer({
  configFile: false,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  plugins: [routes],
  logLevel: 'warn',
  server: { host: '127.0.0.1', port: 0, watch: null },
  optimizeDeps: { entries: ['bench/browser/index.html'] },
});
await vite.listen();
const baseURL = vite.resolvedUrls!.local[0]!;
const browser = await chromium.launch(chromiumLaunchOptions({ headless: true }));

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const median = (values: number[]) => percentile(values, 50);
const VARIANTS: Variant[] = ['fetch read', 'client read', 'in-tab read', 'fetch write', 'client write', 'in-tab write'];
let made = 0;

async function openTab(context: Awaited<ReturnType<typeof browser.newContext>>): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(new URL('/bench/browser/index.html', baseURL).href);
  await page.waitForFunction(() => window.bench !== undefined);
  return page;
}

interface Measured {
  /** Every request's time, per variant, over all runs and tabs. */
  all: Record<Variant, number[]>;
  /** Per run: the p50 of each variant over its tabs. */
  runs: Record<Variant, number>[];
  probes: Map<string, { ms: number; count: number }>;
}

async function measure(pages: Page[]): Promise<Measured> {
  const all = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const runs: Record<Variant, number>[] = [];
  const probes = new Map<string, { ms: number; count: number }>();
  for (let run = 0; run < RUNS; run++) {
    // Alternating: plain fetch first in even runs, the client first in odd ones.
    const order: Variant[] = run % 2 === 0 ? VARIANTS : ['in-tab read', 'client read', 'fetch read', 'in-tab write', 'client write', 'fetch write'];
    const results = await Promise.all(pages.map((page, tab) => page.evaluate(({ count, order, key }) => window.bench.series(count, order, key), { count: PER_RUN, order, key: `t${tab}` })));
    made += pages.length * PER_RUN * 3;
    const perRun = {} as Record<Variant, number>;
    for (const variant of VARIANTS) {
      const times = results.flatMap((result) => result.times[variant]);
      all[variant].push(...times);
      perRun[variant] = median(times);
    }
    runs.push(perRun);
    for (const result of results) {
      for (const [name, entry] of Object.entries(result.probes)) {
        const total = probes.get(name) ?? { ms: 0, count: 0 };
        probes.set(name, { ms: total.ms + entry.ms, count: total.count + entry.count });
      }
    }
    console.log(`  run ${run + 1}: ${VARIANTS.map((v) => `${v} p50 ${perRun[v].toFixed(2)} ms`).join(', ')}`);
  }
  return { all, runs, probes };
}

function print(title: string, { all, runs, probes }: Measured): { read: number; write: number } {
  console.log(`\n${title}: per request (${all['fetch read'].length} of each)`);
  for (const variant of VARIANTS) console.log(`  ${variant.padEnd(13)} p50 ${percentile(all[variant], 50).toFixed(2).padStart(6)} ms   p95 ${percentile(all[variant], 95).toFixed(2).padStart(6)} ms`);
  const added = (kind: 'read' | 'write') => median(runs.map((run) => run[`client ${kind}`] - run[`fetch ${kind}`]));
  const read = added('read');
  const write = added('write');
  console.log(`  client's added cost (median of the runs' p50 differences): read +${read.toFixed(2)} ms, write +${write.toFixed(2)} ms`);
  const inTab = (kind: 'read' | 'write') => median(runs.map((run) => run[`in-tab ${kind}`] - run[`fetch ${kind}`]));
  console.log(`  the same client on its in-tab parts (no Web Locks, no IndexedDB: its own code): read +${inTab('read').toFixed(2)} ms, write +${inTab('write').toFixed(2)} ms`);
  console.log(`  p95 added: read +${(percentile(all['client read'], 95) - percentile(all['fetch read'], 95)).toFixed(2)} ms, write +${(percentile(all['client write'], 95) - percentile(all['fetch write'], 95)).toFixed(2)} ms`);
  // Where a client request's own time goes: its whole time minus the time inside fetch, split by the probes.
  for (const kind of ['read', 'write'] as const) {
    const variant: Variant = `client ${kind}`;
    const count = all[variant].length;
    const whole = all[variant].reduce((sum, t) => sum + t, 0) / count;
    const inFetch = (probes.get(`${variant}: fetch`)?.ms ?? 0) / count;
    const own = whole - inFetch;
    const parts = ['lock', 'idb put', 'idb delete', 'idb get'].map((probe) => {
      const entry = probes.get(`${variant}: ${probe}`);
      const ms = (entry?.ms ?? 0) / count;
      return `${probe} ${ms.toFixed(2)} ms (${((ms / own) * 100).toFixed(0)}%, ${((entry?.count ?? 0) / count).toFixed(1)} per request)`;
    });
    console.log(`  client ${kind}, mean ${whole.toFixed(2)} ms: in fetch ${inFetch.toFixed(2)} ms, the client's own ${own.toFixed(2)} ms = ${parts.join(', ')}; the rest is the client's code between them`);
  }
  return { read, write };
}

try {
  const context = await browser.newContext();
  const first = await openTab(context);
  const headers = await first.evaluate(() => window.bench.ready('t0'));
  made += 3;
  console.log(`browser bench (Chromium ${browser.version()}), server answers in ${ANSWER_MS} ms; ${RUNS} runs of ${PER_RUN} requests per variant and tab`);
  console.log(`headers plain fetch sends (the client's, captured): read ${JSON.stringify(headers.read)}, write ${JSON.stringify(headers.write)}`);
  const oneTab = print('one tab', await measure([first]));
  const floor = await first.evaluate((count) => window.bench.floor(count), QUICK ? 50 : 300);
  console.log(`  the browser's own round trips (median of ${QUICK ? 50 : 300} each, one tab, no client): ${Object.entries(floor).map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`).join(', ')}`);
  const readFloor = floor.lock + floor['readonly transaction'];
  const writeFloor = floor.lock + floor['readonly transaction'] + 3 * floor['readwrite transaction'];
  console.log(`  the least the guarantees cost, in sequence: a read ${readFloor.toFixed(2)} ms (its lanes, then the shared cache read for the epoch), a write ${writeFloor.toFixed(2)} ms (its lanes, the cache read, stored as sent, the answer learned, the entry deleted)`);

  const others = [await openTab(context), await openTab(context)];
  await Promise.all(others.map((page, i) => page.evaluate((key) => window.bench.ready(key), `t${i + 1}`)));
  made += 6;
  print('three tabs at once', await measure([first, ...others]));
  for (const page of others) await page.close();

  console.log(`\n${WIDTH} concurrent client writes to ${WIDTH} keys against one alone (one tab):`);
  const ratios: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { one, many } = await first.evaluate(({ repeats, width }) => window.bench.parallel(repeats, width), { repeats: QUICK ? 10 : 40, width: WIDTH });
    made += one.length * (1 + WIDTH);
    ratios.push(median(many) / median(one));
    console.log(`  run ${run + 1}: one write p50 ${median(one).toFixed(2)} ms, ${WIDTH} at once p50 ${median(many).toFixed(2)} ms (${(median(many) / median(one)).toFixed(2)}×)`);
  }
  const parallel = median(ratios);
  // The same through the client's in-tab parts, and through plain fetch: what the server and the connections allow.
  for (const [parts, label] of [
    ['in-tab', 'the client on its in-tab parts (no Web Locks, no IndexedDB)'],
    ['plain fetch', 'plain fetch (the server and the browser’s connections alone)'],
  ] as const) {
    const others: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const { one, many } = await first.evaluate(({ repeats, width, parts }) => window.bench.parallel(repeats, width, parts), { repeats: QUICK ? 10 : 40, width: WIDTH, parts });
      made += one.length * (1 + WIDTH);
      others.push(median(many) / median(one));
    }
    console.log(`  the same through ${label}: ${others.map((ratio) => ratio.toFixed(2)).join(', ')}; median ${median(others).toFixed(2)}×`);
  }
  if (committed !== made) throw new Error(`the server committed ${committed} writes, but the pages made ${made}`);
  console.log(`\nwrites checked: the server committed ${committed}, the pages made ${made}`);

  console.log(`\ngoals (issue 24), median of ${RUNS} runs${QUICK ? ' (BENCH_QUICK: one short run, not a measurement)' : ''}:`);
  const line = (ok: boolean, name: string, figure: string) => console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${name.padEnd(52)} ${figure}`);
  line(oneTab.read <= 0.5, 'client adds ≤ 0.5 ms p50 to a read (one tab)', `+${oneTab.read.toFixed(2)} ms`);
  line(oneTab.write <= 1.5, 'client adds ≤ 1.5 ms p50 to a blind write (one tab)', `+${oneTab.write.toFixed(2)} ms`);
  line(parallel <= 1.2, `${WIDTH} concurrent writes to ${WIDTH} keys ≤ 1.2× one write`, `${parallel.toFixed(2)}×`);
} finally {
  await browser.close();
  await vite.close();
}
