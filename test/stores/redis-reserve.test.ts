import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { afterEach, describe, expect, it } from 'vitest';
import { withSession, type ExpressContext } from '../../src/server/adapters/express.js';
import { createValidator, type ValidatorOptions } from '../../src/server/index.js';
import { redisStore, type RedisStoreOptions } from '../../src/server/stores/redis.js';
import { startRedis, type PrivateRedis } from '../support/private-servers.js';
import { startServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * Issue 20 §3: the reserve Redis keeps for existing sessions must hold
 * against every kind of growth, not only cookie-mode session creation. On a
 * private Redis (maxmemory 4mb, noeviction), one client (a) writes records
 * from one existing session, (b) rotates one session over and over, (c) makes
 * new ids under a sessionId() resolver (a header, and the documented
 * express-session recipe). Before the fix each filled Redis until every
 * user's writes, logins and logouts were 503. Now: 100 established sessions,
 * each within its allowance, get no 503 on their ordinary writes, while the
 * flood itself is refused (503) once Redis is above the share.
 */

const SECRET = 'a test secret of at least 32 bytes, shared';
const USERS = 100;
const BIG_ANSWER = 'x'.repeat(12_000); // a flood write's recorded answer: what fills Redis fastest
const SETUP_WRITES = 3; // per user: a creating write and two more (a quicker setup on a loaded machine)
const FLOOD_CAP = 6_000; // requests: far more than fill 4mb; the flood stops earlier once refused
const REFUSED_IN_A_ROW = 20; // the flood has hit the reserve for good

const redises: PrivateRedis[] = [];
afterEach(async () => {
  for (const redis of redises.splice(0)) await redis.stop();
});

async function privateRedis(): Promise<PrivateRedis> {
  const redis = await startRedis(['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction']);
  redises.push(redis);
  return redis;
}

const tally = (into: Record<number, number>, status: number) => void (into[status] = (into[status] ?? 0) + 1);
const write = (key: string) => ({ headers: { 'session-write': `"${key}"`, 'idempotency-key': idemKey() } });

/** Runs `count` jobs, `width` at a time. */
async function inParallel(count: number, width: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await job(next++);
  }));
}

/** Floods until `REFUSED_IN_A_ROW` answers in a row are 503 (or the cap); one user write every 20 flood requests. */
async function flood(step: () => Promise<number>, userWrite: () => Promise<number>, users: Record<number, number>): Promise<Record<number, number>> {
  const answers: Record<number, number> = {};
  let refused = 0;
  for (let sent = 0; sent < FLOOD_CAP && refused < REFUSED_IN_A_ROW; sent++) {
    const status = await step();
    tally(answers, status);
    refused = status === 503 ? refused + 1 : 0;
    if (sent % 20 === 0) tally(users, await userWrite());
  }
  return answers;
}

function report(label: string, floodAnswers: Record<number, number>, users: Record<number, number>, memory: string) {
  console.log(`[reserve] ${label}: flood ${JSON.stringify(floodAnswers)}; established users ${JSON.stringify(users)}; ${memory}`);
}

async function usedMemory(redis: PrivateRedis): Promise<string> {
  return /used_memory_human:\S+/.exec(await redis.admin.info('memory'))?.[0] ?? '?';
}

