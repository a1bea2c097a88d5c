/**
 * The Node adapter's path (toNodeListener: buffered bodies, held answers written without a web Response) answers
 * exactly as the Fetch API entry does. Two servers on 127.0.0.1 serve the same app over two fresh memory stores with
 * one clock and one secret: one through toNodeListener, one through @hono/node-server's plain bridge, which hands the
 * validator an unmarked Request and writes the real Response it gets back (the Fetch path). fast-check drives one
 * random sequence of requests through both and asserts identical status, headers and bodies, then identical store
 * state. Normalised: the `date` header (the server's clock), and tokens the validator draws at random (a rotated
 * session id, a new epoch), each replaced by its order of first appearance on its own server, so that "the same
 * token as before" still has to hold on both.
 */
import { request as httpRequest, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import type { MemoryStore } from '../../src/server/stores/memory.js';

const SECRET = 'node-path-property-secret-node-path-property-secret';
const KEYS = ['cart', 'prefs'];

/** What a handler saw of its request, echoed in its answer: both paths must hand it the same Request. */
async function seen(request: Request) {
  const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
  const url = new URL(request.url);
  return { real: request instanceof Request, method: request.method, target: url.pathname + url.search, type: request.headers.get('content-type'), probe: request.headers.get('x-probe'), body };
}

function app(store: MemoryStore, clock: { now: number }, resolver: boolean) {
  const validator = createValidator({
    store,
    secret: SECRET,
    now: () => clock.now,
    maxBodyBytes: 200,
    maxRecordedAnswerBytes: 120,
    onEvent: () => {},
    ...(resolver ? { sessionId: async (request: Request) => (request instanceof Request ? request.headers.get('x-user') : 'not-a-request') } : {}),
  });
  const cart = validator.route({ method: 'POST', path: '/cart', reads: ['prefs'], writes: ['cart'] }, async (request, session) => {
    const saw = await seen(request);
    if (saw.body.startsWith('throw')) throw new Error('the handler failed');
    const cart = [...((session.get('cart') as string[] | undefined) ?? []), saw.body.slice(0, 20)];
    session.set('cart', cart);
    if (saw.body.startsWith('204')) return new Response(null, { status: 204, headers: { 'x-own': 'empty' } });
    const headers = new Headers({ 'x-own': 'cart', vary: 'Accept' });
    headers.append('set-cookie', 'theme=dark; Path=/');
    // A long answer passes maxRecordedAnswerBytes: sent whole, recorded as the "not kept" body.
    const padding = saw.body.startsWith('long') ? '. '.repeat(150) : '';
    return Response.json({ cart, saw, padding, prefs: session.get('prefs') ?? null }, { status: saw.body.startsWith('201') ? 201 : 200, headers });
  });
  const prefs = validator.route({ reads: ['prefs', 'cart'] }, async (request, session) => {
    const saw = await seen(request);
    return new Response(`prefs=${JSON.stringify(session.get('prefs') ?? null)} cart=${JSON.stringify(session.get('cart') ?? null)} ${JSON.stringify(saw)}`, { headers: { 'cache-control': 'no-cache' } });
  });
  const setPrefs = validator.route({ writes: ['prefs'] }, async (request, session) => {
    const saw = await seen(request);
    session.set('prefs', { text: saw.body });
    return Response.json({ ok: true, saw });
  });
  const login = validator.route({ method: 'POST', path: '/login', rotates: true, writes: ['prefs'] }, async (request, session) => {
    await seen(request);
    session.rotate();
    session.set('prefs', 'logged-in');
    return Response.json({ rotated: true });
  });
  const logout = validator.route({ method: 'POST', path: '/logout', ends: true }, async (_request, session) => {
    session.destroy();
    return new Response('bye');
  });
  const routes: Record<string, (request: Request) => Promise<Response>> = resolver
    ? { '/cart': cart, '/prefs': prefs, '/prefs/set': setPrefs }
    : { '/cart': cart, '/prefs': prefs, '/prefs/set': setPrefs, '/login': login, '/logout': logout };
  return (request: Request): Promise<Response> | Response => {
    const { pathname } = new URL(request.url);
    const route = routes[pathname];
    return route ? route(request) : new Response('not found', { status: 404 });
  };
}

async function listen(listener: Parameters<typeof createServer>[1]): Promise<{ port: number; close: () => Promise<unknown> }> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers: body === '' ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i < incoming.rawHeaders.length; i += 2) pairs.push([incoming.rawHeaders[i]!.toLowerCase(), incoming.rawHeaders[i + 1]!]);
        resolve({ status: incoming.statusCode!, headers: pairs, body: Buffer.concat(chunks).toString('utf8') });
      });
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body === '' ? undefined : body);
  });
}

/** Replaces each random token (22+ base64url characters: session ids, epochs) by its order of first appearance. */
class Tokens {
  private readonly seen = new Map<string, number>();
  normalise(text: string): string {
    return text.replace(/[A-Za-z0-9_-]{22,}/g, (token) => {
      if (!this.seen.has(token)) this.seen.set(token, this.seen.size);
      return `<token ${this.seen.get(token)!}>`;
    });
  }
  all(): string[] {
    return [...this.seen.keys()];
  }
}

