/**
 * The session implementations bench/peers compares, each a real HTTP server
 * on 127.0.0.1 with the same three routes:
 *   POST /set/<key>?delay=ms   body {"value": v}: session[key] = v, after `delay` ms of work
 *   POST /incr/<key>?delay=ms  session[key] += 1, computed from the value loaded at the start
 *   GET  /get?keys=a,b         the values
 * and a browser for each: a cookie jar (plus, for session-lanes, its client).
 *
 * - express-session 1.19 with its MemoryStore, and with connect-redis 10
 *   (node-redis), as shipped: load the whole session at the start, save the
 *   whole session at the end if it changed.
 * - lock: the PHP file-session / Laravel `->block()` way, in a few lines: the
 *   request takes its session's lock before loading it and releases it after
 *   saving it, so a session's requests run one at a time.
 * - naive: Rails' and Django's cookie-less default, in a few lines: load a
 *   copy of the whole session at the start, save the whole copy at the end.
 * - session-lanes: the validator (memory store) and its client, the client
 *   running in Node in its in-memory mode (no IndexedDB, no Web Locks: one
 *   "tab" per browser) over real HTTP.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { createSessionClient } from '../../src/client/index.js';
import { createValidator, memoryStore, type TrackedSession } from '../../src/server/index.js';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { sessionLocks } from '../../demo/server/session-locks.js';
import { createCookieJar } from '../../test/support/client-cookie-jar.js';

export type Values = Record<string, unknown>;

/** One user's browser: what the workloads call. */
export interface Browser {
  set(key: string, value: unknown, delayMs: number): Promise<Response>;
  increment(key: string, delayMs: number): Promise<Response>;
  get(keys: readonly string[]): Promise<Values>;
}

export interface Peer {
  readonly name: string;
  readonly url: string;
  browser(): Browser;
  /** Answers the server gave with status 412 (session-lanes' conflicts), since the start. */
  readonly conflicts: () => number;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The browser of every peer but session-lanes: plain fetch with a cookie jar. */
function plainBrowser(url: string): Browser {
  const { fetch } = createCookieJar();
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return {
    set: (key, value, delayMs) => post(`/set/${key}?delay=${delayMs}`, { value }),
    increment: (key, delayMs) => post(`/incr/${key}?delay=${delayMs}`, {}),
    get: async (keys) => (await fetch(`${url}/get?keys=${keys.join(',')}`)).json() as Promise<Values>,
  };
}

// --- express-session ---

export async function expressSessionPeer(store: 'memory' | 'redis', redisUrl: string): Promise<Peer> {
  let sessionStore: session.Store | undefined;
  let redis: ReturnType<typeof createClient> | undefined;
  const prefix = `bench-peers-${randomBytes(5).toString('hex')}:`;
  if (store === 'redis') {
    redis = createClient({ url: redisUrl });
    redis.on('error', () => {});
    await redis.connect();
    sessionStore = new RedisStore({ client: redis, prefix });
  }
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'bench-peers-secret-bench-peers-secret', resave: false, saveUninitialized: false, ...(sessionStore ? { store: sessionStore } : {}) }));
  const data = (req: express.Request) => req.session as unknown as Values;
  app.post('/set/:key', async (req, res) => {
    await pause(Number(req.query.delay ?? 0));
    data(req)[req.params.key as string] = (req.body as { value: unknown }).value;
    res.json({ ok: true });
  });
  app.post('/incr/:key', async (req, res) => {
    const key = req.params.key as string;
    const loaded = (data(req)[key] as number | undefined) ?? 0;
    await pause(Number(req.query.delay ?? 0));
    data(req)[key] = loaded + 1;
    res.json({ value: loaded + 1 });
  });
  app.get('/get', (req, res) => {
    const keys = String(req.query.keys ?? '').split(',');
    res.json(Object.fromEntries(keys.map((key) => [key, data(req)[key]])));
  });
  const server = createServer(app);
  const url = await listen(server);
  return {
    name: `express-session (${store === 'memory' ? 'MemoryStore' : 'connect-redis'})`,
    url,
    browser: () => plainBrowser(url),
    conflicts: () => 0,
    async close() {
      await closeServer(server);
      if (redis) {
        for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await redis.del(keys);
        await redis.quit();
      }
    },
  };
}

