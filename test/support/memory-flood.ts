import { createValidator } from '../../src/server/index.js';
import type { MemoryStore } from '../../src/server/stores/memory.js';
import { startServer } from './server.js';
import { Browser, idemKey } from './session-http.js';

/**
 * Issue 20 §2: three anonymous floods against the memory store, over real
 * HTTP on 127.0.0.1, while 100 established users keep writing. Shared by
 * test/security/flood.test.ts (a few seconds) and bench/flood.ts (60 s).
 *
 * (a) bots: each a new session, one write, then one read;
 * (b) one session writing as fast as it can;
 * (c) cookie-less logins: each creates a session and rotates it at once.
 */
export type FloodPattern = 'a' | 'b' | 'c';

export const PATTERNS: Record<FloodPattern, string> = {
  a: 'bot sessions, one write then one read each',
  b: 'one session making many writes',
  c: 'cookie-less rotating logins',
};

export interface FloodOptions {
  readonly pattern: FloodPattern;
  readonly seconds: number;
  /** Concurrent request loops of the flood: as many as one local client uses to go as fast as it can. */
  readonly concurrency: number;
  readonly users: number;
  /** How far the test clock jumps between the users' first and last writes ("over the previous minutes"). */
  readonly establishJumpMs: number;
}

export type StatusCounts = Record<number, number>;

export interface FloodReport {
  readonly pattern: FloodPattern;
  readonly floodRequests: number;
  readonly floodPerSecond: number;
  readonly flood: StatusCounts;
  readonly users: StatusCounts;
  readonly userRequests: number;
  /** Bytes the flood's writes offered the store, taken or refused (each write's share as measured before the flood). */
  readonly offeredBytes: number;
  readonly floodWrites: number;
  /** What the established users held before the flood, and what one flood write adds. */
  readonly usersBytes: number;
  readonly perWriteBytes: number;
  readonly stats: ReturnType<MemoryStore['stats']>;
}

const SECRET = 'a test secret of at least 32 bytes, for the flood';
// A user's cart is small; a bot sends what costs the store most (its answer echoes it, as a cart page would).
const USER_VALUE = 'u'.repeat(100);
const BOT_VALUE = 'b'.repeat(8_000);

const count = (into: StatusCounts, status: number) => void (into[status] = (into[status] ?? 0) + 1);
const writeHeaders = (key: string) => ({ 'session-write': `"${key}"`, 'idempotency-key': idemKey() });
const botHeaders = (key: string) => ({ ...writeHeaders(key), 'x-bot': '1' });

export async function runFlood(store: MemoryStore, options: FloodOptions): Promise<FloodReport> {
  let clockOffset = 0;
  const validator = createValidator({ store, secret: SECRET, now: () => Date.now() + clockOffset, onEvent: () => {} });
  const server = await startServer({
    '/cart': validator.route({ writes: ['cart'] }, async (request, session) => {
      // A new value each time: a write that changes nothing commits (and records) nothing.
      const cart = `${request.headers.has('x-bot') ? BOT_VALUE : USER_VALUE}${Math.random().toString(36).slice(2, 10)}`;
      session.set('cart', cart);
      return Response.json({ cart });
    }),
    '/read': validator.route({ reads: ['cart'] }, async (_request, session) => Response.json({ has: session.get('cart') !== undefined })),
    '/login': validator.route({ writes: ['user'], rotates: true }, async (_request, session) => {
      session.set('user', BOT_VALUE);
      session.rotate();
      return Response.json({ ok: true });
    }),
  });
  try {
    // 100 established users, 10 writes each over "minutes": 5 now, the clock moves on, 5 more.
    const users = Array.from({ length: options.users }, () => new Browser(server.url));
    const usersSeen: StatusCounts = {};
    const userWrite = async (user: Browser) => count(usersSeen, (await user.send('/cart', { headers: writeHeaders('cart') })).status);
    for (let round = 0; round < 10; round++) {
      if (round === 5) clockOffset += options.establishJumpMs;
      await Promise.all(users.map(userWrite));
    }
    if (Object.keys(usersSeen).join() !== '200') throw new Error(`the users could not establish themselves: ${JSON.stringify(usersSeen)}`);

    const usersBytes = store.stats().bytes;
    // What one flood write costs the store, measured once on a throwaway bot of the same shape.
    const before = store.stats().bytes;
    const sample = new Browser(server.url);
    await (options.pattern === 'c' ? sample.send('/login', { headers: botHeaders('user') }) : sample.send('/cart', { headers: botHeaders('cart') }));
    const afterOne = store.stats().bytes;
    if (options.pattern === 'b') await sample.send('/cart', { headers: botHeaders('cart') });
    // (b) offers what one more write of an existing session adds: its record, its value replaced.
    const perWrite = Math.max(1, options.pattern === 'b' ? store.stats().bytes - afterOne : afterOne - before);

    const flood: StatusCounts = {};
    const users410: StatusCounts = {};
    let floodRequests = 0;
    let floodWrites = 0;
    const deadline = Date.now() + options.seconds * 1_000;
    const bulk = new Browser(server.url);
    if (options.pattern === 'b') await bulk.send('/cart', { headers: botHeaders('cart') });

    const floodLoop = async () => {
      while (Date.now() < deadline) {
        if (options.pattern === 'a') {
          const bot = new Browser(server.url);
          const written = await bot.send('/cart', { headers: botHeaders('cart') });
          count(flood, written.status);
          floodWrites++;
          count(flood, (await bot.send('/read', { method: 'GET', headers: { 'session-read': '"cart"' } })).status);
          floodRequests += 2;
        } else if (options.pattern === 'b') {
          const written = await bulk.send('/cart', { headers: botHeaders('cart') });
          count(flood, written.status);
          floodWrites++;
          floodRequests++;
        } else {
          const written = await new Browser(server.url).send('/login', { headers: botHeaders('user') });
          count(flood, written.status);
          floodWrites++;
          floodRequests++;
        }
      }
    };
    // The users keep going during the flood: each a write and a read, one user after another.
    let userRequests = 0;
    const userLoop = async () => {
      for (let i = 0; Date.now() < deadline; i = (i + 1) % users.length) {
        const user = users[i]!;
        count(users410, (await user.send('/cart', { headers: writeHeaders('cart') })).status);
        count(users410, (await user.send('/read', { method: 'GET', headers: { 'session-read': '"cart"' } })).status);
        userRequests += 2;
        // A user comes back now and then, not in a loop: most of them are idle at any moment of the flood.
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const started = Date.now();
    await Promise.all([...Array.from({ length: options.concurrency }, floodLoop), userLoop()]);
    const elapsed = (Date.now() - started) / 1_000;
    // And every user once more after it, against whatever the flood left.
    for (const user of users) {
      count(users410, (await user.send('/cart', { headers: writeHeaders('cart') })).status);
      userRequests++;
    }
    return {
      pattern: options.pattern,
      floodRequests,
      floodPerSecond: Math.round(floodRequests / elapsed),
      flood,
      users: users410,
      userRequests,
      offeredBytes: Math.round(floodWrites * perWrite),
      floodWrites,
      usersBytes,
      perWriteBytes: perWrite,
      stats: store.stats(),
    };
  } finally {
    await server.close();
  }
}
