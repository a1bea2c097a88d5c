/**
 * Bytes per session and per idempotency record on each store: 10,000
 * sessions, each holding one 32-byte string and one 200-byte recorded answer,
 * written through the store interface as the validator writes them.
 * - memory: heap delta (after gc) per session, against a baseline measured in
 *   the same run: the same bytes in a bare Map (id -> value, key -> answer);
 * - Redis: MEMORY USAGE of every key of a session (when Redis is reachable);
 * - PostgreSQL: total relation size of the three tables (when reachable).
 *
 *   node --expose-gc --import tsx bench/store-footprint.ts
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { memoryStore } from '../src/server/stores/memory.js';
import { postgresStore } from '../src/server/stores/postgres.js';
import { redisStore } from '../src/server/stores/redis.js';
import type { SessionStore } from '../src/server/store.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 10_000);
const REDIS_URL = process.env.SESSION_LANES_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.SESSION_LANES_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/store-footprint.ts (npm run bench does)');

const NOW = Date.now();

/**
 * What one session is made of: the id the validator issues, an Idempotency-Key, a fingerprint, a 32-byte
 * value (canonical JSON) and a 200-byte answer — each a string of its own, as in a real server (a shared
 * string would be counted once).
 */
function sessionParts(i: number) {
  return {
    id: randomBytes(32).toString('base64url'), // 43 characters, as the validator issues
    key: randomBytes(18).toString('base64url'), // 24 characters, as a client's key; not randomUUID(), whose strings cost ~500 B of heap each in Node 20
    fingerprint: randomBytes(32).toString('hex'),
    value: JSON.stringify(randomBytes(15).toString('hex')),
    answer: randomBytes(100).toString('hex'),
    i,
  };
}

/** One creating write, as the validator makes it: begin with a claim, commit the change and the record. */
async function createSession(store: SessionStore, parts: ReturnType<typeof sessionParts>): Promise<void> {
  const token = randomBytes(16).toString('base64url');
  await store.begin({ sessionId: parts.id, keys: ['value'], now: NOW, claim: { key: parts.key, fingerprint: parts.fingerprint, leaseMs: 60_000, token } });
  const result = await store.commit({
    sessionId: parts.id,
    session: { mode: 'create', epoch: randomBytes(12).toString('base64url') },
    expect: new Map([['value', 0]]),
    changes: new Map([['value', parts.value]]),
    destroy: false,
    record: { key: parts.key, fingerprint: parts.fingerprint, answer: parts.answer, state: 'done', retentionMs: 172_800_000, leaseMs: 60_000, token },
    idleTtlMs: 1_209_600_000,
    now: NOW,
  });
  if (result.status !== 'committed') throw new Error(`commit: ${result.status}`);
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function measureMemory(): Promise<{ store: number; baseline: number }> {
  // Baseline: the same strings (made inside the measure, as the store's are), in the barest structure that answers a lookup.
  let before = heapUsed();
  const bare = new Map<string, string>();
  for (let i = 0; i < SESSIONS; i++) {
    const p = sessionParts(i);
    bare.set(p.id, p.value);
    bare.set(p.key, p.fingerprint + p.answer);
  }
  const baseline = (heapUsed() - before) / SESSIONS;
  bare.clear();

  before = heapUsed();
  const store = memoryStore();
  for (let i = 0; i < SESSIONS; i++) await createSession(store, sessionParts(i));
  const bytes = (heapUsed() - before) / SESSIONS;
  await store.close();
  return { store: bytes, baseline };
}

async function measureRedis(): Promise<number | string> {
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  admin.on('error', () => {});
  try {
    await admin.connect();
  } catch (error) {
    return `not reachable (${(error as Error).message})`;
  }
  const prefix = `sl-bench-${randomBytes(4).toString('hex')}:`;
  const store = redisStore({ url: REDIS_URL, prefix });
  try {
    const sample = Math.min(SESSIONS, 2_000);
    for (let i = 0; i < sample; i++) await createSession(store, sessionParts(i));
    let total = 0;
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) total += Number(await admin.memory('USAGE', key, 'SAMPLES', 0));
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    return total / sample;
  } finally {
    await store.close();
    admin.disconnect();
  }
}

async function measurePostgres(): Promise<number | string> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await admin.connect();
  } catch (error) {
    return `not reachable (${(error as Error).message})`;
  }
  const prefix = `sl_bench_${randomBytes(4).toString('hex')}_`;
  const store = postgresStore({ connectionString: POSTGRES_URL, tablePrefix: prefix });
  const tables = ['sessions', 'entries', 'records'].map((t) => `"${prefix}${t}"`);
  const size = async () => {
    let bytes = 0;
    for (const table of tables) bytes += Number((await admin.query(`SELECT pg_total_relation_size($1) AS size`, [table])).rows[0].size);
    return bytes;
  };
  try {
    await createSession(store, sessionParts(-1)); // creates the tables
    await admin.query(`VACUUM ${tables.join(', ')}`);
    const before = await size();
    const sample = Math.min(SESSIONS, 5_000);
    for (let i = 0; i < sample; i++) await createSession(store, sessionParts(i));
    return ((await size()) - before) / sample;
  } finally {
    await store.close();
    await admin.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`).catch(() => {});
    await admin.end();
  }
}

console.log(`store footprint: sessions holding one 32-byte value and one 200-byte recorded answer (Node ${process.version})`);
const memory = await measureMemory();
console.log(`memory store       ${memory.store.toFixed(0).padStart(6)} B per session with its record (${SESSIONS} sessions, heap delta after gc)`);
console.log(`  bare Map baseline ${memory.baseline.toFixed(0).padStart(5)} B for the same strings: the store costs ${(memory.store / memory.baseline).toFixed(1)}× the payload (goal: ≤ 1,024 B)`);
const redis = await measureRedis();
console.log(`Redis              ${typeof redis === 'number' ? `${redis.toFixed(0).padStart(6)} B per session with its record (MEMORY USAGE, all keys)` : redis}`);
const postgres = await measurePostgres();
console.log(`PostgreSQL         ${typeof postgres === 'number' ? `${postgres.toFixed(0).padStart(6)} B per session with its record (relation sizes, indexes and TOAST included)` : postgres}`);
process.exit(0);
