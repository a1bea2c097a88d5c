/**
 * The fuzzer's server: one Node HTTP server on 127.0.0.1 that serves the
 * fuzzer's page (built once with Vite) and its routes (./routes.ts) on
 * session-lanes' validator, over a memory, Redis or PostgreSQL store, and
 * that the fuzzer can break:
 * - `outage(ms)`: the store fails for a while (memory: each call fails before
 *   it runs, or a commit after it applied; Redis and PostgreSQL: a TCP proxy
 *   in front of the store cuts every connection and refuses new ones);
 * - `restart()`: the HTTP server closes every connection and comes back on
 *   the same port with a new validator over the same store (a process restart
 *   with a durable store; the memory store object outlives it, as Redis would).
 *
 * Every attempt that reaches a route is logged with the token (or operation
 * id) it carries, the session its cookie named (a hash) and what its answer's
 * Set-Cookie did: the fuzzer builds the history's sessions from this log,
 * because a page cannot read an HttpOnly cookie.
 *
 * `src` runs an older copy of the code (`git worktree add /tmp/old <commit>`,
 * node_modules linked beside it): its validator, and its client in the page.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { build, type Plugin } from 'vite';
import { startProxy, type Proxy } from '../../bench/torture/proxy.js';
import { deleteRedisPrefix } from '../../bench/redis-cleanup.js';
import { sessionName } from '../../bench/race/driver.js';
import type * as ServerIndex from '../../src/server/index.js';
import type * as NodeAdapter from '../../src/server/adapters/node.js';
import type { SessionStore } from '../../src/server/store.js';

export type FuzzStore = 'memory' | 'redis' | 'postgres';

export interface FuzzServerOptions {
  readonly store: FuzzStore;
  /** An older copy's src/ directory, to run its validator and client instead of this checkout's. */
  readonly src?: string;
  /** Each append works a random 0..handlerMs ms between its read and its write. @default 40 */
  readonly handlerMs?: number;
}

/** One attempt that reached a route. Times: ms since the Unix epoch (sub-ms), as the pages' clocks count. */
export interface ServedAttempt {
  /** The token of an append, or the operation id of a login, logout or read. */
  readonly tag: string | undefined;
  readonly path: string;
  readonly at: number;
  readonly answeredAt: number;
  readonly status: number;
  readonly session: string | undefined;
  readonly sessionAfter: string | undefined;
}

export interface FuzzServer {
  readonly url: string;
  readonly log: ServedAttempt[];
  readonly faults: { outages: number; storeFailures: number; restarts: number };
  outage(ms: number): void;
  restart(downMs: number): Promise<void>;
  close(): Promise<void>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CURRENT_SRC = resolve(HERE, '../../src');
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const COOKIE = 'sl_session';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));
const clock = () => performance.timeOrigin + performance.now();

/** Builds the page into a temporary directory; with `src`, every module of this checkout's src/ comes from there. */
async function buildPage(src: string | undefined): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'session-lanes-fuzz-'));
  const older: Plugin = {
    name: 'fuzz-older-src',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (!src || !importer) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return resolved && resolved.id.startsWith(`${CURRENT_SRC}/`) ? join(src, resolved.id.slice(CURRENT_SRC.length)) : null;
    },
  };
  await build({ configFile: false, root: HERE, logLevel: 'warn', plugins: [older], build: { outDir, emptyOutDir: true, minify: false, sourcemap: false } });
  return outDir;
}

/** The store flaps while `down`: a call fails before it runs, or (commit) after it applied, so the validator cannot tell which. */
function outageStore(store: SessionStore, state: { downUntil: number; failures: number }): SessionStore {
  const down = () => Date.now() < state.downUntil;
  const fail = () => {
    state.failures++;
    throw new Error('injected store outage');
  };
  return {
    begin: async (input) => (down() ? fail() : store.begin(input)),
    async commit(input) {
      if (down() && Math.random() < 0.5) fail();
      const result = await store.commit(input);
      if (down()) fail();
      return result;
    },
    release: (input) => store.release(input),
    touch: (input) => store.touch(input),
    close: () => store.close(),
  };
}

