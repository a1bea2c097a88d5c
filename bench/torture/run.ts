/**
 * Jepsen-style list-append through the real client and validator:
 *
 *   npm run bench:torture                          # memory store
 *   BENCH_STORE=redis npm run bench:torture        # shared Redis, unique prefix
 *   BENCH_STORE=postgres npm run bench:torture     # shared PostgreSQL, unique tables (dropped after)
 *   BENCH_OPS=20000 BENCH_SECONDS=300 ...          # bounds (whichever comes first)
 *   BENCH_VARIANT=destroy ...                      # each browser logs out midway (session destroyed)
 *   BENCH_VARIANT=flap ...                         # only the store fails: down 100 ms of every 350 ms (issue 20 §5)
 *   BENCH_FAULTS=0 ...                             # the same run with no fault, for comparison
 *
 * Several cookie jars (browsers), several clients on each jar (tabs, with no
 * cross-tab coordination in Node, so they really conflict), append unique
 * tokens to a few overlapping keys of their session. Meanwhile a TCP proxy
 * in front of the server cuts connections as requests go in (before the
 * commit) and as answers come back (after it), and slows answers; the store
 * flaps (memory: calls fail before or after applying; Redis and PostgreSQL: a
 * proxy in front of the store cuts every connection every second or so).
 * Afterwards every list is read over a clean connection and checked: an
 * acknowledged token missing is lost, a token twice is duplicated, a token
 * whose write was rejected must be absent; outcome-unknown ones may be
 * either. The destroy variant logs each browser out halfway (one of its tabs
 * destroys the session) while the others keep writing: a write made before
 * the logout must never land in the session made after it (its epoch ended),
 * and an acknowledged write made after the logout must be there. Tabs of a
 * browser share the client's first-write lane, as the cross-tab lane makes
 * them in a browser, so that they make one new session, not one each.
 * The flap variant injects nothing but a store blip, on a fixed beat: the
 * store is down 100 ms of every 350 ms (BENCH_DOWN_MS / BENCH_PERIOD_MS):
 * memory, every call fails while it is down (a commit also after it applied,
 * when the blip begins during it); Redis and PostgreSQL, the store proxy cuts
 * every connection and refuses new ones. Nothing is wrong with the network,
 * so every operation should end acknowledged.
 * Loopback only; bounded in operations and time.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createLanes, createSessionClient, isConflictError, isOutcomeUnknownError, isSessionEndedError } from '../../src/client/index.js';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore, type SessionStore } from '../../src/server/index.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { createCookieJar, type CookieJar } from '../../test/support/client-cookie-jar.js';
import { deleteRedisPrefix } from '../redis-cleanup.js';
import { startProxy, type Proxy } from './proxy.js';

const STORE = (process.env.BENCH_STORE ?? 'memory') as 'memory' | 'redis' | 'postgres';
const MAX_OPS = Number(process.env.BENCH_OPS ?? (STORE === 'memory' ? 10_000 : 3_600));
const MAX_SECONDS = Number(process.env.BENCH_SECONDS ?? 240);
const DESTROY = process.env.BENCH_VARIANT === 'destroy';
const FLAP = process.env.BENCH_VARIANT === 'flap';
const DOWN_MS = Number(process.env.BENCH_DOWN_MS ?? 100);
const PERIOD_MS = Number(process.env.BENCH_PERIOD_MS ?? 350);
const FAULTS = process.env.BENCH_FAULTS !== '0'; // BENCH_FAULTS=0: the same run with no fault injected, for comparison
// How long a slowed answer is held back, at most (BENCH_SLOW_MS).
const SLOW_MS = Number(process.env.BENCH_SLOW_MS ?? 60);
const JARS = 4;
const TABS = 3;
const KEYS = ['a', 'b', 'c'];
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const unique = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The memory store's flaps: a call fails before it runs, or (commit) after it applied: the validator cannot tell which. */
function flapping(store: SessionStore, chance: number, counts: { storeFaults: number }): SessionStore {
  const fail = () => {
    counts.storeFaults++;
    throw new Error('injected store failure');
  };
  return {
    begin: async (input) => (Math.random() < chance ? fail() : store.begin(input)),
    async commit(input) {
      if (Math.random() < chance / 2) fail();
      const result = await store.commit(input);
      if (Math.random() < chance / 2) fail();
      return result;
    },
    release: (input) => store.release(input),
    touch: (input) => store.touch(input),
    close: () => store.close(),
  };
}

