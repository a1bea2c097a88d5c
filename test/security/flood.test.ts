import { afterAll, describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { PATTERNS, runFlood, type FloodPattern } from '../support/memory-flood.js';
import { redisStore } from '../../src/server/stores/redis.js';
import type { SessionStore } from '../../src/server/store.js';
import { startRedis, type PrivateRedis } from '../support/private-servers.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * The attack (issue 11, §3): bots create sessions as fast as they can. On
 * the memory store nothing bounded them; on Redis with the documented
 * `noeviction`, the flood filled maxmemory and every user's writes became
 * 503. A pre-existing, active session must get no 410 and no 503 during it.
 */

const SECRET = 'a test secret of at least 32 bytes, shared';
const RATE = 300; // session-creating requests per second
const SECONDS = 4;
const BOT_VALUE = 'b'.repeat(1_000);

interface FloodResult {
  user: Record<number, number>;
  bots: Record<number, number>;
  counter: number;
  writes: number;
}

async function flood(store: SessionStore): Promise<FloodResult> {
  // onEvent: the flood's refused commits are expected; the default would log each to console.error.
  const validator = createValidator({ store, secret: SECRET, onEvent: () => {} });
  const server: TestServer = await startServer({
    '/signup': validator.route({ writes: ['profile'] }, async (_request, session) => {
      session.set('profile', BOT_VALUE);
      return Response.json({ ok: true });
    }),
    '/increment': validator.route({ writes: ['counter'] }, async (_request, session) => {
      session.set('counter', ((session.get('counter') as number | undefined) ?? 0) + 1);
      return Response.json({ ok: true });
    }),
    '/read': validator.route({ reads: ['counter'] }, async (_request, session) => Response.json({ counter: session.get('counter') ?? 0 })),
  });
  try {
    const user = new Browser(server.url);
    const increment = () => user.send('/increment', { headers: { 'session-write': '"counter"', 'idempotency-key': idemKey() } });
    expect((await increment()).status).toBe(200);
    expect((await increment()).status).toBe(200); // an active session: it came back

    const result: FloodResult = { user: {}, bots: {}, counter: 0, writes: 2 };
    const count = (into: Record<number, number>, status: number) => (into[status] = (into[status] ?? 0) + 1);
    const bots: Promise<void>[] = [];
    const started = Date.now();
    let flooding = true;
    const ticker = (async () => {
      for (let tick = 0; tick < SECONDS * 10; tick++) {
        for (let i = 0; i < RATE / 10; i++) {
          bots.push(
            new Browser(server.url)
              .send('/signup', { headers: { 'session-write': '"profile"', 'idempotency-key': idemKey() } })
              // A connection the loaded server reset counts as 0: the flood must still end, or the user's loop never does.
              .then((answer) => void count(result.bots, answer.status), () => void count(result.bots, 0)),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (tick + 1) * 100 - Date.now())));
      }
      // The flood lasts until its last request is answered (on a busy machine, later than its last tick).
      await Promise.all(bots);
      flooding = false;
    })();
    while (flooding) {
      // A busy user, not a second flood: at most one write and one read each 25 ms (its own records need memory too).
      const pace = new Promise((resolve) => setTimeout(resolve, 25));
      const written = await increment();
      count(result.user, written.status);
      if (written.status === 200) result.writes++;
      count(result.user, (await user.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } })).status);
      await pace;
    }
    await ticker;
    // And once more after it, when whatever the flood left is in the store.
    const after = await increment();
    count(result.user, after.status);
    if (after.status === 200) result.writes++;
    const read = await user.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
    expect(read.status).toBe(200);
    result.counter = read.json().counter;
    return result;
  } finally {
    await server.close();
  }
}

function report(label: string, result: FloodResult, extra = '') {
  console.log(
    `[flood] ${label}: ${RATE} creating requests/s for ${SECONDS} s; bots ${JSON.stringify(result.bots)}; the active user ${JSON.stringify(result.user)}, counter ${result.counter} after ${result.writes} writes${extra}`,
  );
}