/** One side's client: what it learned from its own server's answers, so that both sides send "the same" request. */
class Client {
  cookie: string | null = null;
  cookies: string[] = [];
  epoch: string | null = null;
  /** Session-Versions as last answered, raw: `"cart";v=1, "prefs";v=0`. */
  versions = new Map<string, number>();
  readonly tokens = new Tokens();
  learn(answer: Answer): void {
    for (const [name, value] of answer.headers) {
      if (name === 'set-cookie' && value.startsWith('sl_session=')) {
        const pair = value.split(';')[0]!;
        this.cookie = pair === 'sl_session=' ? null : pair;
        if (this.cookie) this.cookies.push(this.cookie);
      }
      if (name === 'session-epoch') this.epoch = value;
      if (name === 'session-versions') for (const [, key, version] of value.matchAll(/"([^"]+)";v=(\d+)/g)) this.versions.set(key!, Number(version));
    }
  }
  normalised(answer: Answer) {
    const headers = answer.headers
      .filter(([name]) => name !== 'date')
      .map(([name, value]) => `${name}: ${this.tokens.normalise(value)}`)
      .sort();
    return { status: answer.status, headers, body: this.tokens.normalise(answer.body) };
  }
}

const declaration = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('"cart"', '"prefs"', '"cart";v=0', '"cart";v=1', '"prefs";v=2', '"cart";v=1, "prefs";v=1', '"cart", "cart"', 'cart', '"cart";v=-1', '"nope"', '??', ''),
  fc.nat({ max: 4 }).map((v) => `"cart";v=${v}`),
);
const randomStep = fc.record({
  method: fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD'),
  path: fc.constantFrom('/cart', '/cart', '/prefs', '/prefs?x=1&y=%20', '/prefs/set', '/login', '/logout', '/nowhere'),
  read: declaration,
  write: declaration,
  epoch: fc.constantFrom('none', 'current', 'current', 'garbage'),
  cookie: fc.constantFrom('current', 'current', 'current', 'none', 'first', 'garbage'),
  key: fc.oneof(fc.constantFrom('none', 'fresh', 'fresh', 'fresh', 'repeat', 'malformed')),
  body: fc.oneof(fc.constantFrom('', 'tea', '{"sku":"tea"}', 'throw now', '204', '201 created', 'long answer', 'z '.repeat(125)), fc.string({ maxLength: 40 })),
  type: fc.constantFrom(undefined, 'application/json', 'text/plain'),
  user: fc.constantFrom(undefined, 'ada', 'bob'),
  advanceMs: fc.constantFrom(0, 0, 1_000, 90_000, 3_600_000),
});
type Step = (typeof randomStep extends fc.Arbitrary<infer T> ? T : never) & { resend?: true };

/** A request as the client would send it (its declaration from the versions it knows), so that most steps commit or read. */
const wellFormed = fc
  .record({
    route: fc.constantFrom(
      { method: 'POST', path: '/cart', read: 'known:prefs', write: 'known:cart' },
      { method: 'POST', path: '/cart', read: undefined, write: '"cart"' },
      { method: 'GET', path: '/prefs', read: 'known:prefs,cart', write: undefined },
      { method: 'POST', path: '/prefs?x=1&y=%20', read: 'known:prefs', write: undefined },
      { method: 'PUT', path: '/prefs/set', read: undefined, write: 'known:prefs' },
      { method: 'POST', path: '/login', read: undefined, write: 'known:prefs' },
      { method: 'POST', path: '/logout', read: undefined, write: undefined },
    ),
    body: fc.constantFrom('tea', '{"sku":"tea"}', 'throw now', '204', '201 created', 'long answer', ''),
    cookie: fc.constantFrom('current', 'current', 'current', 'first', 'none'),
    advanceMs: fc.constantFrom(0, 0, 1_000, 90_000),
    user: fc.constantFrom(undefined, 'ada', 'bob'),
  })
  .map(({ route, body, cookie, advanceMs, user }): Step => ({ ...route, body, cookie, advanceMs, user, epoch: 'current', key: route.write || route.path === '/logout' ? 'fresh' : 'none', type: 'application/json' }));
/** The previous request once more, unchanged (its Idempotency-Key too): a resend, answered from the record. */
const resend = fc.constant({ resend: true } as Step);
const step = fc.oneof({ arbitrary: wellFormed, weight: 6 }, { arbitrary: resend, weight: 2 }, { arbitrary: randomStep, weight: 3 });

function declared(value: string | undefined, client: Client): string | undefined {
  if (value === undefined || !value.startsWith('known:')) return value;
  return value
    .slice('known:'.length)
    .split(',')
    .map((key) => `"${key}";v=${client.versions.get(key) ?? 0}`)
    .join(', ');
}

