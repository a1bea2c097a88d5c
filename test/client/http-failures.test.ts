// What must hold 4 and 7: resends with the same Idempotency-Key (each write applied once), deadlines, aborts.
import { afterEach, expect, test } from 'vitest';
import { createSessionClient, isOutcomeUnknownError, memoryPendingWrites, OutcomeUnknownError, RequestRejectedError, type SessionClientEvent } from '../../src/client/index.js';
import { PROBLEM } from '../../src/protocol/problems.js';
import { createCookieJar } from '../support/client-cookie-jar.js';
import { increment, latch, startApp, type App, type Handler } from './http-harness.js';

let app: App | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const post = { method: 'POST' } as const;
const write = { ...post, session: { writes: ['n'] } };

async function setup(handler: Handler = increment, options: Parameters<typeof startApp>[1] = {}) {
  app = await startApp({ '/n': { writes: ['n'], handler }, '/read': { reads: ['n'], handler: (_, s) => Response.json(s.get('n') ?? 0) } }, options);
  const jar = createCookieJar();
  // A fetch the test can break: `lose` answers to drop after they arrive, or requests to drop before they go.
  const faults = { loseAnswers: 0, dropRequests: 0, detach: 0, sent: 0 };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    faults.sent++;
    if (faults.dropRequests > 0) {
      faults.dropRequests--;
      throw new TypeError('fetch failed (injected: never sent)');
    }
    if (faults.detach > 0) {
      // Sent, but the answer never comes back to the client: the server is still working on it.
      faults.detach--;
      void jar.fetch(input, init).catch(() => undefined);
      throw new TypeError('fetch failed (injected: connection lost while the server works)');
    }
    const response = await jar.fetch(input, init);
    if (faults.loseAnswers > 0) {
      faults.loseAnswers--;
      throw new TypeError('fetch failed (injected: answer lost)');
    }
    return response;
  };
  const client = createSessionClient({ fetch, backoff: 5, maxBackoff: 20 });
  await client.fetch(`${app.url}/n`, write); // makes the session: n = 1
  const read = async () => (await client.fetch(`${app!.url}/read`, { session: { reads: ['n'] } })).json();
  return { client, faults, read, app, fetch };
}

test('503 store unavailable: resent after Retry-After with the same key, applied once', async () => {
  const { client, read, app } = await setup();
  const events: SessionClientEvent[] = [];
  client.on('retry', (event) => events.push(event));
  // A failed commit whose outcome the validator finds "not applied" is sent once more: two failures make its 503.
  app.observed.fail.commit = 2;
  // The validator tries a failed begin up to three times: three failures make the first 503; the fourth the resend's begin rides through.
  app.observed.fail.begin = 4;
  const commits = app.observed.commits;
  const response = await client.fetch(`${app.url}/n`, write);
  expect(response.status).toBe(200);
  expect(app.observed.statuses[503]).toBe(2);
  expect(events.map((e) => e.type === 'retry' && [e.reason, e.delay])).toEqual([
    ['unavailable', 1000],
    ['unavailable', 1000],
  ]);
  expect(app.observed.commits).toBe(commits + 1);
  expect(await read()).toBe(2);
});

test('an answer lost on the network: the resend is answered from the record, applied once', async () => {
  const { client, faults, read, app } = await setup();
  faults.loseAnswers = 1;
  const commits = app.observed.commits;
  const response = await client.fetch(`${app.url}/n`, write);
  expect(response.headers.get('idempotent-replayed')).toBe('true');
  expect(await response.json()).toEqual({ n: 2 });
  expect(app.observed.commits).toBe(commits + 1);
  expect(app.observed.runs['/n']).toBe(2); // the first write and this one; the resend ran no handler
  expect(await read()).toBe(2);
});

test('409 in progress: the resend waits Retry-After while the first attempt still runs, then gets its answer', async () => {
  const gate = latch();
  const { client, faults, read, app } = await setup(async (request, session) => {
    if (request.headers.get('x-slow')) await gate.wait;
    return increment(request, session);
  }, { leaseMs: 1_000 });
  faults.detach = 1;
  const call = client.fetch(`${app.url}/n`, { ...write, headers: { 'x-slow': '1' } });
  while (!app.observed.statuses[409]) await new Promise((resolve) => setTimeout(resolve, 10));
  gate.open();
  const response = await call;
  expect(response.status).toBe(200);
  expect(app.observed.runs['/n']).toBe(2);
  expect(await read()).toBe(2);
});

