/**
 * The apps the race kit's tests race against, each on a real HTTP server on
 * 127.0.0.1: an Express 5 + express-session (MemoryStore) app written the way
 * its docs show (it loses updates), and the same routes on our validator.
 * Every handler takes about 5 ms, as a real one that touches a database does.
 */
import { createServer as createHttp2Server } from 'node:http2';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { toNodeListener, type FetchHandler } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { defineRaceConfig } from '../../src/race/config.js';

export interface RunningApp {
  readonly url: string;
  close(): Promise<void>;
}

const pause = (ms = 5) => new Promise((resolve) => setTimeout(resolve, ms));
type Body = { token?: string };

function listen(server: Server | ReturnType<typeof createHttp2Server>): Promise<RunningApp> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            if ('closeAllConnections' in server) server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** An Express 5 app with express-session's MemoryStore: whole-session saves, so concurrent writes to different keys erase each other. */
export function expressSessionApp(options: { logoutClearsCookie?: boolean } = {}): Promise<RunningApp> {
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'race-kit-test', resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
  const data = (request: express.Request) => request.session as unknown as Record<string, unknown>;
  const append = (key: string) => async (request: express.Request, response: express.Response) => {
    const list = (data(request)[key] as string[] | undefined) ?? [];
    await pause();
    data(request)[key] = [...list, (request.body as Body).token];
    response.status(201).json({ ok: true });
  };
  // The app's page: its own little client, which the Playwright fixture's in-page writers call.
  app.get('/', (_request, response) => {
    response.type('html').send(`<!doctype html><title>shop</title><script>
      window.app = { add: (key, token) => fetch('/' + key + '/add', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }) };
    </script>`);
  });
  app.post('/cart/add', append('cart'));
  app.post('/prefs/add', append('prefs'));
  app.post('/flash', append('flash'));
  app.get('/flash', async (request, response) => {
    const messages = (data(request).flash as string[] | undefined) ?? [];
    await pause();
    data(request).flash = [];
    response.json({ flash: messages });
  });
  app.post('/count', async (request, response) => {
    const value = (data(request).count as number | undefined) ?? 0;
    await pause();
    data(request).count = value + 1;
    response.json({ count: value + 1 });
  });
  app.get('/state', async (request, response) => {
    await pause();
    response.json({ cart: data(request).cart ?? [], prefs: data(request).prefs ?? [], count: data(request).count ?? 0 });
  });
  app.post('/login', (request, response, next) => {
    // express-session's documented login: regenerate, then copy what the visitor had.
    const before = { ...data(request) };
    request.session.regenerate((error) => {
      if (error) return next(error);
      for (const name of ['cart', 'prefs', 'count', 'flash']) if (before[name] !== undefined) data(request)[name] = before[name];
      data(request).user = 'ada';
      response.json({ ok: true });
    });
  });
  app.post('/logout', (request, response, next) => {
    request.session.destroy((error) => {
      if (error) return next(error);
      // Without clearCookie the browser keeps the destroyed id, and a write still in flight saves it back.
      if (options.logoutClearsCookie !== false) response.clearCookie('connect.sid');
      response.json({ ok: true });
    });
  });
  return listen(createServer(app));
}

/** The same routes on our validator (memory store), declared per key: no lost update, whatever the overlap. */
export function validatorRoutes(): FetchHandler {
  const validator = createValidator({ store: memoryStore() });
  const append = (key: string) =>
    validator.route({ writes: [key] }, async (request, session) => {
      const { token } = (await request.json()) as Body;
      const list = (session.get(key) as string[] | undefined) ?? [];
      await pause();
      session.set(key, [...list, token!]);
      return Response.json({ ok: true }, { status: 201 });
    });
  const routes: Record<string, FetchHandler> = {
    'POST /cart/add': append('cart'),
    'POST /prefs/add': append('prefs'),
    'GET /state': validator.route({ reads: ['cart', 'prefs'] }, async (_request, session) => {
      await pause();
      return Response.json({ cart: session.get('cart') ?? [], prefs: session.get('prefs') ?? [] });
    }),
    'POST /login': validator.route({ writes: ['user'], rotates: true }, async (_request, session) => {
      await pause();
      session.set('user', 'ada');
      session.rotate();
      return Response.json({ ok: true });
    }),
    'POST /logout': validator.route({ ends: true }, async (_request, session) => {
      await pause();
      session.destroy();
      return Response.json({ ok: true });
    }),
  };
  return (request) => {
    const route = routes[`${request.method} ${new URL(request.url).pathname}`];
    return route ? route(request) : new Response('not found', { status: 404 });
  };
}

export function validatorApp(): Promise<RunningApp> {
  return listen(createServer(toNodeListener(validatorRoutes())));
}

/** The validator over HTTP/2 cleartext (h2c): Node's compatibility API, through the same bridge. */
export function validatorHttp2App(): Promise<RunningApp> {
  const listener = toNodeListener(validatorRoutes()) as unknown as Parameters<typeof createHttp2Server>[1];
  return listen(createHttp2Server(listener));
}

/** The race config of the Express app, as a user writes it. */
export const expressConfig = (target: string) =>
  defineRaceConfig({
    target,
    writer: { path: '/{key}/add', keys: ['cart', 'prefs'], body: { token: '{token}' } },
    reader: { path: '/state', tokens: (body) => [...(body as { cart: string[] }).cart, ...(body as { prefs: string[] }).prefs], count: (body) => (body as { count: number }).count },
    increment: { path: '/count' },
    login: { path: '/login' },
    logout: { path: '/logout' },
    flash: { writer: { path: '/flash', body: { token: '{token}' } }, reader: { path: '/flash', tokens: (body) => (body as { flash: string[] }).flash } },
    cookie: 'connect.sid',
  });

/** Our validator's config: the same, plus the protocol's headers (blind writes, one Idempotency-Key per operation). */
export const validatorConfig = (target: string) =>
  defineRaceConfig({
    target,
    writer: { path: '/{key}/add', keys: ['cart', 'prefs'], body: { token: '{token}' }, headers: { 'session-write': '"{key}"', 'idempotency-key': '"{token}"' } },
    reader: { path: '/state', headers: { 'session-read': '"cart", "prefs"' }, tokens: (body) => [...(body as { cart: string[] }).cart, ...(body as { prefs: string[] }).prefs] },
    login: { path: '/login', headers: { 'session-write': '"user"', 'idempotency-key': '"{token}"' } },
    logout: { path: '/logout', headers: { 'idempotency-key': '"{token}"' } },
    cookie: 'sl_session',
  });
