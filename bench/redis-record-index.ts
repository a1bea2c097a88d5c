/**
 * What the per-session record index (P{S}:ri, redis-scripts.ts) costs per
 * write on Redis, measured: one established session's write (begin with a
 * claim, then a commit of one value and a 200-byte answer), through the
 * store interface as the validator makes it, by two stores in the same run
 * against the same Redis:
 *   - with the index: redisStore as it is;
 *   - without it: the same redisStore, its scripts with the index lines taken
 *     out (begin's prune_index, SADD, PTTL/PEXPIRE; commit's SADD,
 *     PTTL/PEXPIRE), so that only the index work differs. Rotation (which
 *     moves records through the index) is not exercised: no write here rotates.
 * In each round the two stores take turns every BLOCK writes (50), each on a
 * session of its own made for the round, so that a load that comes and goes
 * on a shared machine slows both alike; round 0 warms up and is not counted. Printed per round and as
 * medians of the rounds' figures: the round trip per write from Node, and
 * Redis's own script time per write (INFO commandstats deltas of EVALSHA),
 * then what the index costs as a share of each.
 *
 *   npx tsx bench/redis-record-index.ts              # a private redis-server (needs redis-server on PATH)
 *   BENCH_REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/redis-record-index.ts   # a Redis of yours (its other
 *                                                    # clients' scripts then count into the script time)
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import type { SessionStore } from '../src/server/store.js';
import { redisStore } from '../src/server/stores/redis.js';
import { BEGIN_WRITE, COMMIT } from '../src/server/stores/redis-scripts.js';
import { startRedis, type PrivateRedis } from '../test/support/private-servers.js';

const WRITES = Number(process.env.BENCH_WRITES ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11);
/** Writes a store makes before the other takes its turn. */
const BLOCK = Number(process.env.BENCH_BLOCK ?? 50);
/** The bar: an index costing more than this share of a write is to be made cheaper. */
const GOAL_SHARE = 0.05;

/** The index's lines of each write script; each must be found exactly once, so that a changed script fails this bench loudly. */
const INDEX_LINES = new Map<string, readonly string[]>([
  [
    BEGIN_WRITE,
    [
      '  if acc then prune_index(acc) end\n',
      "  redis.call('SADD', KEYS[5], record_name(KEYS[4]))\n",
      "  if redis.call('PTTL', KEYS[5]) < tonumber(lease_ms) then redis.call('PEXPIRE', KEYS[5], lease_ms) end\n",
    ],
  ],
  [COMMIT, ["  redis.call('SADD', index, record_name(KEYS[4]))\n", "  if redis.call('PTTL', index) < tonumber(ARGV[13]) then redis.call('PEXPIRE', index, ARGV[13]) end\n"]],
]);

function withoutIndex(lua: string): string {
  const lines = INDEX_LINES.get(lua);
  if (!lines) return lua;
  let stripped = lua;
  for (const line of lines) {
    const count = stripped.split(line).length - 1;
    if (count !== 1) throw new Error(`bench/redis-record-index.ts: the index line ${JSON.stringify(line.trim())} is in its script ${count} times, not once: update INDEX_LINES`);
    stripped = stripped.replace(line, '');
  }
  return stripped;
}

/** A client whose scripts are defined without the index lines (redisStore defines its scripts on the client it is given). */
function clientWithoutIndex(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false });
  const define = client.defineCommand.bind(client);
  let stripped = 0;
  client.defineCommand = (name, definition) => {
    if (INDEX_LINES.has(definition.lua)) stripped++;
    define(name, { ...definition, lua: withoutIndex(definition.lua) });
  };
  queueMicrotask(() => {
    if (stripped !== INDEX_LINES.size) throw new Error(`bench/redis-record-index.ts: ${stripped} of ${INDEX_LINES.size} write scripts were stripped`);
  });
  return client;
}

/** Ids as the validator makes them: a 43-character session id, a 36-character Idempotency-Key, a 22-character token. */
const b64 = (bytes: number) => randomBytes(bytes).toString('base64url');