test('past the deadline: an OutcomeUnknownError, and nothing applied twice', async () => {
  const { fetch, faults, read, app } = await setup();
  const client = createSessionClient({ fetch, deadline: 1_500 });
  await client.fetch(`${app.url}/read`, { session: { reads: ['n'] } }); // learns the epoch
  // 503 with Retry-After: 1 s: sent at 0 s and 1 s; a third send at 2 s would start past the deadline.
  app.observed.fail.commit = 100;
  const unavailable = await client.fetch(`${app.url}/n`, write).catch((e: unknown) => e);
  expect(unavailable).toBeInstanceOf(OutcomeUnknownError);
  expect(app.observed.statuses[503]).toBe(2);
  expect((unavailable as OutcomeUnknownError).response?.status).toBe(503);
  app.observed.fail.commit = 0;

  faults.dropRequests = 1_000;
  const sent = faults.sent;
  const down = await createSessionClient({ fetch, deadline: 200, backoff: 20 }).fetch(`${app.url}/n`, write).catch((e: unknown) => e);
  expect(isOutcomeUnknownError(down)).toBe(true);
  expect((down as Error).cause).toBeInstanceOf(TypeError);
  expect(faults.sent - sent).toBeGreaterThan(1);
  faults.dropRequests = 0;
  expect(await read()).toBe(1);
});

test('abort: a queued request leaves unsent; one in flight rejects with AbortError and is not replayed; lanes are freed', async () => {
  const gate = latch();
  const pending = memoryPendingWrites();
  const { app } = await setup(async (request, session) => {
    if (request.headers.get('x-slow')) await gate.wait;
    return increment(request, session);
  });
  const client = createSessionClient({ fetch: createCookieJar().fetch, pending });
  await client.fetch(`${app.url}/n`, write); // its own session: n = 1
  const runs = () => app.observed.runs['/n'] ?? 0;
  const before = runs();

  const inFlight = new AbortController();
  const queued = new AbortController();
  const first = client.fetch(`${app.url}/n`, { ...write, headers: { 'x-slow': '1' }, signal: inFlight.signal });
  const second = client.fetch(`${app.url}/n`, { ...write, signal: queued.signal });
  while (runs() === before) await new Promise((resolve) => setTimeout(resolve, 5));
  queued.abort();
  await expect(second).rejects.toMatchObject({ name: 'AbortError' });
  inFlight.abort();
  await expect(first).rejects.toMatchObject({ name: 'AbortError' });
  gate.open();

  // The lanes are free: a later write proceeds (rebase: the aborted one may have committed meanwhile).
  const later = await client.fetch(`${app.url}/n`, { ...post, session: { writes: ['n'], rebase: () => ({ body: '' }) } });
  expect(later.status).toBe(200);
  expect(runs()).toBe(before + 2); // the aborted in-flight write ran once (never replayed), the queued one never
  expect(pending.entries()).toEqual([]);
});

test('OutcomeUnknownError carries the Idempotency-Key: resent with it, the write is answered from its record, applied once', async () => {
  const { fetch, faults, read, app } = await setup();
  const client = createSessionClient({ fetch, deadline: 200, backoff: 20 });
  await client.fetch(`${app.url}/read`, { session: { reads: ['n'] } }); // learns n's version
  faults.loseAnswers = 1_000;
  const error = (await client.fetch(`${app.url}/n`, write).catch((e: unknown) => e)) as OutcomeUnknownError;
  faults.loseAnswers = 0;
  expect(error).toBeInstanceOf(OutcomeUnknownError);
  expect(error.key).toMatch(/^[0-9a-f-]{32,36}$/);
  const commits = app.observed.commits;
  const resent = await client.fetch(`${app.url}/n`, { ...write, headers: { 'Idempotency-Key': error.key! } });
  expect(resent.headers.get('idempotent-replayed')).toBe('true');
  expect(await resent.json()).toEqual({ n: 2 });
  expect(app.observed.commits).toBe(commits);
  expect(await read()).toBe(2);
  // A caller's key is the caller's: one the server refuses (under 16 characters) is a RequestRejectedError.
  await expect(client.fetch(`${app.url}/n`, { ...write, headers: { 'idempotency-key': 'short' } })).rejects.toThrow(RequestRejectedError);
});

test('500 partly committed: its Session-Versions are learned before it rejects, so the next write of the tab does not 412 on itself', async () => {
  app = await startApp({
    '/n': { writes: ['n'], handler: increment },
    '/partial': {
      writes: ['n'],
      handler: async (_, session) => {
        session.set('n', ((session.get('n') as number | undefined) ?? 0) + 1);
        await session.commit();
        throw new Error('fails after a mid-request commit');
      },
    },
  });
  const client = createSessionClient({ fetch: createCookieJar().fetch });
  await client.fetch(`${app.url}/n`, write); // n = 1
  const error = (await client.fetch(`${app.url}/partial`, write).catch((e: unknown) => e)) as RequestRejectedError;
  expect(error).toBeInstanceOf(RequestRejectedError);
  expect(error.problem?.type).toBe(PROBLEM.partlyCommitted.type);
  expect(error.response?.headers.get('session-versions')).toBe('"n";v=2');
  expect(client.versions()).toEqual({ n: 2 });
  // A static write declaring its base: taken from what the 500 said.
  expect((await client.fetch(`${app.url}/n`, write)).status).toBe(200);
});
