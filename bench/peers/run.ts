/**
 * Lost updates and parallelism of session-lanes against the way popular
 * frameworks keep sessions, the real packages where they are on npm, in one
 * run (see peers.ts for each implementation):
 *
 *   npm run bench:peers            # BENCH_REPEAT=5 for more repetitions
 *
 * Four workloads, each repeated (ranges are min–max over the repetitions):
 *   1. 30 concurrent writes to distinct keys, 200 ms handlers: how many
 *      acknowledged values are missing afterwards, and the makespan;
 *   2. 100 concurrent increments of one key (10 ms handlers): the final value;
 *   3. the Rails seed: a long request (1 s) and a short one that sets `short`
 *      while it runs: is `short` still set after `long` ends?
 *   4. 8 requests on distinct keys, 300 ms each: the makespan against naive.
 * Every server is in this process on 127.0.0.1; handlers sleep rather than
 * compute, so the machine's load hardly moves the figures.
 */
import { expressSessionPeer, sessionLanesPeer, wholeSessionPeer, type Peer } from './peers.js';

const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DISTINCT = Array.from({ length: 30 }, (_, i) => `k${i}`);
const PARALLEL = Array.from({ length: 8 }, (_, i) => `p${i}`);
const ALL_KEYS = [...DISTINCT, ...PARALLEL, 'counter', 'long', 'short', 'login'];

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

/** A browser with a session already made, as a logged-in user's is. */
async function loggedIn(peer: Peer) {
  const browser = peer.browser();
  const login = await browser.set('login', true, 0);
  await login.text();
  return browser;
}

async function ok(response: Promise<Response>): Promise<boolean> {
  const answer = await response;
  await answer.text();
  return answer.ok;
}

async function distinctWrites(peer: Peer) {
  const browser = await loggedIn(peer);
  const { result: acknowledged, ms } = await timed(() => Promise.all(DISTINCT.map((key, i) => ok(browser.set(key, i, 200)))));
  const values = await browser.get(DISTINCT);
  const missing = DISTINCT.filter((key, i) => acknowledged[i] && values[key] !== i).length;
  return { missing, ms };
}

async function increments(peer: Peer) {
  const browser = await loggedIn(peer);
  const before = peer.conflicts();
  const acknowledged = (await Promise.all(Array.from({ length: 100 }, () => ok(browser.increment('counter', 10))))).filter(Boolean).length;
  const values = await browser.get(['counter']);
  return { final: values.counter as number, acknowledged, conflicts: peer.conflicts() - before };
}

async function railsSeed(peer: Peer) {
  const browser = await loggedIn(peer);
  const long = ok(browser.set('long', 'done', 1_000));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await ok(browser.set('short', 'set', 0));
  await long;
  const values = await browser.get(['long', 'short']);
  return values.short === 'set' && values.long === 'done';
}

async function parallel(peer: Peer) {
  const browser = await loggedIn(peer);
  const { ms } = await timed(() => Promise.all(PARALLEL.map((key, i) => ok(browser.set(key, i, 300)))));
  return ms;
}

const range = (values: number[], format = (n: number) => String(n)) => {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? format(low) : `${format(low)}–${format(high)}`;
};

interface Figures {
  missing: number[];
  distinctMs: number[];
  finals: number[];
  conflicts: number[];
  seed: boolean[];
  parallelMs: number[];
}

const empty = (): Figures => ({ missing: [], distinctMs: [], finals: [], conflicts: [], seed: [], parallelMs: [] });

/** Each repetition runs every workload on every peer in turn (alternating the order), so that a drift in the machine's load hits all alike. */
async function measureAll(peers: Peer[]): Promise<Figures[]> {
  const figures = peers.map(empty);
  for (let i = 0; i < REPEAT; i++) {
    const order = peers.map((_, index) => index);
    if (i % 2 === 1) order.reverse();
    for (const index of order) {
      const peer = peers[index]!;
      const into = figures[index]!;
      const distinct = await distinctWrites(peer);
      into.missing.push(distinct.missing);
      into.distinctMs.push(distinct.ms);
    }
    for (const index of order) {
      const counted = await increments(peers[index]!);
      figures[index]!.finals.push(counted.final);
      figures[index]!.conflicts.push(counted.conflicts);
    }
    for (const index of order) figures[index]!.seed.push(await railsSeed(peers[index]!));
    for (const index of order) figures[index]!.parallelMs.push(await parallel(peers[index]!));
    console.log(`  repetition ${i + 1} of ${REPEAT} done`);
  }
  return figures;
}

const peers = [
  await expressSessionPeer('memory', REDIS_URL),
  await expressSessionPeer('redis', REDIS_URL),
  await wholeSessionPeer(true),
  await wholeSessionPeer(false),
  await sessionLanesPeer(ALL_KEYS),
];
console.log(`peers: ${REPEAT} repetitions of each workload (Node ${process.version})`);
let results: { name: string; figures: Figures }[];
try {
  results = (await measureAll(peers)).map((figures, i) => ({ name: peers[i]!.name, figures }));
} finally {
  await Promise.all(peers.map((peer) => peer.close()));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const naive = results.find((r) => r.name.startsWith('naive'))!.figures;
const naiveMs = (values: number[], of: number[]) => values.map((ms, i) => ms / of[i]!);
const ms = (n: number) => `${Math.round(n)} ms`;
const times = (n: number) => `${n.toFixed(2)}×`;
console.log(`\n| workload | ${results.map((r) => r.name).join(' | ')} |`);
console.log(`| --- |${results.map(() => ' --- |').join('')}`);
console.log(`| 30 concurrent writes to distinct keys, 200 ms: acknowledged values missing (makespan) | ${results.map((r) => `${range(r.figures.missing)} of 30 (${range(r.figures.distinctMs, ms)})`).join(' | ')} |`);
console.log(`| 100 concurrent increments of one key: final value | ${results.map((r) => `${range(r.figures.finals)}${r.name.startsWith('session-lanes') ? `, ${range(r.figures.conflicts)} 412s` : ''}`).join(' | ')} |`);
console.log(`| Rails seed: \`short\` still set after \`long\` ends | ${results.map((r) => (r.figures.seed.every(Boolean) ? 'yes' : r.figures.seed.some(Boolean) ? 'sometimes' : 'no')).join(' | ')} |`);
console.log(`| 8 requests on distinct keys, 300 ms each: makespan against naive (median, range) | ${results.map((r) => `${times(median(naiveMs(r.figures.parallelMs, naive.parallelMs)))} (${range(naiveMs(r.figures.parallelMs, naive.parallelMs), times)})`).join(' | ')} |`);

const lanes = results.find((r) => r.name.startsWith('session-lanes'))!.figures;
const lost = lanes.missing.reduce((a, b) => a + b, 0) + lanes.finals.filter((n) => n !== 100).length + lanes.seed.filter((s) => !s).length;
const parallelRatio = median(naiveMs(lanes.parallelMs, naive.parallelMs));
const distinctRatio = median(naiveMs(lanes.distinctMs, naive.distinctMs));
console.log(`\nsession-lanes: ${lost} lost updates; makespan against naive (median of the repetitions): ${times(parallelRatio)} on 8 × 300 ms, ${times(distinctRatio)} on 30 × 200 ms (goal: 0 lost, at most 1.10×)`);
if (lost > 0) process.exitCode = 1;