/** One established session of a store, and its next write (begin with a claim, then a commit). */
async function session(store: SessionStore): Promise<() => Promise<void>> {
  const now = Date.now();
  const sessionId = b64(32);
  let version = 0;
  const writeOnce = async (mode: 'create' | 'existing') => {
    const claim = { key: crypto.randomUUID(), fingerprint: b64(32), leaseMs: 60_000, token: b64(16) };
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
  await writeOnce('create');
  return () => writeOnce('existing');
}

/** Calls and µs of each command so far (INFO commandstats; a script's inner calls are counted under their own names). */
async function commandStats(admin: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of (await admin.info('commandstats')).matchAll(/cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/g)) {
    stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const own: PrivateRedis | null = process.env.BENCH_REDIS_URL ? null : await startRedis(['--maxmemory', '1gb', '--maxmemory-policy', 'noeviction']);
const url = process.env.BENCH_REDIS_URL ?? own!.url;
const admin = own?.admin ?? new Redis(url);
const prefix = `sl-bench-ri-${b64(4)}:`;
// An allowance the round's writes stay within (past it every call would read INFO memory, in both stores alike).
const allowance = { records: 1_000_000, bytes: 2 ** 40 };
const stripped = clientWithoutIndex(url);
const cases = [
  { label: 'with the index (as shipped)', store: redisStore({ url, prefix: `${prefix}with:`, allowance }) },
  { label: 'without the index lines', store: redisStore({ client: stripped, prefix: `${prefix}without:`, allowance }) },
];
try {
  const trip = cases.map(() => [] as number[]);
  const script = cases.map(() => [] as number[]);
  /** The index's own commands per write in the "with" store, from commandstats (µs). */
  const indexCommands: number[] = [];
  const INDEX_COMMANDS = ['sadd', 'scard', 'pttl', 'srandmember', 'srem'];
  for (let round = 0; round <= ROUNDS; round++) {
    // A fresh session per store and round; the two stores take turns every BLOCK writes (each turn's first one
    // alternating), so that a load that comes and goes on a shared machine falls on both alike.
    const writers = await Promise.all(cases.map(({ store }) => session(store)));
    const micros = cases.map(() => 0);
    const redisMicros = cases.map(() => 0);
    let indexMicros = 0;
    for (let block = 0; block < WRITES / BLOCK; block++) {
      const order = block % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        const before = await commandStats(admin);
        const start = process.hrtime.bigint();
        for (let n = 0; n < BLOCK; n++) await writers[index]!();
        micros[index]! += Number(process.hrtime.bigint() - start) / 1000;
        const after = await commandStats(admin);
        const delta = (name: string) => (after.get(name)?.usec ?? 0) - (before.get(name)?.usec ?? 0);
        // ioredis sends a script by EVAL the first time on a connection, by EVALSHA after.
        redisMicros[index]! += delta('evalsha') + delta('eval');
        if (index === 0) indexMicros += INDEX_COMMANDS.reduce((sum, name) => sum + delta(name), 0);
      }
    }
    // Round 0 warms up (JIT, script cache, connections) and is not counted.
    if (round === 0) continue;
    for (const index of cases.keys()) {
      trip[index]!.push(micros[index]! / WRITES);
      script[index]!.push(redisMicros[index]! / WRITES);
    }
    indexCommands.push(indexMicros / WRITES);
    const at = round - 1;
    console.log(
      `round ${String(round).padStart(2)}: with ${trip[0]![at]!.toFixed(1)} µs/write (${script[0]![at]!.toFixed(1)} µs Redis), ` +
        `without ${trip[1]![at]!.toFixed(1)} µs/write (${script[1]![at]!.toFixed(1)} µs Redis); with/without ${(trip[0]![at]! / trip[1]![at]!).toFixed(3)} / ${(script[0]![at]! / script[1]![at]!).toFixed(3)}`,
    );
  }
  const tripRatio = median(trip[0]!.map((value, i) => value / trip[1]![i]!));
  const scriptRatio = median(script[0]!.map((value, i) => value / script[1]![i]!));
  const scriptCost = median(script[0]!.map((value, i) => value - script[1]![i]!));
  const tripWith = median(trip[0]!);
  console.log(`\n${WRITES} writes × ${ROUNDS} rounds per store (medians); a write = begin with a claim + commit, one established session`);
  console.log(`${'store'.padEnd(30)} ${'µs/write'.padStart(9)} ${'µs Redis/write'.padStart(15)}`);
  for (const [index, { label }] of cases.entries()) console.log(`${label.padEnd(30)} ${median(trip[index]!).toFixed(1).padStart(9)} ${median(script[index]!).toFixed(1).padStart(15)}`);
  console.log(`\nwith / without, median of the rounds' ratios: round trip ${tripRatio.toFixed(3)}×, Redis script time ${scriptRatio.toFixed(3)}×`);
  console.log(`the index's own commands alone (SADD, SCARD, PTTL, SRANDMEMBER, SREM; its PEXPIRE is not told apart from the session's): ${median(indexCommands).toFixed(1)} µs per write`);
  const share = scriptCost / tripWith;
  console.log(`the index per write: ${scriptCost.toFixed(1)} µs of Redis time = ${((1 - 1 / scriptRatio) * 100).toFixed(1)} % of the scripts' time, ${(share * 100).toFixed(1)} % of the write's ${tripWith.toFixed(1)} µs round trip`);
  console.log(`${share > GOAL_SHARE ? 'ABOVE' : 'BELOW'}  the index ≤ ${GOAL_SHARE * 100} % of a write (its Redis time over the write's round trip)   ${(share * 100).toFixed(1)} %`);
} finally {
  for (const { store } of cases) await store.close();
  // The "without" store was given its client: close() leaves it open.
  stripped.disconnect();
  if (own) await own.stop();
  else {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    admin.disconnect();
  }
}
