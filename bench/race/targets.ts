/**
 * The servers the race bench drives, each a real HTTP server on 127.0.0.1
 * serving the routes of ./routes.ts:
 * - express-session 1.19 with its MemoryStore, and with connect-redis (a unique
 *   prefix on the shared Redis, deleted on close), as an app writes it: load
 *   the whole session, work, save the whole session; login by `regenerate()`;
 * - lock: the same whole-session handlers behind one lock per session (the
 *   PHP file-session way): nothing can be lost, so any anomaly is the
 *   checker's false positive;
 * - session-lanes: `createValidator` + `toNodeListener` on memory, Redis or
 *   PostgreSQL (unique prefix or tables, removed on close).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { sessionLocks } from '../../demo/server/session-locks.js';
import { memoryStore, type SessionStore } from '../../src/server/index.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';
import { deleteRedisPrefix } from '../redis-cleanup.js';
import { CURRENT, type ValidatorCode } from './code.js';
import { FAST_MS, raceTable, SLOW_MS, type RaceState } from './routes.js';
import pg from 'pg';

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type TargetName = 'express-memory' | 'express-redis' | 'lock' | 'lanes-memory' | 'lanes-redis' | 'lanes-postgres';

export interface Target {
  readonly name: TargetName;
  readonly url: string;
  /** The session cookie's name, so that the driver can name sessions. */
  readonly cookie: string;
  /** Whether requests go through session-lanes' client (it speaks the session headers). */
  readonly lanes: boolean;
  close(): Promise<void>;
}

const pause = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
const unique = () => randomBytes(5).toString('hex');

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The whole session as a plain object, the way express-session and the lock server hold it. */
type Values = { slow?: string[]; fast?: string[]; counter?: number; flash?: string[]; views?: number; user?: string };

const stateOf = (values: Values): RaceState => ({
  slow: values.slow ?? [],
  fast: values.fast ?? [],
  counter: values.counter ?? 0,
  flash: values.flash ?? [],
  views: values.views ?? 0,
  user: values.user ?? null,
});

/** The whole-session handlers: each gets the copy loaded at the start and changes it; the caller saves it whole. */
const wholeSession = {
  async append(values: Values, list: 'slow' | 'fast', token: string) {
    const loaded = values[list] ?? [];
    await pause(list === 'slow' ? SLOW_MS : FAST_MS);
    values[list] = [...loaded, token];
  },
  async increment(values: Values) {
    const loaded = values.counter ?? 0;
    await pause(SLOW_MS);
    values.counter = loaded + 1;
  },
  async view(values: Values) {
    await pause(FAST_MS);
    values.views = (values.views ?? 0) + 1;
    return { slow: values.slow ?? [], fast: values.fast ?? [] };
  },
  flash(values: Values, token: string) {
    values.flash = [...(values.flash ?? []), token];
  },
  takeFlash(values: Values) {
    const flash = values.flash ?? [];
    values.flash = [];
    return { flash };
  },
};

// --- express-session ---

export async function expressSessionTarget(store: 'memory' | 'redis'): Promise<Target> {
  let redis: ReturnType<typeof createClient> | undefined;
  const prefix = `bench-race-${unique()}:`;
  let sessionStore: session.Store | undefined;
  if (store === 'redis') {
    redis = createClient({ url: REDIS_URL });
    redis.on('error', () => {});
    await redis.connect();
    sessionStore = new RedisStore({ client: redis, prefix });
  }
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'bench-race-secret-bench-race-secret', resave: false, saveUninitialized: false, ...(sessionStore ? { store: sessionStore } : {}) }));
  const values = (req: express.Request) => req.session as unknown as Values;
  const token = (req: express.Request) => String((req.body as { token?: unknown }).token);
  app.post('/race/append/:list', async (req, res) => {
    await wholeSession.append(values(req), req.params.list === 'slow' ? 'slow' : 'fast', token(req));
    res.json({ ok: true });
  });
  app.post('/race/incr', async (req, res) => {
    await wholeSession.increment(values(req));
    res.json({ counter: values(req).counter });
  });
  app.post('/race/view', async (req, res) => void res.json(await wholeSession.view(values(req))));
  app.post('/race/flash', (req, res) => void (wholeSession.flash(values(req), token(req)), res.json({ ok: true })));
  app.post('/race/flash/take', (req, res) => void res.json(wholeSession.takeFlash(values(req))));
  app.post('/race/login', (req, res, next) => {
    // As apps do it: keep what the visitor had, regenerate the id (fixation), set the user.
    const { cookie: _cookie, ...kept } = req.session as unknown as Values & { cookie: unknown };
    req.session.regenerate((error) => {
      if (error) return next(error);
      Object.assign(req.session, kept, { user: 'ada' });
      res.json({ welcome: 'ada' });
    });
  });
  app.post('/race/logout', (req, res, next) =>
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('connect.sid').json({});
    }),
  );
  app.get('/race/state', (req, res) => void res.json(stateOf(values(req))));
  const server = createServer(app);
  const url = await listen(server);
  return {
    name: store === 'memory' ? 'express-memory' : 'express-redis',
    url,
    cookie: 'connect.sid',
    lanes: false,
    async close() {
      await closeServer(server);
      if (redis) {
        await redis.quit();
        await deleteRedisPrefix(REDIS_URL, prefix);
      }
    },
  };
}