describe('a flood of session-creating requests', () => {
  const redises: PrivateRedis[] = [];
  afterAll(async () => {
    for (const redis of redises) await redis.stop();
  });

  // The memory store's floods (the single-request bots of this flood among them) are below, with 100 established users.

  async function privateRedis(maxmemory: string): Promise<PrivateRedis> {
    const redis = await startRedis(['--maxmemory', maxmemory, '--maxmemory-policy', 'noeviction']);
    redises.push(redis);
    return redis;
  }

  it("fills Redis and makes an active session's writes 503 without admission (the attack, as with noeviction before)", async () => {
    const redis = await privateRedis('3mb');
    const store = redisStore({ url: redis.url, newSessionMemoryShare: 1 });
    try {
      const result = await flood(store);
      report('Redis maxmemory 3mb noeviction, admission off', result);
      expect(result.user[503] ?? 0).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('leaves an active session on Redis (maxmemory 3mb, noeviction) with no 410 and no 503: new sessions are refused first', async () => {
    const redis = await privateRedis('3mb');
    const store = redisStore({ url: redis.url, newSessionMemoryShare: 0.7 });
    try {
      const result = await flood(store);
      const info = await redis.admin.info('memory');
      report('Redis maxmemory 3mb noeviction, newSessionMemoryShare 0.7', result, `; ${/used_memory_human:\S+/.exec(info)?.[0]}`);
      expect(result.bots[503] ?? 0).toBeGreaterThan(0); // the flood did reach the limit
      expect(result.user[410] ?? 0).toBe(0);
      expect(result.user[503] ?? 0).toBe(0);
      expect(result.counter).toBe(result.writes);
    } finally {
      await store.close();
    }
  }, 120_000);
});

/**
 * Issue 20 §2: three anonymous patterns each evicted every established user
 * of the memory store (maxEntries 2,000), whose next request was a 410. Here
 * 100 users, each promoted by 10 writes over "minutes" (the validator's
 * clock jumps 10 minutes), keep writing through a few seconds of each flood
 * at full speed. bench/flood.ts runs the same for 60 s.
 */
describe('anonymous floods against the memory store (issue 20 §2)', () => {
  const MAX_BYTES = 4_000_000;
  for (const pattern of ['a', 'b', 'c'] as FloodPattern[]) {
    it(`(${pattern}) ${PATTERNS[pattern]}: 100 established users get no 410 and no 503, and the store stays within maxBytes`, async () => {
      const store = memoryStore({ maxBytes: MAX_BYTES });
      const result = await runFlood(store, { pattern, seconds: 4, concurrency: 16, users: 100, establishJumpMs: 10 * 60_000 });
      const { stats } = result;
      console.log(
        `[flood ${pattern}] ${result.floodRequests} flood requests (${result.floodPerSecond}/s) ${JSON.stringify(result.flood)}; users ${JSON.stringify(result.users)}; ` +
          `offered ${result.offeredBytes} B (${(result.offeredBytes / MAX_BYTES).toFixed(1)}x maxBytes); peak ${stats.peakBytes} B; evicted ${stats.evicted}; stubs ${stats.stubs}; refused ${stats.refused}`,
      );
      expect(result.users[410] ?? 0).toBe(0);
      expect(result.users[503] ?? 0).toBe(0);
      expect(result.users[200]).toBe(result.userRequests);
      expect(stats.peakBytes).toBeLessThanOrEqual(MAX_BYTES);
      // The flood did press on the bound: (a) and (c) by evictions among new sessions; (b), one session, by its own cap (503s to it).
      if (pattern === 'b') {
        expect(stats.refused).toBeGreaterThan(0);
        expect(result.flood[503] ?? 0).toBeGreaterThan(0);
      } else expect(stats.evicted).toBeGreaterThan(0);
    }, 120_000);
  }
});

describe('a resend after its session was evicted from the memory store', () => {
  it('is never applied again: the creating request (no cookie) and a later write (with the cookie) each get a 410', async () => {
    const store = memoryStore({ maxBytes: 400_000 });
    let applied = 0;
    const validator = createValidator({ store, secret: SECRET, onEvent: () => {} });
    const server = await startServer({
      '/signup': validator.route({ writes: ['profile'] }, async (request, session) => {
        applied++;
        session.set('profile', `${BOT_VALUE}${await request.text()}`);
        return Response.json({ ok: true });
      }),
    });
    try {
      const first = new Browser(server.url);
      const creatingKey = idemKey();
      const signup = (browser: Browser, key: string, body: string) => browser.send('/signup', { headers: { 'session-write': '"profile"', 'idempotency-key': key }, body });
      expect((await signup(first, creatingKey, 'one')).status).toBe(200);
      const laterKey = idemKey();
      expect((await signup(first, laterKey, 'two')).status).toBe(200);
      // New sessions, one after another, until the first one (the oldest in probation) is evicted.
      for (let i = 0; i < 200; i++) expect((await signup(new Browser(server.url), idemKey(), `bot ${i}`)).status).toBe(200);
      expect(store.stats().evicted).toBeGreaterThan(0);
      expect(applied).toBe(202);

      // Its answer was lost: the same creating request again, without the cookie.
      expect((await signup(new Browser(server.url), creatingKey, 'one')).status).toBe(410);
      // And the later write, again, with the cookie.
      expect((await signup(first, laterKey, 'two')).status).toBe(410);
      expect(applied).toBe(202);
    } finally {
      await server.close();
    }
  }, 120_000);
});
