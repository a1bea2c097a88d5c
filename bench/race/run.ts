/**
 * The race kit's benchmark: what it must find, and what it must not.
 *
 *   npm run bench:race                                  # every goal
 *   npm run bench:race -- --only express,lock           # goals whose target name starts so
 *   npm run bench:race -- --seed 1234                   # the first seed (else one drawn and printed)
 *   BENCH_RACE_OPS=10200 npm run bench:race             # operations per session-lanes store / the lock server
 *
 * Goals (issue 19 §2), each printed PASS or FAIL with its figures:
 * 1. express-session (MemoryStore, then connect-redis), 5 ms handlers: the
 *    distinct-keys scenario reports a lost update within 10 s and 100
 *    requests, in at least 19 of 20 runs with different seeds.
 * 2. session-lanes on memory, Redis and PostgreSQL: every scenario, 0
 *    anomalies over BENCH_RACE_OPS operations per store, at least 95% of the
 *    writes acknowledged, and no scenario run with fewer than 100.
 * 3. The lock-per-session server (nothing can be lost: the false-positive
 *    control): 0 anomalies over BENCH_RACE_OPS operations.
 *
 * Every run prints its seed; the same seed draws the same schedule
 * (bench/race/driver.ts). A failing history is written to
 * test-results/race/<target>-<scenario>-<seed>.json for the race kit's report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkHistory, type CheckResult } from '../../src/race/checker.js';
import type { History } from '../../src/race/history.js';
import { drive, SCENARIOS } from './driver.js';
import { freshSeed } from './seeded.js';
import { startTarget, type TargetName } from './targets.js';

const { values: args } = parseArgs({ options: { only: { type: 'string' }, seed: { type: 'string' } } });
const only = args.only?.split(',') ?? [];
const wanted = (name: string) => only.length === 0 || only.some((prefix) => name.startsWith(prefix));
const firstSeed = args.seed === undefined ? freshSeed() : Number(args.seed);
const OPERATIONS = Number(process.env.BENCH_RACE_OPS ?? 10_200);
const verdicts: { goal: string; pass: boolean }[] = [];

function keep(history: History, target: string): string {
  mkdirSync('test-results/race', { recursive: true });
  const file = `test-results/race/${target}-${history.scenario}-${history.seed}.json`;
  writeFileSync(file, JSON.stringify(history, null, 1));
  return file;
}

function verdict(goal: string, pass: boolean, figures: string): void {
  verdicts.push({ goal, pass });
  console.log(`${pass ? 'PASS' : 'FAIL'}  ${goal}: ${figures}`);
}

/** Goal 1: 20 short distinct-keys runs, each at most 96 writes and its final read (97 requests), each bounded to 10 s. */
async function mustFind(name: TargetName): Promise<void> {
  const target = await startTarget(name);
  const found: { seed: number; requests: number; ms: number; firstLostAt?: number }[] = [];
  const missed: number[] = [];
  try {
    for (let run = 0; run < 20; run++) {
      const seed = firstSeed + run;
      const started = performance.now();
      const history = await drive({ target, scenario: 'distinct-keys', seed, jars: 1, clients: 4, operations: 96, maxMs: 9_000 });
      const result = checkHistory(history);
      const ms = performance.now() - started;
      const lost = result.anomalies.filter((anomaly) => anomaly.kind === 'lost-write');
      // A run counts when it reports a lost update within its bounds.
      if (lost.length > 0 && ms <= 10_000 && history.operations.length <= 100) found.push({ seed, requests: history.operations.length, ms });
      else missed.push(seed);
      if (run === 0 && lost[0]) console.log(`  seed ${seed}, the first witness:\n    ${lost[0].text}`);
    }
  } finally {
    await target.close();
  }
  const times = found.map((run) => run.ms).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] ?? NaN;
  verdict(
    `${name}: distinct-keys finds a lost update (≤ 10 s, ≤ 100 requests) in ≥ 19 of 20 seeds`,
    found.length >= 19,
    `${found.length}/20 (seeds ${firstSeed}–${firstSeed + 19}${missed.length ? `; missed ${missed.join(', ')}` : ''}); ${found[0]?.requests ?? 0} requests a run; run time median ${Math.round(median)} ms, max ${Math.round(times.at(-1) ?? NaN)} ms`,
  );
}

/** Goals 2 and 3: every scenario, OPERATIONS over all of them, against a server that must show no anomaly. */
async function mustNotFind(name: TargetName, needAcknowledged: boolean): Promise<void> {
  const target = await startTarget(name);
  const perScenario = Math.ceil(OPERATIONS / SCENARIOS.length);
  let operations = 0;
  let anomalies = 0;
  let writes = 0;
  let acknowledged = 0;
  let fewAcknowledged = false;
  const started = performance.now();
  try {
    for (const [index, scenario] of SCENARIOS.entries()) {
      const seed = firstSeed + index;
      const history = await drive({ target, scenario, seed, jars: 3, clients: 4, operations: perScenario, maxMs: 240_000 });
      const result: CheckResult = checkHistory(history);
      operations += result.counts.operations;
      anomalies += result.anomalies.length;
      writes += result.counts.writes;
      acknowledged += result.counts.acknowledged;
      if (result.counts.acknowledged < 100) fewAcknowledged = true;
      const share = result.counts.writes === 0 ? 0 : result.counts.acknowledged / result.counts.writes;
      console.log(
        `  ${name} ${scenario} (seed ${seed}): ${result.counts.operations} operations, ${result.counts.acknowledged}/${result.counts.writes} writes acknowledged (${(share * 100).toFixed(1)}%), ${result.counts.rejected} rejected, ${result.counts.indeterminate} indeterminate; ${result.anomalies.length} anomalies`,
      );
      if (result.anomalies.length > 0) console.log(`    ${result.anomalies[0]!.text}\n    history: ${keep(history, name)}`);
    }
  } finally {
    await target.close();
  }
  const share = writes === 0 ? 0 : acknowledged / writes;
  const pass = anomalies === 0 && operations >= OPERATIONS && (!needAcknowledged || (share >= 0.95 && !fewAcknowledged));
  verdict(
    `${name}: 0 anomalies over ${OPERATIONS} operations, every scenario${needAcknowledged ? ', ≥ 95% acknowledged' : ''}`,
    pass,
    `${anomalies} anomalies over ${operations} operations in ${Math.round((performance.now() - started) / 1000)} s; ${acknowledged}/${writes} writes acknowledged (${(share * 100).toFixed(1)}%)${fewAcknowledged ? '; a scenario had fewer than 100 acknowledgements' : ''}`,
  );
}

console.log(`race bench, first seed ${firstSeed}; ${OPERATIONS} operations per store where counted (figures on a loaded 2-core machine)`);
for (const name of ['express-memory', 'express-redis'] as const) if (wanted(name)) await mustFind(name);
for (const name of ['lanes-memory', 'lanes-redis', 'lanes-postgres'] as const) if (wanted(name)) await mustNotFind(name, true);
if (wanted('lock')) await mustNotFind('lock', false);
console.log(`\n${verdicts.filter((each) => each.pass).length}/${verdicts.length} goals pass`);
if (verdicts.some((each) => !each.pass)) process.exitCode = 1;
