/**
 * The load side of bench/throughput: autocannon with one session per
 * connection, so that no request of the run waits for another (a session's
 * requests are never concurrent), and every write with a fresh
 * Idempotency-Key (a replay is not a write).
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

export type Workload = 'write' | 'read';
export type Flavour = 'lanes' | 'express' | 'bare';

/** Headers that make a request a session-lanes write or read; express-session and the bare handler need none. */
function protocolHeaders(flavour: Flavour, workload: Workload): Record<string, string> {
  if (flavour !== 'lanes') return {};
  return workload === 'write' ? { 'session-write': '"counter"' } : { 'session-read': '"counter"' };
}

function requestOf(flavour: Flavour, workload: Workload, cookie: string | null): { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string } {
  const headers: Record<string, string> = { ...protocolHeaders(flavour, workload), ...(cookie ? { cookie } : {}) };
  if (workload === 'read') return { method: 'GET', headers };
  headers['content-type'] = 'application/json';
  if (flavour === 'lanes') headers['idempotency-key'] = `"${randomUUID()}"`;
  return { method: 'POST', headers, body: '{"by":1}' };
}

async function call(port: number, flavour: Flavour, workload: Workload, cookie: string | null): Promise<Response> {
  const { method, headers, body } = requestOf(flavour, workload, cookie);
  return fetch(`http://127.0.0.1:${port}/counter`, { method, headers, ...(body ? { body } : {}) });
}

/** Creates one session by its first write; returns its cookie (null for the bare handler). */
export async function createSession(port: number, flavour: Flavour): Promise<string | null> {
  const response = await call(port, flavour, 'write', null);
  await response.text();
  if (!response.ok) throw new Error(`creating a session answered ${response.status}`);
  if (flavour === 'bare') return null;
  const setCookie = response.headers.get('set-cookie');
  if (!setCookie) throw new Error('the first write set no cookie');
  return setCookie.split(';')[0]!;
}

/** The session's counter, read over HTTP. */
export async function counterOf(port: number, flavour: Flavour, cookie: string | null): Promise<number> {
  const response = await call(port, flavour, 'read', cookie);
  if (!response.ok) throw new Error(`reading the counter answered ${response.status}`);
  return ((await response.json()) as { counter: number }).counter;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p99Ms: number;
  /** 2xx answers per session (index as in `cookies`). */
  okPerSession: number[];
  notOk: number;
  replayed: number;
  errors: number;
}

/**
 * Runs autocannon with one connection per cookie: `amount` requests in all
 * (each connection sends its share and waits for every answer, so a
 * session's 2xx count is exact), or for `durationSeconds` (a warm-up).
 */
export async function load(options: { port: number; flavour: Flavour; workload: Workload; cookies: (string | null)[]; amount?: number; durationSeconds?: number }): Promise<LoadResult> {
  const { port, flavour, workload, cookies } = options;
  const okPerSession = cookies.map(() => 0);
  let notOk = 0;
  let replayed = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  // autocannon ends a run of `amount` requests only on its next one-second tick, so its own clock would
  // round every run up to whole seconds: the run's time is measured to its last answer instead.
  let lastAnswer = started;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: cookies.length,
    pipelining: 1,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds ?? 1 }),
    // One session per connection; the request is rebuilt for each send, with a fresh Idempotency-Key.
    setupClient(client) {
      const index = next++;
      const cookie = cookies[index]!;
      client.setRequests([
        {
          path: '/counter',
          method: workload === 'write' ? 'POST' : 'GET',
          setupRequest: (request) => ({ ...request, ...requestOf(flavour, workload, cookie) }),
          onResponse: (status, _body, _context, headers) => {
            lastAnswer = process.hrtime.bigint();
            if (status >= 200 && status < 300) okPerSession[index]! += 1;
            else notOk += 1;
            if (headers?.['idempotent-replayed'] !== undefined) replayed += 1;
          },
        },
      ]);
    },
  });
  const seconds = Number(lastAnswer - started) / 1e9;
  const requests = okPerSession.reduce((sum, n) => sum + n, 0) + notOk;
  return { requests, seconds, requestsPerSecond: requests / seconds, p99Ms: result.latency.p99, okPerSession, notOk, replayed, errors: result.errors };
}