export async function startFuzzServer(options: FuzzServerOptions): Promise<FuzzServer> {
  const src = options.src ? resolve(options.src) : undefined;
  const code = src ?? CURRENT_SRC;
  const [index, adapter] = (await Promise.all([import(`${code}/server/index.ts`), import(`${code}/server/adapters/node.ts`)])) as [typeof ServerIndex, typeof NodeAdapter];
  const pageDir = await buildPage(src);
  const unique = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const faults = { outages: 0, storeFailures: 0, restarts: 0 };
  const outageState = { downUntil: 0, failures: 0 };

  // The store, behind what breaks it.
  let store: SessionStore;
  let storeProxy: Proxy | null = null;
  let cleanUp = async () => {};
  if (options.store === 'memory') store = outageStore(index.memoryStore(), outageState);
  else {
    const target = new URL(options.store === 'redis' ? REDIS_URL : POSTGRES_URL);
    storeProxy = await startProxy({ host: target.hostname, port: Number(target.port || (options.store === 'redis' ? 6379 : 5432)) });
    const via = new URL(target);
    via.hostname = '127.0.0.1';
    via.port = String(storeProxy.port);
    if (options.store === 'redis') {
      const { redisStore } = (await import(`${code}/server/stores/redis.ts`)) as typeof import('../../src/server/stores/redis.js');
      const prefix = `fuzz-${unique}:`;
      store = redisStore({ url: via.toString(), prefix });
      cleanUp = () => deleteRedisPrefix(REDIS_URL, prefix);
    } else {
      const { postgresStore } = (await import(`${code}/server/stores/postgres.ts`)) as typeof import('../../src/server/stores/postgres.js');
      const tablePrefix = `fuzz_${unique}_`;
      const pool = new pg.Pool({ connectionString: via.toString(), max: 8, connectionTimeoutMillis: 2_000 });
      pool.on('error', () => {});
      store = postgresStore({ pool, tablePrefix });
      cleanUp = async () => {
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`DROP TABLE IF EXISTS ${tablePrefix}records, ${tablePrefix}entries, ${tablePrefix}sessions, ${tablePrefix}tombstones CASCADE`);
        await admin.end();
      };
    }
  }

  const handlerMs = options.handlerMs ?? 40;
  const log: ServedAttempt[] = [];
  /** A new validator over the same store: what a restarted process makes. A short lease, so that a claim the crash left behind ends within the run. */
  function routes() {
    const validator = index.createValidator({ store, secret: 'fuzz-secret-fuzz-secret-fuzz-secret', leaseMs: 3_000, onEvent: () => {} });
    const append = (key: string) =>
      validator.route({ writes: [key] }, async (request, session) => {
        const { token } = (await request.json()) as { token: string };
        const loaded = (session.get(key) as string[] | undefined) ?? [];
        await pause(Math.random() * handlerMs);
        session.set(key, [...loaded, token]);
        return Response.json({ ok: true });
      });
    const table: Record<string, (request: Request) => Response | Promise<Response>> = {
      'POST /fuzz/append/a': append('a'),
      'POST /fuzz/append/b': append('b'),
      'POST /fuzz/append/c': append('c'),
      'POST /fuzz/login': validator.route({ writes: ['user'], rotates: true }, (_request, session) => {
        session.set('user', 'ada');
        session.rotate();
        return Response.json({ welcome: 'ada' });
      }),
      'POST /fuzz/logout': validator.route({ ends: true }, (_request, session) => {
        session.destroy();
        return Response.json({});
      }),
      'GET /fuzz/state': validator.route({ reads: ['a', 'b', 'c', 'user'] }, (_request, session) =>
        Response.json({ a: session.get('a') ?? [], b: session.get('b') ?? [], c: session.get('c') ?? [], user: session.get('user') ?? null }),
      ),
    };
    return table;
  }
  let table = routes();

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const route = table[`${request.method} ${url.pathname}`];
    if (!route) {
      // The page: index.html and the built assets.
      const file = join(pageDir, url.pathname === '/' ? 'index.html' : url.pathname.slice(1));
      if (!file.startsWith(pageDir)) return new Response('not found', { status: 404 });
      try {
        return new Response(readFileSync(file), { headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' } });
      } catch {
        return new Response('not found', { status: 404 });
      }
    }
    const at = clock();
    let tag = url.searchParams.get('op') ?? undefined;
    if (request.method === 'POST') {
      try {
        const body = JSON.parse(await request.clone().text()) as { token?: string; op?: string };
        tag = body.token ?? body.op;
      } catch {
        // not one of ours
      }
    }
    const cookie = /(?:^|;\s*)sl_session=([^;]*)/.exec(request.headers.get('cookie') ?? '')?.[1];
    const response = await Promise.resolve(route(request)).catch(() => new Response('server error', { status: 500 }));
    let sessionAfter: string | undefined;
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      if (!pair.startsWith(`${COOKIE}=`)) continue;
      const value = pair.slice(COOKIE.length + 1);
      sessionAfter = value === '' || /max-age=0/i.test(line) ? '' : sessionName(value);
    }
    log.push({ tag, path: url.pathname, at, answeredAt: clock(), status: response.status, session: sessionName(cookie || undefined), sessionAfter });
    return response;
  };

  let server: Server;
  const listen = async (port: number) => {
    server = createServer(adapter.toNodeListener(handler));
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
    return (server.address() as AddressInfo).port;
  };
  const port = await listen(0);
  const closeServer = () =>
    new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    log,
    get faults() {
      return { ...faults, storeFailures: outageState.failures + Math.floor(storeProxy?.faults.flapCuts ?? 0) };
    },
    outage(ms) {
      faults.outages++;
      if (storeProxy) storeProxy.flap(ms);
      else outageState.downUntil = Date.now() + ms;
    },
    async restart(downMs) {
      faults.restarts++;
      await closeServer();
      await pause(downMs);
      table = routes();
      await listen(port);
    },
    async close() {
      await closeServer();
      await store.close();
      await storeProxy?.close();
      await cleanUp();
      rmSync(pageDir, { recursive: true, force: true });
    },
  };
}
