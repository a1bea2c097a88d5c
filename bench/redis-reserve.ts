/**
 * What the reserve's checks (issue 20 §3) cost per write on Redis: one
 * established session's write (begin with a claim, then a commit), as the
 * validator makes it, through the store interface, on a private Redis
 * (maxmemory 1gb, never reached). Four stores, in interleaved rounds (every
 * other one backwards) so that a loaded machine slows them alike:
 *   - baseline: redisStore as it was before the reserve (its source taken
 *     from git, `BENCH_BASELINE`, default the merge base with main);
 *   - within its allowance: the usual case (the account is read and written,
 *     Redis's memory is not);
 *   - past its allowance, below the share: every call also reads INFO memory;
 *   - a refusal above the share (share 0.001): what the flood's request costs.
 * Printed: the round trip (µs per write, from Node) and the server's own
 * script time (µs per EVALSHA, from INFO commandstats).
 *
 *   npx tsx bench/redis-reserve.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisStore } from '../src/server/stores/redis.js';
import type { SessionStore } from '../src/server/store.js';
import { startRedis } from '../test/support/private-servers.js';

const WRITES = Number(process.env.BENCH_WRITES ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** The pre-reserve redisStore, from git, in a scratch folder under bench/ (so that ioredis resolves). */
async function baselineStore(): Promise<{ redisStore: typeof redisStore; cleanup: () => void; commit: string }> {
  const commit = process.env.BENCH_BASELINE ?? execFileSync('git', ['merge-base', 'HEAD', 'main'], { cwd: root }).toString().trim();
  const dir = join(here, `.baseline-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  for (const file of ['redis.ts', 'redis-scripts.ts', 'redis-slots.ts']) {
    const source = execFileSync('git', ['show', `${commit}:src/server/stores/${file}`], { cwd: root }).toString();
    writeFileSync(join(dir, file), source.replaceAll("'../store.js'", `'${join(root, 'src/server/store.js')}'`));
  }
  const module = (await import(join(dir, 'redis.ts'))) as { redisStore: typeof redisStore };
  return { redisStore: module.redisStore, cleanup: () => rmSync(dir, { recursive: true, force: true }), commit: commit.slice(0, 7) };
}

let serial = 0;
const id = (what: string) => `${what}-${process.pid}-${serial++}-bench-session-id-pad`;

let lastSession = '';

/** A session made for the case, then `WRITES` writes to it; µs per write. */
async function writes(store: SessionStore, refusedExpected: boolean): Promise<number> {
  const now = Date.now();
  const sessionId = id('s');
  lastSession = sessionId;
  let version = 0;
  const writeOnce = async (mode: 'create' | 'existing') => {
    const claim = { key: id('k'), fingerprint: 'f'.repeat(43), leaseMs: 60_000, token: id('t') };
    const begun = await store.begin({ sessionId, keys: ['cart'], claim, now });
    if (begun.claim?.status !== 'claimed') throw new Error(`not claimed: ${JSON.stringify(begun.claim)}`);
    const result = await store.commit({
      sessionId,
      session: { mode, epoch: 'epoch' },
      expect: new Map([['cart', version]]),
      changes: new Map([['cart', JSON.stringify(['tea', 'jam', version])]]),
      destroy: false,
      record: { key: claim.key, fingerprint: claim.fingerprint, answer: JSON.stringify({ status: 200, body: 'x'.repeat(200) }), state: 'done', retentionMs: 172_800_000, leaseMs: 60_000, token: claim.token },
      idleTtlMs: 1_209_600_000,
      now,
    });
    if (result.status !== 'committed') throw new Error(`not committed: ${result.status}`);
    version = result.versions.get('cart')!;
  };
  if (!refusedExpected) await writeOnce('create');
  const start = process.hrtime.bigint();
  for (let n = 0; n < WRITES; n++) {
    if (refusedExpected) {
      const refused = await writeOnce('create').then(() => false, () => true);
      if (!refused) throw new Error('expected a refusal above the share');
    } else {
      await writeOnce('existing');
    }
  }
  return Number(process.hrtime.bigint() - start) / 1000 / WRITES;
}

const redis = await startRedis(['--maxmemory', '1gb', '--maxmemory-policy', 'noeviction']);
const baseline = await baselineStore();
try {
  const cases: { label: string; prefix: string; store: SessionStore; refused?: boolean }[] = [
    { label: `baseline (before the reserve, ${baseline.commit})`, prefix: 'base:', store: baseline.redisStore({ url: redis.url, prefix: 'base:' }) },
    // An allowance the case's writes stay within (the default's 256 records would be passed after 256).
    { label: 'within its allowance', prefix: 'within:', store: redisStore({ url: redis.url, prefix: 'within:', allowance: { records: 1_000_000, bytes: 2 ** 40 } }) },
    { label: 'past its allowance, below the share (INFO read)', prefix: 'past:', store: redisStore({ url: redis.url, prefix: 'past:', allowance: { records: 1, bytes: 1 } }) },
    { label: 'a new session refused above the share (begin)', prefix: 'full:', store: redisStore({ url: redis.url, prefix: 'full:', newSessionMemoryShare: 0.001 }), refused: true },
  ];
  const roundTrip = cases.map(() => [] as number[]);
  const metaBytes = cases.map(() => 0);
  const script = cases.map(() => [] as number[]);
  // Round 0 warms up (JIT, script cache, connections) and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    // Odd rounds run the cases backwards: a load that rises or falls during a round favours no case.
    const order = [...cases.entries()];
    if (round % 2 === 1) order.reverse();
    for (const [index, { store, refused }] of order) {
      if (round === 0) {
        await writes(store, refused === true);
        continue;
      }
      await redis.admin.config('RESETSTAT');
      roundTrip[index]!.push(await writes(store, refused === true));
      // What the session's meta hash (epoch, expiry and, now, the account) takes.
      metaBytes[index] = Number(await redis.admin.memory('USAGE', `${cases[index]!.prefix}{${lastSession}}:s`)) || 0;
      const stats = await redis.admin.info('commandstats');
      const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(stats);
      script[index]!.push(evalsha ? Number(evalsha[2]) / Number(evalsha[1]) : NaN);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const base = { trip: median(roundTrip[0]!), script: median(script[0]!) };
  console.log(`${WRITES} writes × ${ROUNDS} rounds per case (medians); a write = begin with a claim + commit, one session`);
  console.log(`${'case'.padEnd(50)} ${'µs/write'.padStart(9)} ${'× base'.padStart(7)} ${'µs/script'.padStart(10)} ${'× base'.padStart(7)} ${'meta B'.padStart(7)}`);
  for (const [index, { label }] of cases.entries()) {
    const trip = median(roundTrip[index]!);
    const server = median(script[index]!);
    console.log(`${label.padEnd(50)} ${trip.toFixed(1).padStart(9)} ${(trip / base.trip).toFixed(2).padStart(7)} ${server.toFixed(1).padStart(10)} ${(server / base.script).toFixed(2).padStart(7)} ${String(metaBytes[index] || '-').padStart(7)}`);
  }
  for (const { store } of cases) await store.close();
} finally {
  baseline.cleanup();
  await redis.stop();
}
