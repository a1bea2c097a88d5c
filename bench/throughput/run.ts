/**
 * Throughput of validator reads and committing writes against a bare Fetch
 * handler and express-session (MemoryStore; connect-redis; connect-pg-simple),
 * same workload, each server in its own process, alternating order, several
 * rounds, and PASS/FAIL per goal of issue 24 over the median of the rounds:
 *
 *   npm run bench:throughput
 *   BENCH_QUICK=1 npm run bench:throughput    # one round of 1 s each: checks that it runs, measures nothing
 *   BENCH_ROUNDS=5 BENCH_SECONDS=8 BENCH_ONLY=lanes-memory,express-memory npm run bench:throughput
 *   BENCH_CPU_PROF=/tmp/prof npm run bench:throughput   # node --cpu-prof for every server
 *   BENCH_BASELINE_SRC=/tmp/old/src BENCH_ONLY=baseline-memory,lanes-memory,express-memory npm run bench:throughput
 *
 * 16 connections, one session per connection. Every write carries a fresh
 * Idempotency-Key, and after each run every session's counter must have
 * grown by exactly its 2xx count (the run fails otherwise). The machine may
 * be shared: compare the ratios of one run, not absolute figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { deleteRedisPrefix } from '../redis-cleanup.js';
import { counterOf, createSession, load, type Flavour, type LoadResult, type Workload } from './load.js';
import type { ServerKind } from './servers.js';

const CONNECTIONS = 16;
const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 3));
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN_ID = randomBytes(5).toString('hex');
const PREFIX = `bench-throughput-${RUN_ID}:`;
const PG_PREFIX = `bench_throughput_${RUN_ID}_`;
const ALL: ServerKind[] = ['bare', 'lanes-memory', 'express-memory', 'lanes-redis', 'express-redis', 'lanes-postgres', 'express-postgres'];
const KINDS = process.env.BENCH_ONLY ? (process.env.BENCH_ONLY.split(',') as ServerKind[]) : ALL;
const WORKLOADS: Workload[] = process.env.BENCH_WORKLOADS ? (process.env.BENCH_WORKLOADS.split(',') as Workload[]) : ['write', 'read'];

const flavourOf = (kind: ServerKind): Flavour => (kind === 'bare' ? 'bare' : kind.startsWith('lanes') || kind.startsWith('baseline') ? 'lanes' : 'express');

async function start(kind: ServerKind): Promise<{ child: ChildProcess; port: number }> {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/throughput/servers.ts', kind], {
    env: { ...process.env, BENCH_REDIS_URL: REDIS_URL, BENCH_REDIS_PREFIX: PREFIX, BENCH_POSTGRES_URL: POSTGRES_URL, BENCH_PG_PREFIX: PG_PREFIX },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code}) before listening`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Running {
  kind: ServerKind;
  child: ChildProcess;
  port: number;
  cookies: (string | null)[];
  /** The counters after the warm-up, and the 2xx writes acknowledged since, per session. */
  start: number[];
  acknowledged: number[];
  /** req/s of the warm-up, to size the first round's runs. */
  warmRates: Map<Workload, number>;
}

/** Starts a server, makes its sessions and warms it up (JIT, pools) with a second of each workload. */
async function prepare(kind: ServerKind): Promise<Running> {
  const { child, port } = await start(kind);
  const flavour = flavourOf(kind);
  const cookies = await Promise.all(Array.from({ length: CONNECTIONS }, () => createSession(port, flavour)));
  const warmRates = new Map<Workload, number>();
  for (const workload of WORKLOADS) warmRates.set(workload, (await load({ port, flavour, workload, cookies, durationSeconds: 1 })).requestsPerSecond);
  await pause(300); // let the warm-up's last requests finish on the server before the counters are read
  const start_ = await Promise.all(cookies.map((cookie) => counterOf(port, flavour, cookie)));
  return { kind, child, port, cookies, start: start_, acknowledged: cookies.map(() => 0), warmRates };
}

