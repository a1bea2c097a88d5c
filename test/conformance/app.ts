/**
 * The conformance test routes (conformance/README.md lists them) served by
 * our validator, on any store, with the clock route of test mode: the server
 * the vectors are proven against in CI.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { defineRoutes } from '../../src/routes/index.js';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { createValidator, type SessionStore } from '../../src/server/index.js';

export const conformanceRoutes = defineRoutes({
  append: { method: 'POST', path: '/conformance/items', writes: ['items'] },
  list: { method: 'GET', path: '/conformance/items', reads: ['items'] },
  note: { method: 'PUT', path: '/conformance/note', reads: ['items'], writes: ['note'] },
  limited: { method: 'PUT', path: '/conformance/limited', writes: ['limited'] },
  slow: { method: 'POST', path: '/conformance/slow', writes: ['slow'] },
  fail: { method: 'POST', path: '/conformance/fail', writes: ['items'] },
  login: { method: 'POST', path: '/conformance/login', writes: ['user'], rotates: true },
  logout: { method: 'POST', path: '/conformance/logout', ends: true },
});

export interface ConformanceServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the test routes on 127.0.0.1 over `store`; `secret` for a shared store. */
export async function startConformanceServer(store: SessionStore, secret = 'conformance-secret-conformance-secret!'): Promise<ConformanceServer> {
  let clockOffset = 0;
  const validator = createValidator({
    store,
    secret,
    now: () => Date.now() + clockOffset,
    onEvent: () => {}, // the fail route's throw is expected: keep the test output clean
    keys: { items: z.array(z.string()), limited: z.number().int().min(0).max(10) },
  });
  const api = validator.mount(conformanceRoutes, {
    append: async (request, session) => {
      const { token } = (await request.json()) as { token: string };
      session.set('items', [...((session.get('items') as string[] | undefined) ?? []), token]);
      return Response.json({ items: session.get('items') });
    },
    list: (_request, session) => Response.json({ items: session.get('items') ?? [] }),
    note: async (request, session) => {
      session.set('note', await request.json());
      return Response.json({ note: session.get('note') });
    },
    limited: async (request, session) => {
      session.set('limited', ((await request.json()) as { value: number }).value);
      return Response.json({ limited: session.get('limited') });
    },
    slow: async (request, session) => {
      const ms = Math.min(Number(new URL(request.url).searchParams.get('ms') ?? 0), 5_000);
      await new Promise((resolve) => setTimeout(resolve, ms));
      session.set('slow', await request.json());
      return Response.json({ slow: session.get('slow') });
    },
    fail: () => {
      throw new Error('the conformance fail route always throws');
    },
    login: async (request, session) => {
      session.set('user', ((await request.json()) as { user: string }).user);
      session.rotate();
      return Response.json({ user: session.get('user') });
    },
    logout: (_request, session) => {
      session.destroy();
      return Response.json({ ok: true });
    },
  });
  const server: Server = createServer(
    toNodeListener(async (request) => {
      if (new URL(request.url).pathname !== '/__conformance/clock') return api(request);
      if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
      clockOffset += Number(((await request.json()) as { advanceMs: number }).advanceMs);
      return new Response(null, { status: 204 });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