// --- one lock per session ---

/** Whole-session handlers over an in-memory map, each request holding its session's lock from load to save. */
export async function lockTarget(): Promise<Target> {
  const COOKIE = 'lock_sid';
  const sessions = new Map<string, string>(); // id -> JSON of the whole session
  const lock = sessionLocks();
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString()) as { token?: string }) : {};
    const cookieId = /(?:^|;\s*)lock_sid=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    let id = cookieId ?? randomBytes(12).toString('hex');
    const release = await lock(id);
    let answer: unknown = { ok: true };
    const cookies: string[] = [];
    try {
      // A session that ended (logout) or moved (login) while this request waited: nothing is applied, and no new
      // session is made for a cookie that named one (only a cookie-less request makes one). No Set-Cookie: the
      // client's cookie may be newer than this request's.
      if (cookieId !== undefined && !sessions.has(cookieId)) {
        res.writeHead(410, { 'content-type': 'application/json' }).end('{"error":"session ended"}');
        return;
      }
      const known = cookieId !== undefined;
      // Loaded after the lock: a request that waited sees what the one before it saved.
      const values = JSON.parse(sessions.get(id) ?? '{}') as Values;
      let save = true;
      const path = (req.url ?? '').split('?')[0];
      if (path === '/race/append/slow' || path === '/race/append/fast') await wholeSession.append(values, path.endsWith('slow') ? 'slow' : 'fast', String(body.token));
      else if (path === '/race/incr') await wholeSession.increment(values);
      else if (path === '/race/view') answer = await wholeSession.view(values);
      else if (path === '/race/flash') wholeSession.flash(values, String(body.token));
      else if (path === '/race/flash/take') answer = wholeSession.takeFlash(values);
      else if (path === '/race/state') ((answer = stateOf(values)), (save = false));
      else if (path === '/race/login') {
        sessions.delete(id);
        id = randomBytes(12).toString('hex'); // the new id is nobody's yet: no lock to take
        values.user = 'ada';
        cookies.push(`${COOKIE}=${id}; Path=/; HttpOnly`);
      } else if (path === '/race/logout') {
        sessions.delete(id);
        save = false;
        cookies.push(`${COOKIE}=; Path=/; Max-Age=0`);
      } else {
        res.writeHead(404).end();
        return;
      }
      if (save) sessions.set(id, JSON.stringify(values));
      if (save && !known && path !== '/race/login') cookies.push(`${COOKIE}=${id}; Path=/; HttpOnly`);
    } finally {
      release();
    }
    res.writeHead(200, { 'content-type': 'application/json', ...(cookies.length > 0 ? { 'set-cookie': cookies } : {}) }).end(JSON.stringify(answer));
  });
  const url = await listen(server);
  return { name: 'lock', url, cookie: COOKIE, lanes: false, close: () => closeServer(server) };
}

// --- session-lanes ---

export interface LanesStore {
  readonly store: SessionStore;
  cleanUp(): Promise<void>;
}