/** One measured run of `amount` requests; every session's counter must have grown by its 2xx writes. */
async function measure(server: Running, workload: Workload, amount: number): Promise<Measured> {
  const { kind, port, cookies } = server;
  const flavour = flavourOf(kind);
  const cpuBefore = await cpuOf(server.child);
  const loaded = await load({ port, flavour, workload, cookies, amount });
  const result = { ...loaded, cpuMicrosPerRequest: ((await cpuOf(server.child)) - cpuBefore) / loaded.requests };
  if (result.notOk > 0 || result.errors > 0) throw new Error(`${kind} ${workload}: ${result.notOk} answers were not 2xx, ${result.errors} errors`);
  if (result.replayed > 0) throw new Error(`${kind} ${workload}: ${result.replayed} answers were replays; every write must be new`);
  if (workload === 'write') result.okPerSession.forEach((ok, i) => (server.acknowledged[i]! += ok));
  if (flavour !== 'bare') {
    const now = await Promise.all(cookies.map((cookie) => counterOf(port, flavour, cookie)));
    now.forEach((counter, i) => {
      const grew = counter - server.start[i]!;
      if (grew !== server.acknowledged[i]) throw new Error(`${kind}: session ${i}'s counter grew by ${grew}, but ${server.acknowledged[i]} writes were acknowledged`);
    });
  }
  return result;
}

interface Measured extends LoadResult {
  /** The server process's CPU time (user + system) per request. */
  cpuMicrosPerRequest: number;
}

function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve((message as { cpuMicros: number }).cpuMicros));
    child.send('cpu');
  });
}

type Figures = Map<string, Measured[]>;
const label = (kind: ServerKind, workload: Workload) => `${kind} ${workload}`;

