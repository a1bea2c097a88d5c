/**
 * The system fuzzer as a bench (issue 19 §3): real Chromium tabs against our
 * validator over seeded schedules (e2e/fuzz/fuzzer.ts).
 *
 *   npm run bench:fuzz                                   # 10 seeds drawn from the clock, memory store, safe mix
 *   npm run bench:fuzz -- --seeds 11,12,13               # exactly these seeds (a failure prints its seed: rerun it)
 *   npm run bench:fuzz -- --count 30 --first 1000        # seeds 1000..1029
 *   npm run bench:fuzz -- --store redis --mix full       # Redis (or postgres); the mix that closes call-site tabs mid-flight
 *   npm run bench:fuzz -- --src /tmp/old-b2c90a7/src     # an older copy of src/ (its validator and its client)
 *   npm run bench:fuzz -- --steps 80 --until-found       # longer schedules; stop at the first failing seed
 *
 * Prints PASS or FAIL per seed with the checker's counts; a failure prints
 * its first anomaly's witness and its schedule, and writes its history to
 * test-results/fuzz/<store>-<seed>.json for the race kit's report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { chromiumLaunchOptions } from '../../e2e/harness.js';
import { runFuzz, type FuzzMix } from '../../e2e/fuzz/fuzzer.js';
import { startFuzzServer, type FuzzStore } from '../../e2e/fuzz/server.js';
import { freshSeed } from './seeded.js';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string' },
    count: { type: 'string' },
    first: { type: 'string' },
    store: { type: 'string' },
    mix: { type: 'string' },
    src: { type: 'string' },
    steps: { type: 'string' },
    faults: { type: 'string' },
    'until-found': { type: 'boolean' },
  },
});
const store = (args.store ?? 'memory') as FuzzStore;
const mix = (args.mix ?? 'safe') as FuzzMix;
const first = args.first === undefined ? freshSeed() : Number(args.first);
const seeds = args.seeds ? args.seeds.split(',').map(Number) : Array.from({ length: Number(args.count ?? 10) }, (_, i) => first + i);
const steps = Number(args.steps ?? 40);

const server = await startFuzzServer({ store, ...(args.src ? { src: args.src } : {}) });
const browser = await chromium.launch(chromiumLaunchOptions({ headless: true }));
console.log(`fuzz: ${store} store, ${mix} mix, ${steps} steps a schedule${args.src ? `, code from ${args.src}` : ''}; seeds ${seeds.join(', ')}`);
const failing: number[] = [];
let ran = 0;
try {
  for (const seed of seeds) {
    ran++;
    const result = await runFuzz({ seed, server, browser, steps, mix, faults: args.faults !== '0' });
    const { counts } = result.check;
    const kinds = Object.entries(counts.anomalies).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`);
    if (result.dropped.length > 0) kinds.push(`dropped-write ${result.dropped.length} (${[...new Set(result.dropped.map((drop) => drop.reason))].join(', ')})`);
    const f = result.figures;
    console.log(
      `${result.valid ? 'PASS' : 'FAIL'}  seed ${seed}: ${counts.writes} writes, ${counts.acknowledged} acknowledged, ${counts.rejected} rejected, ${counts.indeterminate} indeterminate; tabs ${f.tabsOpened} opened / ${f.tabsClosed} closed (${f.closedInFlight} operations in flight), ${f.logouts} logouts, ${f.logins} logins, ${f.outages} outages, ${f.restarts} restarts; ${kinds.join(', ') || 'no anomaly'}`,
    );
    const errors = new Map<string, number>();
    for (const operation of result.history.operations) if (operation.status === undefined && operation.error) errors.set(operation.error.split(':')[0]!, (errors.get(operation.error.split(':')[0]!) ?? 0) + 1);
    if (errors.size > 0) console.log(`  unanswered: ${[...errors].map(([error, n]) => `${error} ${n}`).join(', ')}`);
    if (!result.valid) {
      failing.push(seed);
      mkdirSync('test-results/fuzz', { recursive: true });
      const file = `test-results/fuzz/${store}-${seed}.json`;
      writeFileSync(file, JSON.stringify(result.history, null, 1));
      const witness = result.check.anomalies[0]?.text ?? result.dropped[0]?.text;
      console.log(`  witness: ${witness}\n  schedule: ${result.schedule.join('; ')}\n  history: ${file}`);
      if (args['until-found']) break;
    }
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`\n${ran - failing.length}/${ran} seeds pass${failing.length ? `; failing seeds: ${failing.join(', ')}` : ''}`);
if (failing.length > 0) process.exitCode = 1;
