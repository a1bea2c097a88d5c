// Issue 21 §5: with the server down, a read fails fast and says so; a write says "may have been applied"
// only when an attempt may have reached a server. Over real sockets on 127.0.0.1: a port nothing listens
// on (every connection refused), and a server that accepts each connection and drops it unanswered.
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import {
  createSessionClient,
  isOutcomeUnknownError,
  isSessionLanesError,
  isUnreachableError,
  memoryPendingWrites,
  memoryVersionCache,
  OutcomeUnknownError,
  UnreachableError,
  type SessionClientEvent,
  type SessionClientOptions,
} from '../../src/client/index.js';
import { defineRoutes } from '../../src/routes/index.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A port of 127.0.0.1 that was free a moment ago and on which nothing listens now. */
async function closedPort(): Promise<string> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A server that accepts every connection and closes it without an answer: the request reached it. */
async function droppingServer(): Promise<string> {
  const server = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(options: SessionClientOptions = {}) {
  const made = createSessionClient({ backoff: 20, maxBackoff: 100, cache: memoryVersionCache(), pending: memoryPendingWrites(), ...options });
  const sends: SessionClientEvent[] = [];
  made.on('sent', (event) => sends.push(event));
  return { client: made, sends };
}

const rejection = async (call: Promise<Response>) => {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('resolved; expected a rejection');
};

test('a GET with the server down is resent until the read deadline (default 5,000 ms), then rejects with UnreachableError', async () => {
  const url = await closedPort();
  const { client: reader, sends } = client();
  const error = await rejection(reader.fetch(`${url}/cart`, { session: { reads: ['cart'] } }));
  expect(error).toBeInstanceOf(UnreachableError);
  expect(error.message).toBe('The server could not be reached within 5000 ms; nothing was applied');
  expect(isUnreachableError(error) && isSessionLanesError(error)).toBe(true);
  expect(isOutcomeUnknownError(error)).toBe(false);
  expect(sends.length).toBeGreaterThan(1); // resent meanwhile
  expect((error.cause as Error).name).toBe('TypeError'); // the last network failure
});

test('HEAD, and a route-table read, with the server down: UnreachableError within readDeadline', async () => {
  const url = await closedPort();
  const routes = defineRoutes({ cart: { method: 'GET', path: '/cart', reads: ['cart'] }, search: { method: 'POST', path: '/search', reads: ['prefs'] } });
  const { client: reader, sends } = client({ routes, base: url, readDeadline: 300 });
  // One after another: a second call made up front would reject while the first is awaited, unhandled.
  for (const call of [() => reader.fetch(`${url}/cart`, { method: 'HEAD' }), () => reader.fetch(`${url}/cart`)]) {
    const error = await rejection(call());
    expect(error.name).toBe('UnreachableError');
    expect(error.message).toBe('The server could not be reached within 300 ms; nothing was applied');
  }
  // A read-only POST is not resent (no Idempotency-Key; its handler may have effects elsewhere); its connection was refused: not sent at all.
  const before = sends.length;
  const error = await rejection(reader.fetch(`${url}/search`, { method: 'POST' }));
  expect(error.name).toBe('UnreachableError');
  expect(error.message).toBe('The server could not be reached; nothing was sent');
  expect(sends.length - before).toBe(1);
});

test('readDeadline is capped by deadline, and is checked like the other options', async () => {
  const url = await closedPort();
  const error = await rejection(client({ deadline: 100, readDeadline: 5_000 }).client.fetch(`${url}/cart`, { session: { reads: ['cart'] } }));
  expect(error.message).toBe('The server could not be reached within 100 ms; nothing was applied');
  expect(() => createSessionClient({ readDeadline: -1 })).toThrow(new TypeError('options.readDeadline must be a non-negative number (ms)'));
});

test('a write whose every connection was refused: OutcomeUnknownError that says nothing was applied, after the write deadline', async () => {
  const url = await closedPort();
  const { client: writer, sends } = client({ deadline: 300, readDeadline: 50 });
  const error = await rejection(writer.fetch(`${url}/cart`, { method: 'POST', session: { writes: ['cart'] } }));
  expect(error).toBeInstanceOf(OutcomeUnknownError);
  expect(error.message).toBe('The server could not be reached within 300 ms; nothing was applied');
  expect((error as OutcomeUnknownError).key).toMatch(/^[\w-]{32,36}$/);
  expect(sends.length).toBeGreaterThan(1);
});

test('a write whose connection reached a server that dropped it: "may have been applied"', async () => {
  const url = await droppingServer();
  const error = await rejection(client({ deadline: 300 }).client.fetch(`${url}/cart`, { method: 'POST', session: { writes: ['cart'] } }));
  expect(error.name).toBe('OutcomeUnknownError');
  expect(error.message).toBe('No answer within 300 ms; may have been applied');
});

test('a read that reached a server that dropped it is still UnreachableError (no answer came), within readDeadline', async () => {
  const url = await droppingServer();
  const error = await rejection(client({ readDeadline: 200 }).client.fetch(`${url}/cart`, { session: { reads: ['cart'] } }));
  expect(error.name).toBe('UnreachableError');
});

test('the guard matches by name: an UnreachableError from another realm', () => {
  expect(isUnreachableError({ name: 'UnreachableError', message: 'x' })).toBe(true);
  expect(isSessionLanesError({ name: 'UnreachableError' })).toBe(true);
  expect(isUnreachableError(new OutcomeUnknownError('x'))).toBe(false);
});