// --- whole-session save, with and without a lock per session ---

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Load the whole session at the start, save the whole of it at the end; with `locked`, one request per session at a time. */
export async function wholeSessionPeer(locked: boolean): Promise<Peer> {
  const store = new Map<string, string>(); // id -> JSON of the whole session
  const lock = sessionLocks();
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://peer');
    const cookie = /(?:^|;\s*)sid=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
    const id = cookie && store.has(cookie) ? cookie : randomBytes(16).toString('hex');
    const release = locked ? await lock(id) : () => {};
    try {
      const data = JSON.parse(store.get(id) ?? '{}') as Values; // session_start(): the whole session, loaded
      const delay = Number(url.searchParams.get('delay') ?? 0);
      const [, action, key = ''] = url.pathname.split('/');
      let answer: unknown = { ok: true };
      if (action === 'set') {
        const body = await readJson(request);
        await pause(delay);
        data[key] = body.value;
      } else if (action === 'incr') {
        const loaded = (data[key] as number | undefined) ?? 0;
        await pause(delay);
        data[key] = loaded + 1;
        answer = { value: loaded + 1 };
      } else {
        answer = Object.fromEntries((url.searchParams.get('keys') ?? '').split(',').map((k) => [k, data[k]]));
      }
      store.set(id, JSON.stringify(data)); // session_write_close(): the whole session, saved
      response.writeHead(200, { 'content-type': 'application/json', ...(cookie === id ? {} : { 'set-cookie': `sid=${id}; Path=/; HttpOnly` }) });
      response.end(JSON.stringify(answer));
    } finally {
      release();
    }
  });
  const url = await listen(server);
  return { name: locked ? 'lock per session (PHP, Laravel block)' : 'naive whole-session save', url, browser: () => plainBrowser(url), conflicts: () => 0, close: () => closeServer(server) };
}

// --- session-lanes ---

export async function sessionLanesPeer(keys: readonly string[]): Promise<Peer> {
  const validator = createValidator({ store: memoryStore() });
  const routes = new Map<string, (request: Request) => Promise<Response>>();
  const delayOf = (request: Request) => Number(new URL(request.url).searchParams.get('delay') ?? 0);
  for (const key of keys) {
    routes.set(
      `POST /set/${key}`,
      validator.route({ writes: [key] }, async (request, s: TrackedSession) => {
        const { value } = (await request.json()) as { value: unknown };
        await pause(delayOf(request));
        s.set(key, value);
        return Response.json({ ok: true });
      }),
    );
    routes.set(
      `POST /incr/${key}`,
      validator.route({ writes: [key] }, async (request, s: TrackedSession) => {
        const loaded = (s.get(key) as number | undefined) ?? 0;
        await pause(delayOf(request));
        s.set(key, loaded + 1);
        return Response.json({ value: loaded + 1 });
      }),
    );
  }
  routes.set('GET /get', validator.route({ reads: [...keys] }, (_request, s: TrackedSession) => Response.json(Object.fromEntries(keys.map((key) => [key, s.get(key)])))));
  let conflicts = 0;
  const server = createServer(
    toNodeListener(async (request) => {
      const route = routes.get(`${request.method} ${new URL(request.url).pathname}`);
      if (!route) return new Response('not found', { status: 404 });
      const response = await route(request);
      if (response.status === 412) conflicts++;
      return response;
    }),
  );
  const url = await listen(server);
  return {
    name: 'session-lanes + client (in-memory mode)',
    url,
    conflicts: () => conflicts,
    browser() {
      const client = createSessionClient({ fetch: createCookieJar().fetch });
      const post = (path: string, key: string, body: unknown) =>
        client.fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), session: { writes: [key], blind: true } });
      return {
        set: (key, value, delayMs) => post(`/set/${key}?delay=${delayMs}`, key, { value }),
        increment: (key, delayMs) => post(`/incr/${key}?delay=${delayMs}`, key, {}),
        get: async (wanted) => (await client.fetch(`${url}/get`, { session: { reads: [...keys] } })).json().then((all: Values) => Object.fromEntries(wanted.map((key) => [key, all[key]]))),
      };
    },
    close: () => closeServer(server),
  };
}