/**
 * The flap variant's store fails only while the tabs run: not while the sessions are made (nor PostgreSQL's tables,
 * whose migration holds a pooled client between statements), nor for the final check.
 */
let calm = true;

/** The flap variant's memory store: down DOWN_MS of every PERIOD_MS, for every call; a commit the blip began during fails after it applied. */
function beating(store: SessionStore, counts: { storeFaults: number }): SessionStore {
  const since = Date.now();
  const down = () => !calm && (Date.now() - since) % PERIOD_MS < DOWN_MS;
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    if (down()) {
      counts.storeFaults++;
      throw new Error('injected store outage');
    }
    const result = await call();
    // A store round trip takes time: the blip may begin before the answer is back.
    await pause(Math.random() * 2);
    if (down()) {
      counts.storeFaults++;
      throw new Error('injected store outage (the call ran)');
    }
    return result;
  };
  return {
    begin: (input) => guarded(() => store.begin(input)),
    commit: (input) => guarded(() => store.commit(input)),
    release: (input) => guarded(() => store.release(input)),
    touch: (input) => guarded(() => store.touch(input)),
    close: () => store.close(),
  };
}

async function openStore(counts: { storeFaults: number }): Promise<{ store: SessionStore; storeProxy: Proxy | null; cleanUp: () => Promise<void> }> {
  if (STORE === 'memory') {
    const store = FLAP && FAULTS ? beating(memoryStore(), counts) : flapping(memoryStore(), FAULTS && !FLAP ? 0.02 : 0, counts);
    return { store, storeProxy: null, cleanUp: async () => {} };
  }
  const target = new URL(STORE === 'redis' ? REDIS_URL : POSTGRES_URL);
  const storeProxy = await startProxy({ host: target.hostname, port: Number(target.port || (STORE === 'redis' ? 6379 : 5432)) });
  const via = new URL(target);
  via.hostname = '127.0.0.1';
  via.port = String(storeProxy.port);
  if (STORE === 'redis') {
    const prefix = `bench-torture-${unique}:`;
    return {
      store: redisStore({ url: via.toString(), prefix }),
      storeProxy,
      cleanUp: () => deleteRedisPrefix(REDIS_URL, prefix),
    };
  }
  const tablePrefix = `bench_torture_${unique}_`;
  const pool = new pg.Pool({ connectionString: via.toString(), max: 8, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => {});
  return {
    store: postgresStore({ pool, tablePrefix }),
    storeProxy,
    async cleanUp() {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${tablePrefix}records, ${tablePrefix}entries, ${tablePrefix}sessions, ${tablePrefix}tombstones CASCADE`);
      await admin.end();
    },
  };
}

const counts = { storeFaults: 0 };
const { store, storeProxy, cleanUp } = await openStore(counts);
const validator = createValidator({ store, secret: 'bench-torture-secret-bench-torture-secret', onEvent: () => {} });
const appendRoutes = new Map(
  KEYS.map((key) => [
    key,
    validator.route({ writes: [key] }, async (request, session) => {
      const { token } = (await request.json()) as { token: string };
      if (Math.random() < 0.05) await pause(Math.random() * 40); // some answers are slow to come
      session.set(key, [...((session.get(key) as string[] | undefined) ?? []), token]);
      return Response.json({ ok: true });
    }),
  ]),
);
const logout = validator.route({ writes: KEYS }, (_request, session) => {
  session.destroy();
  return Response.json({ ok: true });
});
const readLists = validator.route({ reads: KEYS }, (_request, session) => Response.json(Object.fromEntries(KEYS.map((key) => [key, session.get(key) ?? []]))));
const server = createServer(
  toNodeListener((request) => {
    const path = new URL(request.url).pathname;
    if (path === '/lists') return readLists(request);
    if (path === '/logout') return logout(request);
    const route = appendRoutes.get(path.slice('/append/'.length));
    return route ? route(request) : new Response('not found', { status: 404 });
  }),
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const serverPort = (server.address() as AddressInfo).port;
const proxy = await startProxy({ host: '127.0.0.1', port: serverPort }, !FAULTS || FLAP ? {} : STORE === 'memory' ? { cutRequest: 0.04, cutAnswer: 0.04, slow: 0.05, slowMs: SLOW_MS } : { cutRequest: 0.1, cutAnswer: 0.1, slow: 0.05, slowMs: SLOW_MS });
const viaProxy = `http://127.0.0.1:${proxy.port}`;
const direct = `http://127.0.0.1:${serverPort}`;

type Outcome = 'acknowledged' | 'rejected' | 'unknown' | 'ended' | 'failed';
/** A token's phase: made before its browser's logout began (0), during it (0.5), after it was answered (1). */
/** `epoch`: the Session-Epoch of the answer that acknowledged it, the session it landed in. */
const outcomes = new Map<string, { jar: number; key: string; outcome: Outcome; phase: number; session?: string; epoch?: string }>();
/** Each browser's first session's epoch: the one its logout ends (what was acknowledged in it may go with it). */
const firstEpochs: (string | null)[] = [];
const tally = { operations: 0, acknowledged: 0, rejected: 0, unknown: 0, ended: 0, failed: 0 };
const errors = new Map<string, number>();
const started = Date.now();
const running = () => tally.operations < MAX_OPS && Date.now() - started < MAX_SECONDS * 1000;

/**
 * Answers that clear the session cookie after the browser got a newer one (a late answer for the old
 * session, the new cookie under the same name): each drops the browser's current session. What was sent,
 * by path and status.
 */
const lateClears = new Map<string, number>();
/** Every answer the browsers got, by status (resends included). */
const statuses = new Map<number, number>();
function browserJar(): CookieJar {
  const watched: typeof fetch = async (input, init) => {
    const sent = new Headers(init?.headers).get('cookie');
    const response = await fetch(input, init);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const now = [...jar.cookies].map(([name, value]) => `${name}=${value}`).join('; ') || null;
    if (now !== null && now !== sent && response.headers.getSetCookie().some((line) => /max-age=0/i.test(line))) {
      const what = `${new URL(String(input)).pathname.split('/')[1]} ${response.status}${new Headers(init?.headers).has('session-epoch') ? ' with Session-Epoch' : ''}`;
      lateClears.set(what, (lateClears.get(what) ?? 0) + 1);
    }
    return response;
  };
  const jar = createCookieJar(watched);
  return jar;
}
const jars = Array.from({ length: JARS }, () => browserJar());
const firstWriteLanes = jars.map(() => createLanes());
const phases = jars.map(() => 0);
let logouts = 0;

/** Logs browser `jarIndex` out through one of its tabs' client; resends (new key) until an answer says the session is gone. */
async function logOut(jarIndex: number, client: ReturnType<typeof createSessionClient>): Promise<void> {
  phases[jarIndex] = 0.5;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const response = await client.fetch(`${viaProxy}/logout`, { method: 'POST', session: { writes: KEYS, blind: true } });
      await response.text();
      if (response.ok) break;
    } catch (error) {
      if (isSessionEndedError(error)) break; // an earlier attempt applied
    }
  }
  logouts++;
  phases[jarIndex] = 1;
  if (attempts > 1) console.log(`  browser ${jarIndex}: the logout took ${attempts} attempts`);
}
// The store flaps about once a second while the run lasts (the flap variant: DOWN_MS of every PERIOD_MS, once the sessions are made).
let flapper = storeProxy && FAULTS && !FLAP ? setInterval(() => storeProxy.flap(100 + Math.random() * 200), 700 + Math.random() * 600) : null;

async function tab(jarIndex: number, tabIndex: number): Promise<void> {
  const client = createSessionClient({ fetch: jars[jarIndex]!.fetch, firstWrite: firstWriteLanes[jarIndex]!, deadline: 4_000, retries: 15, backoff: 10, maxBackoff: 300 });
  let n = 0;
  while (running()) {
    if (DESTROY && tabIndex === 0 && phases[jarIndex] === 0 && tally.operations >= MAX_OPS / 2) await logOut(jarIndex, client);
    const phase = phases[jarIndex]!;
    const key = KEYS[Math.floor(Math.random() * KEYS.length)]!;
    const token = `j${jarIndex}-t${tabIndex}-${n++}`;
    tally.operations++;
    let outcome: Outcome;
    let epoch: string | null = null;
    try {
      const response = await client.fetch(`${viaProxy}/append/${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), session: { writes: [key], blind: true } });
      await response.text();
      outcome = response.ok ? 'acknowledged' : 'failed';
      epoch = response.headers.get('session-epoch');
      if (!response.ok) errors.set(`HTTP ${response.status}`, (errors.get(`HTTP ${response.status}`) ?? 0) + 1);
    } catch (error) {
      outcome = isOutcomeUnknownError(error) ? 'unknown' : isConflictError(error) ? 'rejected' : isSessionEndedError(error) ? 'ended' : 'failed';
      const name = (error as Error).name;
      errors.set(name, (errors.get(name) ?? 0) + 1);
    }
    // The session the browser's cookie named when the answer came: a lost write says where it went.
    const session = jars[jarIndex]!.cookies.values().next().value?.slice(0, 8);
    outcomes.set(token, { jar: jarIndex, key, outcome, phase, ...(session ? { session } : {}), ...(epoch ? { epoch } : {}) });
    tally[outcome]++;
  }
}

console.log(`torture on the ${STORE} store${FLAP ? `, down ${DOWN_MS} ms of every ${PERIOD_MS} ms` : ''}: ${JARS} browsers × ${TABS} tabs, keys ${KEYS.join(', ')}; at most ${MAX_OPS} operations or ${MAX_SECONDS} s`);
// Each browser's session is made first, by one write (the cookie is the browser's, shared by its tabs).
for (const [i, jar] of jars.entries()) {
  // The store may be flapping already: a 503 is resent with the same Idempotency-Key, which is always safe, and so
  // is a 409 (a cut store connection left the first attempt's claim pending until its lease ends).
  for (let attempt = 1; ; attempt++) {
    const response = await jar.fetch(`${direct}/append/a`, { method: 'POST', headers: { 'session-write': '"a"', 'idempotency-key': `"torture-create-${unique}-${i}"`, 'content-type': 'application/json' }, body: JSON.stringify({ token: `create-${i}` }) });
    firstEpochs[i] = response.headers.get('session-epoch');
    if (response.ok) break;
    if ((response.status !== 503 && response.status !== 409) || attempt === 120) throw new Error(`creating session ${i} answered ${response.status}`);
    await pause(response.status === 409 ? 1_000 : 200);
  }
}
if (FLAP && FAULTS) {
  calm = false;
  if (storeProxy) flapper = setInterval(() => storeProxy.flap(DOWN_MS), PERIOD_MS);
}
const progress = setInterval(() => console.log(`  ${tally.operations} operations, ${Math.round((Date.now() - started) / 1000)} s`), 10_000);
try {
  await Promise.all(jars.flatMap((_, j) => Array.from({ length: TABS }, (_unused, t) => tab(j, t))));
} finally {
  clearInterval(progress);
  if (flapper) clearInterval(flapper);
  calm = true;
}
await pause(500); // let the last cut requests end on the server

// Check every list over a clean connection.
const seen = new Map<string, number>();
for (const jar of jars) {
  const response = await jar.fetch(`${direct}/lists`, { headers: { 'session-read': KEYS.map((key) => `"${key}"`).join(', ') } });
  if (!response.ok) throw new Error(`reading the lists answered ${response.status}`);
  const lists = (await response.json()) as Record<string, string[]>;
  for (const list of Object.values(lists)) for (const token of list) seen.set(token, (seen.get(token) ?? 0) + 1);
}
let lost = 0;
let rejectedButApplied = 0;
let unknownApplied = 0;
let laterEpoch = 0;
for (const [token, { jar, outcome, phase, epoch }] of outcomes) {
  const times = seen.get(token) ?? 0;
  // A write acknowledged in the session its browser's logout ended is gone with it: that is the logout's job. One
  // acknowledged in a later session (made after the logout, or while it ran) must be there.
  if (outcome === 'acknowledged' && times === 0 && (!DESTROY || epoch !== firstEpochs[jar] || phase === 1)) {
    lost++;
    if (lost <= 5) console.log(`lost: ${token} (${JSON.stringify(outcomes.get(token))}); the browser's session now: ${jars[outcomes.get(token)!.jar]!.cookies.values().next().value?.slice(0, 8)}`);
  }
  if ((outcome === 'rejected' || outcome === 'ended' || outcome === 'failed') && times > 0) rejectedButApplied++;
  if (outcome === 'unknown' && times > 0) unknownApplied++;
  if (DESTROY && phase === 0 && times > 0) laterEpoch++;
}
const duplicated = [...seen.values()].filter((times) => times > 1).length;
const phantom = [...seen.keys()].filter((token) => !token.startsWith('create-') && !outcomes.has(token)).length;
const storeCuts = Math.floor(storeProxy?.faults.flapCuts ?? 0);
const faults = proxy.faults.requestCuts + proxy.faults.answerCuts + counts.storeFaults + storeCuts;

console.log(`\n| | ${STORE}${DESTROY ? ', sessions destroyed midway' : ''}${FLAP ? `, store down ${DOWN_MS} ms of every ${PERIOD_MS} ms` : ''} |\n| --- | --- |`);
console.log(`| operations | ${tally.operations} (${Math.round((Date.now() - started) / 1000)} s) |`);
console.log(`| acknowledged | ${tally.acknowledged} (${((100 * tally.acknowledged) / Math.max(1, tally.operations)).toFixed(1)} %) |`);
console.log(`| rejected (conflict after every retry) | ${tally.rejected} |`);
console.log(`| outcome unknown (of which applied) | ${tally.unknown} (${unknownApplied}) |`);
console.log(`| session ended (410, or rejected unsent) | ${tally.ended} |`);
console.log(`| failed otherwise | ${tally.failed} |`);
if (DESTROY) console.log(`| logouts / writes made before a logout found in the session after it | ${logouts} / ${laterEpoch} |`);
console.log(`| faults injected | ${faults}: ${proxy.faults.requestCuts} cut before the commit, ${proxy.faults.answerCuts} cut after it, ${counts.storeFaults} store calls failed, ${storeCuts} store connections cut in ${storeProxy?.faults.flaps ?? 0} flaps; ${proxy.faults.slowed} answers slowed |`);
console.log(`| answers that cleared a newer session's cookie | ${[...lateClears.values()].reduce((sum, n) => sum + n, 0)}${lateClears.size ? `: ${[...lateClears].map(([what, n]) => `${what} ×${n}`).join(', ')}` : ''} |`);
console.log(`| lost | ${lost} |`);
console.log(`| duplicated | ${duplicated} |`);
console.log(`| rejected but applied / never sent but present | ${rejectedButApplied} / ${phantom} |`);
console.log(`answers by status (resends included): ${[...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status} ×${n}`).join(', ')}`);
console.log(`client errors: ${[...errors].map(([name, n]) => `${name} ${n}`).join(', ') || 'none'}`);

await proxy.close();
server.closeAllConnections();
server.close();
await store.close();
await storeProxy?.close();
await cleanUp();
if (lost + duplicated + rejectedButApplied + phantom + laterEpoch > 0) {
  console.log('FAILED: an acknowledged write was lost, or a write applied twice, against its answer, or in a later epoch');
  process.exitCode = 1;
}