/** A session-lanes store of the kind, on its own Redis prefix or PostgreSQL tables (removed by cleanUp). */
export function openLanesStore(kind: 'memory' | 'redis' | 'postgres', options: { redisUrl?: string; postgresUrl?: string } = {}): LanesStore {
  if (kind === 'memory') return { store: memoryStore(), cleanUp: async () => {} };
  if (kind === 'redis') {
    const prefix = `bench-race-${unique()}:`;
    return { store: redisStore({ url: options.redisUrl ?? REDIS_URL, prefix }), cleanUp: () => deleteRedisPrefix(REDIS_URL, prefix) };
  }
  const tablePrefix = `bench_race_${unique()}_`;
  const pool = new pg.Pool({ connectionString: options.postgresUrl ?? POSTGRES_URL, max: 8, connectionTimeoutMillis: 2_000 });
  pool.on('error', () => {});
  return {
    store: postgresStore({ pool, tablePrefix }),
    async cleanUp() {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP TABLE IF EXISTS ${tablePrefix}records, ${tablePrefix}entries, ${tablePrefix}sessions, ${tablePrefix}tombstones CASCADE`);
      await admin.end();
    },
  };
}

/** The race routes on session-lanes' validator, as one Fetch handler. */
export function lanesHandler(store: SessionStore, code: ValidatorCode = CURRENT.validator) {
  const validator = code.createValidator({ store, secret: 'bench-race-secret-bench-race-secret', onEvent: () => {} });
  type Session = { get(key: string): unknown; set(key: string, value: unknown): void };
  const append = (list: 'slow' | 'fast') => async (request: Request, session: Session) => {
    const { token } = (await request.json()) as { token: string };
    const loaded = (session.get(list) as string[] | undefined) ?? [];
    await pause(list === 'slow' ? SLOW_MS : FAST_MS);
    session.set(list, [...loaded, token]);
    return Response.json({ ok: true });
  };
  return validator.mount(raceTable, {
    appendSlow: append('slow'),
    appendFast: append('fast'),
    async increment(_request, session) {
      const loaded = (session.get('counter') as number | undefined) ?? 0;
      await pause(SLOW_MS);
      session.set('counter', loaded + 1);
      return Response.json({ counter: loaded + 1 });
    },
    view(_request, session) {
      session.set('views', ((session.get('views') as number | undefined) ?? 0) + 1);
      return Response.json({ slow: session.get('slow') ?? [], fast: session.get('fast') ?? [] });
    },
    async flash(request, session) {
      const { token } = (await request.json()) as { token: string };
      session.set('flash', [...((session.get('flash') as string[] | undefined) ?? []), token]);
      return Response.json({ ok: true });
    },
    takeFlash(_request, session) {
      const flash = (session.get('flash') as string[] | undefined) ?? [];
      session.set('flash', []);
      return Response.json({ flash });
    },
    login(_request, session) {
      session.set('user', 'ada');
      session.rotate();
      return Response.json({ welcome: 'ada' });
    },
    logout(_request, session) {
      session.destroy();
      return Response.json({});
    },
    state: (_request, session) =>
      Response.json(stateOf({ slow: session.get('slow'), fast: session.get('fast'), counter: session.get('counter'), flash: session.get('flash'), views: session.get('views'), user: session.get('user') } as Values)),
  });
}

/** session-lanes on a store; `code`: an older copy's validator (memory store only), see ./code.ts. */
export async function lanesTarget(kind: 'memory' | 'redis' | 'postgres', code?: ValidatorCode, options: { slowAnswers?: number } = {}): Promise<Target> {
  const { store, cleanUp } = code ? { store: code.memoryStore(), cleanUp: async () => {} } : openLanesStore(kind);
  const handler = lanesHandler(store, code);
  // A slow network: a share of the answers is held back after the server made them, so that answers overtake each other.
  const slowed = async (request: Request) => {
    const response = await handler(request);
    if (Math.random() < (options.slowAnswers ?? 0)) await pause(Math.random() * 40);
    return response;
  };
  const server = createServer((code ?? CURRENT.validator).toNodeListener(slowed));
  const url = await listen(server);
  return {
    name: `lanes-${kind}`,
    url,
    cookie: 'sl_session',
    lanes: true,
    async close() {
      await closeServer(server);
      await store.close();
      await cleanUp();
    },
  };
}

export function startTarget(name: TargetName): Promise<Target> {
  if (name === 'express-memory') return expressSessionTarget('memory');
  if (name === 'express-redis') return expressSessionTarget('redis');
  if (name === 'lock') return lockTarget();
  return lanesTarget(name.slice('lanes-'.length) as 'memory' | 'redis' | 'postgres');
}
