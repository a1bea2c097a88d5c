/**
 * A tiny app server in its own process, for test/stores/multi-process.test.ts:
 * the validator over a shared Redis or PostgreSQL store. Configured by
 * environment (STORE=redis|postgres, STORE_URL, STORE_PREFIX, SECRET); prints
 * {"port": N} on stdout once it listens; exits on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { createValidator } from '../../src/server/index.js';
import { postgresStore } from '../../src/server/stores/postgres.js';
import { redisStore } from '../../src/server/stores/redis.js';

const { STORE, STORE_URL, STORE_PREFIX = '', SECRET = '' } = process.env;
const store =
  STORE === 'redis' ? redisStore({ url: STORE_URL!, prefix: STORE_PREFIX }) : postgresStore({ connectionString: STORE_URL!, tablePrefix: STORE_PREFIX });
const validator = createValidator({ store, secret: SECRET });

const routes: Record<string, (request: Request) => Promise<Response>> = {
  // A read-modify-write of its own: the lost update that whole-session saves suffer.
  '/increment': validator.route({ writes: ['counter'] }, async (_request, session) => {
    const value = (session.get('counter') as number | undefined) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5)); // widen the race window
    session.set('counter', value + 1);
    return Response.json({ value: value + 1, pid: process.pid });
  }),
  '/read': validator.route({ reads: ['counter'] }, async (_request, session) => Response.json({ value: session.get('counter') ?? 0 })),
};

const server = createServer(
  toNodeListener((request) => {
    const route = routes[new URL(request.url).pathname];
    return route ? route(request) : Promise.resolve(new Response('not found', { status: 404 }));
  }),
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void store.close().finally(() => process.exit(0)));
});
