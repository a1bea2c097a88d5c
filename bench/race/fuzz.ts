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
 *   npm run bench:fuzz -- --driver node --src DIR         # the Node driver's part (HTTP clients on shared cookie jars,
 *                                                         # logouts and logins in flight) against DIR's client and validator
 *
 * FUZZ_TRACE=1 prints each tab's opening and closing and the drain, with times.
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
import { checkHistory } from '../../src/race/checker.js';
import { loadCode } from './code.js';
import { drive } from './driver.js';
import { freshSeed } from './seeded.js';
import { lanesTarget } from './targets.js';

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
    driver: { type: 'string' },
    operations: { type: 'string' },
  },
});
const store = (args.store ?? 'memory') as FuzzStore;
const mix = (args.mix ?? 'safe') as FuzzMix;
const first = args.first === undefined ? freshSeed() : Number(args.first);
const seeds = args.seeds ? args.seeds.split(',').map(Number) : Array.from({ length: Number(args.count ?? 10) }, (_, i) => first + i);
const steps = Number(args.steps ?? 40);

if (args.driver === 'node') {
  await nodeDriverRun();
  process.exit();
}

/**
 * The Node driver's part of the fuzzer: per seed, the logout-in-flight and the login-in-flight scenarios
 * (bench/race/driver.ts: 3 cookie jars × 4 clients, each jar's clients with their own lanes and a shared
 * first-write lane; each jar's first client logs out, or in, every 40 of its operations) against the memory
 * store, a fifth of the answers held back up to 40 ms, so that the answers around a logout overtake each other.
 */
async function nodeDriverRun(): Promise<void> {
  const code = await loadCode(args.src);
  const target = await lanesTarget('memory', args.src ? code.validator : undefined, { slowAnswers: 0.2 });
  const operations = Number(args.operations ?? 600);
  console.log(`fuzz, Node driver: ${operations} operations a scenario${args.src ? `, code from ${args.src}` : ''}; seeds ${seeds.join(', ')}`);
  const failing: number[] = [];
  try {
    for (const seed of seeds) {
      const found: string[] = [];
      for (const scenario of ['logout-in-flight', 'login-in-flight'] as const) {
        const history = await drive({ target, scenario, seed, jars: 3, clients: 4, operations, client: code.client, specialEvery: 40 });
        const result = checkHistory(history);
        const kinds = Object.entries(result.counts.anomalies).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`);
        console.log(`${result.valid ? 'PASS' : 'FAIL'}  seed ${seed} ${scenario}: ${result.counts.acknowledged}/${result.counts.writes} writes acknowledged; ${kinds.join(', ') || 'no anomaly'}`);
        if (!result.valid) {
          mkdirSync('test-results/fuzz', { recursive: true });
          const file = `test-results/fuzz/node-${scenario}-${seed}.json`;
          writeFileSync(file, JSON.stringify(history, null, 1));
          found.push(`${result.anomalies[0]!.text}
  history: ${file}`);
        }
      }
      if (found.length > 0) {
        failing.push(seed);
        console.log(`  witness: ${found[0]}`);
        if (args['until-found']) break;
      }
    }
  } finally {
    await target.close();
  }
  console.log(`\n${seeds.length - failing.length}/${seeds.length} seeds pass${failing.length ? `; failing seeds: ${failing.join(', ')}` : ''}`);
  if (failing.length > 0) process.exitCode = 1;
}

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