// Each case took 2-4 s on a calm machine (load ~2) and 11-23 s at a load of ~20 on 2 cores: the timeout is headroom.
describe('the Redis reserve under a flood from one client (maxmemory 4mb, noeviction)', { timeout: 90_000 }, () => {
  async function cookieApp(redis: PrivateRedis, storeOptions: RedisStoreOptions = {}) {
    const store = redisStore({ url: redis.url, ...storeOptions });
    const validator = createValidator({ store, secret: SECRET, onEvent: () => {} });
    const server = await startServer({
      '/write': validator.route({ writes: ['counter'] }, (_request, s) => {
        s.set('counter', ((s.get('counter') as number | undefined) ?? 0) + 1);
        return Response.json({ counter: s.get('counter') });
      }),
      '/fill': validator.route({ writes: ['log'] }, (_request, s) => {
        s.set('log', ((s.get('log') as number | undefined) ?? 0) + 1);
        return Response.json({ padding: BIG_ANSWER });
      }),
      '/login': validator.route({ writes: ['user'], rotates: true }, (request, s) => {
        s.set('user', 'ada');
        s.rotate();
        // The flood's logins carry a large answer: fewer of them fill Redis.
        return Response.json({ user: 'ada', padding: new URL(request.url).searchParams.has('bot') ? BIG_ANSWER : '' });
      }),
      '/logout': validator.route({ ends: true }, (_request, s) => {
        s.destroy();
        return Response.json({ bye: true });
      }),
    });
    return { server, close: async () => (await server.close(), await store.close()) };
  }

  /** 100 sessions, each made by a creating write and more writes: established users. */
  async function establish(url: string): Promise<Browser[]> {
    const users = Array.from({ length: USERS }, () => new Browser(url));
    await inParallel(USERS, 16, async (index) => {
      for (let n = 0; n < SETUP_WRITES; n++) expect((await users[index]!.send('/write', write('counter'))).status).toBe(200);
    });
    return users;
  }

  /** Every user writes twice; one in ten logs in, one in ten logs out. */
  async function ordinaryUse(users: Browser[], answers: Record<number, number>): Promise<void> {
    await inParallel(users.length, 16, async (index) => {
      const user = users[index]!;
      for (let n = 0; n < 2; n++) tally(answers, (await user.send('/write', write('counter'))).status);
      if (index % 10 === 1) tally(answers, (await user.send('/login', write('user'))).status);
      if (index % 10 === 2) tally(answers, (await user.send('/logout', { headers: { 'idempotency-key': idemKey() } })).status);
    });
  }

  it('(a) one existing session writing records: refused at the share, the 100 others keep writing', async () => {
    const redis = await privateRedis();
    const app = await cookieApp(redis);
    try {
      const users = await establish(app.server.url);
      const attacker = new Browser(app.server.url);
      expect((await attacker.send('/write', write('counter'))).status).toBe(200);
      const seen: Record<number, number> = {};
      let turn = 0;
      const answers = await flood(
        async () => (await attacker.send('/fill', write('log'))).status,
        async () => (await users[turn++ % USERS]!.send('/write', write('counter'))).status,
        seen,
      );
      await ordinaryUse(users, seen);
      report('(a) one session writing records', answers, seen, await usedMemory(redis));
      expect(answers[503] ?? 0).toBeGreaterThan(0); // the flood reached the reserve
      const refused = await attacker.send('/fill', write('log'));
      expect([refused.status, refused.json().type, Number(refused.response.headers.get('retry-after')) > 0]).toEqual([503, 'https://session-lanes.dev/problems/store-unavailable', true]);
      expect(seen[503] ?? 0).toBe(0);
      expect(Object.keys(seen)).toEqual(['200']);
    } finally {
      await app.close();
    }
  });

  it('(b) one session rotating (logging in) again and again: refused past its allowance, the 100 others keep writing and logging in', async () => {
    const redis = await privateRedis();
    const app = await cookieApp(redis);
    try {
      const users = await establish(app.server.url);
      const attacker = new Browser(app.server.url);
      expect((await attacker.send('/write', write('counter'))).status).toBe(200);
      const seen: Record<number, number> = {};
      let turn = 0;
      const answers = await flood(
        async () => (await attacker.send('/login?bot', write('user'))).status,
        async () => (await users[turn++ % USERS]!.send('/write', write('counter'))).status,
        seen,
      );
      await ordinaryUse(users, seen);
      report('(b) one session rotating', answers, seen, await usedMemory(redis));
      expect(answers[503] ?? 0).toBeGreaterThan(0);
      expect(Object.keys(seen)).toEqual(['200']);
    } finally {
      await app.close();
    }
  });

  it('(c) new ids under a sessionId() resolver: refused above the share, the 100 established ids keep writing', async () => {
    const redis = await privateRedis();
    const store = redisStore({ url: redis.url });
    const options: ValidatorOptions = { store, sessionId: (request) => request.headers.get('x-sid'), onEvent: () => {} };
    const validator = createValidator(options);
    const server = await startServer({
      '/write': validator.route({ writes: ['counter'] }, (request, s) => {
        s.set('counter', ((s.get('counter') as number | undefined) ?? 0) + 1);
        return Response.json({ padding: new URL(request.url).searchParams.has('bot') ? BIG_ANSWER : '' });
      }),
    });
    try {
      const ids = Array.from({ length: USERS }, () => crypto.randomUUID());
      const send = (id: string, path = '/write') => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'x-sid': id, ...write('counter').headers } }).then(async (r) => (await r.text(), r.status));
      await inParallel(USERS, 16, async (index) => {
        for (let n = 0; n < SETUP_WRITES; n++) expect(await send(ids[index]!)).toBe(200);
      });
      const seen: Record<number, number> = {};
      let turn = 0;
      const answers = await flood(() => send(crypto.randomUUID(), '/write?bot'), () => send(ids[turn++ % USERS]!), seen);
      await inParallel(USERS, 16, async (index) => {
        for (let n = 0; n < 2; n++) tally(seen, await send(ids[index]!));
      });
      report('(c) new ids under a resolver', answers, seen, await usedMemory(redis));
      expect(answers[503] ?? 0).toBeGreaterThan(0);
      expect(Object.keys(seen)).toEqual(['200']);
    } finally {
      await server.close();
      await store.close();
    }
  });

  it("(c) the express-session recipe (saveUninitialized: true): cookie-less requests each make an id, refused above the share; express-session's users keep writing", async () => {
    const redis = await privateRedis();
    const store = redisStore({ url: redis.url });
    // express-session's own store is its MemoryStore here: a plain SET store on the same noeviction Redis would fill it by itself (docs/stores.md).
    const validator = createValidator({ store, sessionId: (_request, { req }: ExpressContext) => req.sessionID, onEvent: () => {} });
    const app = express();
    app.use(session({ secret: 'a secret of the app', resave: false, saveUninitialized: true }));
    app.post('/api/cart/:sku', withSession(validator, { writes: ['cart'] }), (req, res) => {
      (req.session.cart ??= []).push(req.params.sku);
      res.json({ size: req.session.cart.length, padding: req.params.sku === 'bot' ? BIG_ANSWER : '' });
    });
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const users = Array.from({ length: USERS }, () => new Browser(url));
      await inParallel(USERS, 16, async (index) => {
        for (let n = 0; n < SETUP_WRITES; n++) expect((await users[index]!.send(`/api/cart/s${n}`, write('cart'))).status).toBe(200);
      });
      const seen: Record<number, number> = {};
      let turn = 0;
      const answers = await flood(
        async () => (await new Browser(url).send('/api/cart/bot', write('cart'))).status,
        async () => (await users[turn++ % USERS]!.send('/api/cart/more', write('cart'))).status,
        seen,
      );
      await inParallel(USERS, 16, async (index) => {
        for (let n = 0; n < 2; n++) tally(seen, (await users[index]!.send('/api/cart/late', write('cart'))).status);
      });
      report('(c) express-session recipe', answers, seen, await usedMemory(redis));
      expect(answers[503] ?? 0).toBeGreaterThan(0);
      expect(Object.keys(seen)).toEqual(['200']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
    }
  });
});

declare module 'express-session' {
  interface SessionData {
    cart: string[];
  }
}
