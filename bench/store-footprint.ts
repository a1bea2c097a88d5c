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
async function createSession(store: SessionStore, parts: ReturnType<typeof sessionParts>, withRecord = true): Promise<void> {
  const token = randomBytes(16).toString('base64url');
  await store.begin({ sessionId: parts.id, keys: ['value'], now: NOW, ...(withRecord ? { claim: { key: parts.key, fingerprint: parts.fingerprint, leaseMs: 60_000, token } } : {}) });
  const result = await store.commit({
    sessionId: parts.id,
    session: { mode: 'create', epoch: randomBytes(12).toString('base64url') },
    expect: new Map([['value', 0]]),
    changes: new Map([['value', parts.value]]),
    destroy: false,
    ...(withRecord ? { record: { key: parts.key, fingerprint: parts.fingerprint, answer: parts.answer, state: 'done' as const, retentionMs: 172_800_000, leaseMs: 60_000, token } } : {}),
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

async function measureMemory(): Promise<{ session: number; both: number; baseline: number }> {
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

  const measure = async (withRecord: boolean) => {
    const start = heapUsed();
    const store = memoryStore({ maxBytes: 4 * SESSIONS * 2_048 });
    for (let i = 0; i < SESSIONS; i++) await createSession(store, sessionParts(i), withRecord);
    const bytes = (heapUsed() - start) / SESSIONS;
    await store.close();
    return bytes;
  };
  const session = await measure(false);
  const both = await measure(true);
  return { session, both, baseline };
}

async function measureRedis(): Promise<{ session: number; record: number } | string> {
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
    let session = 0;
    let record = 0;
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const bytes = Number(await admin.memory('USAGE', key, 'SAMPLES', 0));
        if (key.includes('}:r:')) record += bytes;
        else session += bytes;
      }
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    return { session: session / sample, record: record / sample };
  } finally {
    await store.close();
    admin.disconnect();
  }
}

async function measurePostgres(): Promise<{ session: number; record: number } | string> {
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
    const bytes: number[] = [];
    for (const table of tables) bytes.push(Number((await admin.query(`SELECT pg_total_relation_size($1) AS size`, [table])).rows[0].size));
    return { session: bytes[0]! + bytes[1]!, record: bytes[2]! };
  };
  try {
    await createSession(store, sessionParts(-1)); // creates the tables
    await admin.query(`VACUUM ${tables.join(', ')}`);
    const before = await size();
    const sample = Math.min(SESSIONS, 5_000);
    for (let i = 0; i < sample; i++) await createSession(store, sessionParts(i));
    const after = await size();
    return { session: (after.session - before.session) / sample, record: (after.record - before.record) / sample };
  } finally {
    await store.close();
    await admin.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`).catch(() => {});
    await admin.end();
  }
}

console.log(`store footprint: sessions holding one 32-byte value and one 200-byte recorded answer (Node ${process.version})`);
const memory = await measureMemory();
const row = (store: string, session: number, record: number, how: string) =>
  console.log(`${store.padEnd(11)} ${session.toFixed(0).padStart(6)} B per session ${record.toFixed(0).padStart(6)} B per record ${(session + record).toFixed(0).padStart(6)} B both  (${how})`);
row('memory', memory.session, memory.both - memory.session, `${SESSIONS} sessions, heap delta after gc`);
console.log(
  `  baseline: the same strings in a bare Map, ${memory.baseline.toFixed(0)} B: the store costs ${(memory.both / memory.baseline).toFixed(2)}× the payload (goal: a session with its record ≤ 1,024 B)`,
);
const redis = await measureRedis();
if (typeof redis === 'string') console.log(`Redis       ${redis}`);
else row('Redis', redis.session, redis.record, 'MEMORY USAGE of every key');
const postgres = await measurePostgres();
if (typeof postgres === 'string') console.log(`PostgreSQL  ${postgres}`);
else row('PostgreSQL', postgres.session, postgres.record, 'relation sizes, indexes and TOAST included');
process.exit(0);