function headersOf(s: Step, client: Client, key: string | null): Record<string, string> {
  const headers: Record<string, string> = { 'x-probe': `${s.method} ${s.path}` };
  const read = declared(s.read, client);
  const write = declared(s.write, client);
  if (read !== undefined) headers['session-read'] = read;
  if (write !== undefined) headers['session-write'] = write;
  if (s.epoch === 'current' && client.epoch) headers['session-epoch'] = client.epoch;
  if (s.epoch === 'garbage') headers['session-epoch'] = '"not-an-epoch"';
  const cookie = s.cookie === 'current' ? client.cookie : s.cookie === 'first' ? (client.cookies[0] ?? null) : s.cookie === 'garbage' ? 'sl_session=garbage' : null;
  if (cookie) headers.cookie = `${cookie}; other=1`;
  if (key !== null) headers['idempotency-key'] = key;
  if (s.type) headers['content-type'] = s.type;
  if (s.user) headers['x-user'] = s.user;
  return headers;
}

async function sessionState(store: MemoryStore, tokens: Tokens, now: number) {
  const states: string[] = [];
  for (const id of tokens.all()) {
    const { session, entries } = await store.begin({ sessionId: id, keys: KEYS, now });
    states.push(tokens.normalise(JSON.stringify({ id, session, entries: [...entries] })));
  }
  for (const user of ['ada', 'bob']) {
    const { session, entries } = await store.begin({ sessionId: user, keys: KEYS, now });
    states.push(tokens.normalise(JSON.stringify({ user, session, entries: [...entries] })));
  }
  const { sessions, records, stubs, tombstones, bytes, refused } = store.stats();
  return { states, sessions, records, stubs, tombstones, bytes, refused };
}

async function bothPathsAgree(resolver: boolean, steps: Step[]): Promise<void> {
  const clock = { now: 1_800_000_000_000 };
  const nodeStore = memoryStore();
  const fetchStore = memoryStore();
  const nodeServer = await listen(toNodeListener(app(nodeStore, clock, resolver)));
  const fetchServer = await listen(getRequestListener(app(fetchStore, clock, resolver), { overrideGlobalObjects: false }));
  try {
    await drive(steps, clock, { port: nodeServer.port, store: nodeStore }, { port: fetchServer.port, store: fetchStore });
  } finally {
    await Promise.all([nodeServer.close(), fetchServer.close()]);
  }
}

async function drive(steps: Step[], clock: { now: number }, nodeSide: { port: number; store: MemoryStore }, fetchSide: { port: number; store: MemoryStore }): Promise<void> {
  const node = new Client();
  const viaFetch = new Client();
  let keys = 0;
  let lastKey: string | null = null;
  let previous: { s: Step; key: string | null; nodeHeaders: Record<string, string>; fetchHeaders: Record<string, string> } | null = null;
  for (const next of steps) {
    if (next.resend && previous) {
      // Sent as it was the first time (its bases too), so that the record answers it.
      const { s, nodeHeaders, fetchHeaders } = previous;
      const body = s.method === 'GET' || s.method === 'HEAD' ? '' : s.body;
      const fromNode = await send(nodeSide.port, s.method, s.path, nodeHeaders, body);
      const fromFetch = await send(fetchSide.port, s.method, s.path, fetchHeaders, body);
      expect(node.normalised(fromNode), `resend of ${s.method} ${s.path}`).toEqual(viaFetch.normalised(fromFetch));
      node.learn(fromNode);
      viaFetch.learn(fromFetch);
      continue;
    }
    if (next.resend) continue;
    const s = next;
    const key: string | null = s.key === 'none' ? null : s.key === 'malformed' ? 'not-a-string' : s.key === 'repeat' && lastKey ? lastKey : `"key-${String(keys++).padStart(4, '0')}-${'k'.repeat(20)}"`;
    if (key !== null && key !== 'not-a-string') lastKey = key;
    const body = s.method === 'GET' || s.method === 'HEAD' ? '' : s.body;
    const nodeHeaders = headersOf(s, node, key);
    const fetchHeaders = headersOf(s, viaFetch, key);
    previous = { s, key, nodeHeaders, fetchHeaders };
    const fromNode = await send(nodeSide.port, s.method, s.path, nodeHeaders, body);
    const fromFetch = await send(fetchSide.port, s.method, s.path, fetchHeaders, body);
    expect(node.normalised(fromNode), `${s.method} ${s.path}`).toEqual(viaFetch.normalised(fromFetch));
    node.learn(fromNode);
    viaFetch.learn(fromFetch);
    clock.now += s.advanceMs;
  }
  expect(await sessionState(nodeSide.store, node.tokens, clock.now)).toEqual(await sessionState(fetchSide.store, viaFetch.tokens, clock.now));
}

describe('the Node adapter path answers as the Fetch API entry does', () => {
  it('cookie sessions: identical answers and identical stores over random requests, replays and malformed declarations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), (steps) => bothPathsAgree(false, steps)),
      { numRuns: 60 },
    );
  }, 120_000);

  it('app-resolved sessions (sessionId() reads a real Request on both paths): identical answers and stores', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 15 }), (steps) => bothPathsAgree(true, steps)),
      { numRuns: 30 },
    );
  }, 120_000);
});