/** A round measures every server on both workloads, in alternating order, for about SECONDS each. */
async function round(index: number, servers: Running[], rates: Map<string, number>, figures: Figures): Promise<void> {
  const order = index % 2 === 0 ? servers : [...servers].reverse();
  const workloads = index % 2 === 0 ? WORKLOADS : [...WORKLOADS].reverse();
  for (const workload of workloads) {
    for (const server of order) {
      const key = label(server.kind, workload);
      const amount = Math.max(CONNECTIONS * 20, Math.round(((rates.get(key) ?? server.warmRates.get(workload)!) * SECONDS) / CONNECTIONS) * CONNECTIONS);
      const result = await measure(server, workload, amount);
      rates.set(key, result.requestsPerSecond);
      figures.set(key, [...(figures.get(key) ?? []), result]);
      console.log(`  round ${index + 1}  ${key.padEnd(22)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p99 ${String(result.p99Ms).padStart(3)} ms  server CPU ${result.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs/req  (${result.requests} requests, counters checked)`);
    }
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function report(figures: Figures): void {
  const rate = (kind: ServerKind, workload: Workload) => median((figures.get(label(kind, workload)) ?? []).map((r) => r.requestsPerSecond));
  const p99 = (kind: ServerKind, workload: Workload) => median((figures.get(label(kind, workload)) ?? []).map((r) => r.p99Ms));
  const cpu = (kind: ServerKind, workload: Workload) => median((figures.get(label(kind, workload)) ?? []).map((r) => r.cpuMicrosPerRequest));
  const has = (kind: ServerKind) => KINDS.includes(kind);
  console.log(`\nmedians of ${ROUNDS} rounds (${CONNECTIONS} connections, one session each):`);
  console.log('| | req/s | p99 | server CPU per request |\n| --- | --- | --- | --- |');
  for (const kind of KINDS) for (const workload of WORKLOADS) console.log(`| ${label(kind, workload)} | ${rate(kind, workload).toFixed(0)} | ${p99(kind, workload)} ms | ${cpu(kind, workload).toFixed(0)} µs |`);
  console.log('\nratios (per round, then the median of the rounds):');
  const ratio = (a: ServerKind, b: ServerKind, workload: Workload) => {
    if (!has(a) || !has(b)) return;
    const ours = figures.get(label(a, workload)) ?? [];
    const theirs = figures.get(label(b, workload)) ?? [];
    const perRound = ours.map((r, i) => r.requestsPerSecond / theirs[i]!.requestsPerSecond);
    const cpuRatio = median(ours.map((r, i) => theirs[i]!.cpuMicrosPerRequest / r.cpuMicrosPerRequest));
    console.log(`  ${label(a, workload).padEnd(20)} / ${b.padEnd(15)} req/s ${perRound.map((x) => x.toFixed(2)).join('  ')}   median ${median(perRound).toFixed(2)}×   (CPU per request: ${cpuRatio.toFixed(2)}× as cheap)`);
  };
  for (const workload of WORKLOADS) {
    ratio('lanes-memory', 'express-memory', workload);
    ratio('lanes-redis', 'express-redis', workload);
    ratio('lanes-postgres', 'express-postgres', workload);
    ratio('lanes-memory', 'bare', workload);
    ratio('lanes-redis', 'bare', workload);
    ratio('lanes-memory', 'baseline-memory', workload);
    ratio('lanes-redis', 'baseline-redis', workload);
  }
  goals(figures);
}

/** Issue 24's goals: the median over the rounds of each round's req/s ratio (both figures of a ratio come from the same round). */
const GOALS: { ours: ServerKind; theirs: ServerKind; workload: Workload; atLeast: number }[] = [
  { ours: 'lanes-memory', theirs: 'express-memory', workload: 'write', atLeast: 1.5 },
  { ours: 'lanes-redis', theirs: 'express-redis', workload: 'write', atLeast: 1.5 },
  { ours: 'lanes-postgres', theirs: 'express-postgres', workload: 'write', atLeast: 1.5 },
  { ours: 'lanes-memory', theirs: 'bare', workload: 'read', atLeast: 0.85 },
  { ours: 'lanes-redis', theirs: 'bare', workload: 'read', atLeast: 0.75 },
];

function goals(figures: Figures): void {
  console.log(`\ngoals (issue 24), median of ${ROUNDS} rounds${QUICK ? ' (BENCH_QUICK: one short round, not a measurement)' : ''}:`);
  for (const { ours, theirs, workload, atLeast } of GOALS) {
    const a = figures.get(label(ours, workload));
    const b = figures.get(label(theirs, workload));
    const name = `${label(ours, workload)} ≥ ${atLeast}× ${theirs}`;
    if (!a || !b) {
      console.log(`  SKIP  ${name} (not measured in this run)`);
      continue;
    }
    const ratio = median(a.map((r, i) => r.requestsPerSecond / b[i]!.requestsPerSecond));
    console.log(`  ${ratio >= atLeast ? 'PASS' : 'FAIL'}  ${name.padEnd(48)} ${ratio.toFixed(2)}×`);
  }
}

/** Drops the tables this run's PostgreSQL servers made. */
async function dropPostgresTables(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
    const { rows } = await client.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE tablename LIKE $1`, [`${PG_PREFIX}%`]);
    for (const { tablename } of rows) await client.query(`DROP TABLE IF EXISTS "${tablename}" CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
}

console.log(`throughput, ${ROUNDS} rounds of ~${SECONDS} s per server and workload (Node ${process.version}); servers: ${KINDS.join(', ')}`);
const figures: Figures = new Map();
const servers: Running[] = [];
try {
  // Every server in its own process, all started first, so that one round compares them under the same machine load.
  for (const kind of KINDS) servers.push(await prepare(kind));
  const rates = new Map<string, number>();
  for (let i = 0; i < ROUNDS; i++) await round(i, servers, rates, figures);
  report(figures);
} finally {
  await Promise.all(servers.map((server) => stop(server.child)));
  await deleteRedisPrefix(REDIS_URL, PREFIX);
  if (KINDS.some((kind) => kind.endsWith('postgres'))) await dropPostgresTables();
}
