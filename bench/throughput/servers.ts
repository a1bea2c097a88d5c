/**
 * One benchmark server, run in its own process by bench/throughput/run.ts:
 *
 *   node --import tsx bench/throughput/servers.ts <kind>
 *
 * Every kind serves the same two routes on 127.0.0.1 (a free port, printed
 * as one JSON line on stdout):
 *   POST /counter  body {"by":1}: increments the session's counter (a committing write)
 *   GET  /counter  reads it
 * Kinds: bare (a Fetch handler through the Node bridge, no session),
 * lanes-memory, lanes-redis, lanes-postgres (the validator), express-memory,
 * express-redis, express-postgres (express-session with its MemoryStore,
 * connect-redis or connect-pg-simple), baseline-memory,
 * baseline-redis (the validator from BENCH_BASELINE_SRC; `baseline-memory:2`
 * from the second of a comma-separated list). Redis keys go under
 * BENCH_REDIS_PREFIX, which run.ts makes unique and deletes afterwards;
 * PostgreSQL tables start with BENCH_PG_PREFIX, which run.ts drops afterwards.
 * Both PostgreSQL kinds get a pg Pool of the same size (pg's default, 10).
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import connectPgSimple from 'connect-pg-simple';
import pg from 'pg';
import * as current from '../../src/server/index.js';
import { toNodeListener as currentListener } from '../../src/server/adapters/node.js';
import { redisStore as currentRedisStore } from '../../src/server/stores/redis.js';
import { postgresStore } from '../../src/server/stores/postgres.js';

/** `baseline-memory:2`: the second copy of BENCH_BASELINE_SRC (a comma-separated list); without a number, the first. */
export type ServerKind = 'bare' | 'lanes-memory' | 'lanes-redis' | 'lanes-postgres' | 'express-memory' | 'express-redis' | 'express-postgres' | 'baseline-memory' | 'baseline-redis' | `baseline-${'memory' | 'redis'}:${number}`;

/**
 * The validator's code: this checkout's, or for the baseline kinds an older
 * copy of `src/` (BENCH_BASELINE_SRC, e.g. a `git archive` of the commit
 * before a change, with a node_modules link beside it), so that a change is
 * measured against the code before it in the same run.
 */
interface LanesCode {
  createValidator: typeof current.createValidator;
  memoryStore: typeof current.memoryStore;
  redisStore: typeof currentRedisStore;
  toNodeListener: typeof currentListener;
}

async function lanesCode(baseline: number | null): Promise<LanesCode> {
  if (baseline === null) return { createValidator: current.createValidator, memoryStore: current.memoryStore, redisStore: currentRedisStore, toNodeListener: currentListener };
  const src = process.env.BENCH_BASELINE_SRC?.split(',')[baseline - 1];
  if (!src) throw new Error(`the baseline kinds need BENCH_BASELINE_SRC: the src/ directories of the code to compare with (copy ${baseline} is missing)`);
  const [index, node, redis] = await Promise.all([import(`${src}/server/index.ts`), import(`${src}/server/adapters/node.ts`), import(`${src}/server/stores/redis.ts`)]);
  return { createValidator: index.createValidator, memoryStore: index.memoryStore, redisStore: redis.redisStore, toNodeListener: node.toNodeListener };
}

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = process.env.BENCH_REDIS_PREFIX ?? `bench-${process.pid}:`;
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_PREFIX = process.env.BENCH_PG_PREFIX ?? `bench_${process.pid}_`;

function pgPool(): pg.Pool {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL });
  pool.on('error', () => {});
  return pool;
}

const json = (value: unknown) => Response.json(value);

function bare(): Server {
  return createServer(
    currentListener(async (request) => {
      if (request.method === 'POST') {
        const { by } = (await request.json()) as { by: number };
        return json({ counter: by });
      }
      return json({ counter: 0 });
    }),
  );
}

type StoreKind = 'memory' | 'redis' | 'postgres';

async function lanes(store: StoreKind, baseline: number | null = null): Promise<Server> {
  const { createValidator, memoryStore, redisStore, toNodeListener } = await lanesCode(baseline);
  const validator = createValidator({
    store:
      store === 'memory'
        ? memoryStore()
        : store === 'redis'
          ? redisStore({ url: REDIS_URL, prefix: PREFIX })
          : postgresStore({ connectionString: POSTGRES_URL, tablePrefix: `${PG_PREFIX}lanes_` }),
    // A fixed secret so that every process of a cluster would derive the same ids; one process here.
    secret: 'bench-secret-bench-secret-bench-secret',
  });
  const write = validator.route({ writes: ['counter'] }, async (request, session) => {
    const { by } = (await request.json()) as { by: number };
    const counter = ((session.get('counter') as number | undefined) ?? 0) + by;
    session.set('counter', counter);
    return json({ counter });
  });
  const read = validator.route({ reads: ['counter'] }, (_request, session) => json({ counter: (session.get('counter') as number | undefined) ?? 0 }));
  return createServer(toNodeListener((request) => (request.method === 'POST' ? write(request) : read(request))));
}

async function expressSession(store: StoreKind): Promise<Server> {
  let sessionStore: session.Store | undefined;
  if (store === 'redis') {
    const client = createClient({ url: REDIS_URL });
    client.on('error', () => {});
    await client.connect();
    sessionStore = new RedisStore({ client, prefix: PREFIX });
  }
  if (store === 'postgres') {
    const PgStore = connectPgSimple(session);
    // pruneSessionInterval: false, so that no pruning sweep falls inside a measured run.
    sessionStore = new PgStore({ pool: pgPool(), tableName: `${PG_PREFIX}express`, createTableIfMissing: true, pruneSessionInterval: false });
  }
  const app = express();
  app.use(
    session({
      secret: 'bench-secret-bench-secret-bench-secret',
      resave: false,
      saveUninitialized: false,
      ...(sessionStore ? { store: sessionStore } : {}),
    }),
  );
  app.post('/counter', express.json(), (req, res) => {
    const data = req.session as unknown as { counter?: number };
    data.counter = (data.counter ?? 0) + (req.body as { by: number }).by;
    res.json({ counter: data.counter });
  });
  app.get('/counter', (req, res) => {
    res.json({ counter: (req.session as unknown as { counter?: number }).counter ?? 0 });
  });
  // The warm-up's end cuts requests mid-body: answer them quietly rather than print a stack per cut.
  app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(400).end();
  });
  return createServer(app);
}

async function serverOf(kind: ServerKind): Promise<Server> {
  const baseline = /^baseline-(memory|redis)(?::([0-9]+))?$/.exec(kind);
  if (baseline) return lanes(baseline[1] as 'memory' | 'redis', Number(baseline[2] ?? 1));
  switch (kind) {
    case 'bare':
      return bare();
    case 'lanes-memory':
      return lanes('memory');
    case 'lanes-redis':
      return lanes('redis');
    case 'lanes-postgres':
      return lanes('postgres');
    case 'express-memory':
      return expressSession('memory');
    case 'express-redis':
      return expressSession('redis');
    case 'express-postgres':
      return expressSession('postgres');
    default:
      throw new Error(`unknown server kind ${JSON.stringify(kind)}`);
  }
}

const server = await serverOf(process.argv[2] as ServerKind);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
// The parent asks for the CPU time spent so far, to report server CPU per request (steadier than req/s on a busy machine).
process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send?.({ cpuMicros: user + system });
});
// The parent ends us with SIGTERM; write the CPU profile (--cpu-prof) on the way out.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
