// Answers checked before use, errors and guards, the options normaliser: a stub fetch, no server.
import { describe, expect, test } from 'vitest';
import {
  ConflictError,
  createSessionClient,
  InvalidAnswerError,
  isConflictError,
  isInvalidAnswerError,
  isSessionLanesError,
  OutcomeUnknownError,
  RequestRejectedError,
  SessionEndedError,
  SessionLanesError,
  type PendingWrite,
  type PendingWrites,
  type SessionClientEvent,
} from '../../src/client/index.js';
import { PROBLEM } from '../../src/protocol/problems.js';

const answer = (status: number, headers: Record<string, string>, body?: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers });
const stub = (...answers: Response[]) => {
  const requests: Request[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    requests.push(new Request(input, init));
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next;
  };
  return { fetch, requests };
};
const ok = (versions = '"n";v=1') => answer(200, { 'session-epoch': '"E1"', 'session-versions': versions });
const write = { method: 'POST', session: { writes: ['n'] } };

describe('answers are checked before use', () => {
  test.each([
    ['a malformed Session-Versions', answer(200, { 'session-epoch': '"E1"', 'session-versions': 'n=1' })],
    ['a malformed Session-Epoch', answer(200, { 'session-epoch': 'E1' })],
    ['no Session-Epoch on a 2xx', answer(200, {})],
    ['a 412 without keys', answer(412, { 'content-type': 'application/problem+json', 'session-epoch': '"E1"' }, { type: PROBLEM.stale.type, title: 't', status: 412 })],
    ['a problem body that is not JSON', new Response('{', { status: 412, headers: { 'content-type': 'application/problem+json' } })],
  ])('%s is an InvalidAnswerError', async (_, response) => {
    const client = createSessionClient({ fetch: stub(response).fetch });
    const error = await client.fetch('http://x/n', write).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAnswerError);
    expect(isSessionLanesError(error)).toBe(true);
  });

  test('a problem of ours that is never retried rejects with RequestRejectedError; the app\'s own problems pass through', async () => {
    const declaration = answer(428, { 'content-type': 'application/problem+json', 'session-epoch': '"E1"' }, { type: PROBLEM.declarationRequired.type, title: 't', status: 428, detail: 'declare n' });
    const own = answer(409, { 'content-type': 'application/problem+json', 'session-epoch': '"E1"' }, { type: 'https://app.example/out-of-stock', title: 't', status: 409 });
    const client = createSessionClient({ fetch: stub(declaration, own).fetch });
    await expect(client.fetch('http://x/n', write)).rejects.toThrow(RequestRejectedError);
    expect((await client.fetch('http://x/n', write)).status).toBe(409);
  });

  test('without `session` the call passes through untouched', async () => {
    const { fetch, requests } = stub(answer(200, {}));
    const client = createSessionClient({ fetch });
    expect((await client.fetch('http://x/plain', { headers: { a: 'b' } })).status).toBe(200);
    expect([...requests[0]!.headers]).toEqual([['a', 'b']]);
  });
});

test('headers sent: bases at send time, epoch, Idempotency-Key kept through a blind resend', async () => {
  const stale = answer(412, { 'content-type': 'application/problem+json', 'session-epoch': '"E1"', 'session-versions': '"n";v=2' }, { type: PROBLEM.stale.type, title: 't', status: 412, keys: { n: { version: 2, value: 5 } } });
  const { fetch, requests } = stub(ok(), stale, ok('"n";v=3'));
  const client = createSessionClient({ fetch, backoff: 1 });
  const events: SessionClientEvent['type'][] = [];
  // Node has neither Web Locks nor IndexedDB: the `fallback` events are not this test's subject.
  client.on('*', (event) => event.type !== 'fallback' && events.push(event.type));
  await client.fetch('http://x/n', { ...write, session: { writes: ['n'], reads: ['caf\u00e9'], blind: false } });
  await client.fetch('http://x/n', { ...write, session: { writes: ['n'] } }); // blind: the default without rebase
  const [first, second, third] = requests.map((request) => Object.fromEntries(request.headers));
  expect(first).toMatchObject({ 'session-write': '"n";v=0', 'session-read': '%"caf%c3%a9";v=0' });
  expect(first!['session-epoch']).toBeUndefined();
  expect(second).toMatchObject({ 'session-write': '"n"', 'session-epoch': '"E1"' });
  expect(third!['idempotency-key']).toBe(second!['idempotency-key']);
  expect(second!['idempotency-key']).toMatch(/^"([0-9a-f]{32}|[0-9a-f-]{36})"$/);
  expect(events).toEqual(['queued', 'sent', 'committed', 'queued', 'sent', 'conflict', 'retry', 'sent', 'committed']);
  expect(client.versions()).toEqual({ n: 3 });
});

test('rebase gets the value at the version it sends as base', async () => {
  const stale = answer(412, { 'content-type': 'application/problem+json', 'session-epoch': '"E1"' }, { type: PROBLEM.stale.type, title: 't', status: 412, keys: { n: { version: 7, value: { items: [1] } } } });
  const { fetch, requests } = stub(ok(), stale, ok('"n";v=8'));
  const client = createSessionClient({ fetch, backoff: 1 });
  await client.fetch('http://x/n', write);
  const seen: unknown[] = [];
  await client.fetch('http://x/n', { method: 'POST', session: { writes: ['n'], rebase: (current) => (seen.push(current), { body: JSON.stringify(current) }) } });
  expect(seen).toEqual([{}, { n: { items: [1] } }]);
  expect(requests.slice(1).map((request) => request.headers.get('session-write'))).toEqual(['"n";v=0', '"n";v=7']);
});

test('errors: one base class, guards that match by name across realms', () => {
  const error = new ConflictError('x');
  expect(error).toBeInstanceOf(SessionLanesError);
  expect(error.name).toBe('ConflictError');
  const foreign = Object.assign(new Error('x'), { name: 'ConflictError' });
  expect(isConflictError(foreign)).toBe(true);
  expect(isSessionLanesError(foreign)).toBe(true);
  expect(isInvalidAnswerError(foreign)).toBe(false);
  expect(isSessionLanesError(new Error('x'))).toBe(false);
  expect(isSessionLanesError(null)).toBe(false);
});

test('options and declarations are checked with exact messages', async () => {
  expect(() => createSessionClient({ fetch: 1 as never })).toThrow(new TypeError('options.fetch must be a function'));
  expect(() => createSessionClient({ retries: -1 })).toThrow(new TypeError('options.retries must be a non-negative integer'));
  expect(() => createSessionClient({ deadline: Infinity })).toThrow(new TypeError('options.deadline must be a non-negative number (ms)'));
  const client = createSessionClient({ fetch: stub().fetch });
  await expect(client.fetch('/', { session: { reads: ['a'], writes: ['a'] } })).rejects.toThrow(new TypeError('session key "a" is declared twice'));
  // @ts-expect-error blind: true and rebase exclude each other
  await expect(client.fetch('/', { session: { writes: ['a'], blind: true, rebase: () => ({}) } })).rejects.toThrow(new TypeError('session.rebase and session.blind exclude each other'));
  await expect(client.fetch('/', { session: { writes: [''] } })).rejects.toThrow(new TypeError('session keys must be non-empty strings'));
});

describe('options.fetch is called as a plain function', () => {
  // A browser's fetch throws "Illegal invocation" when called as a method of another object.
  const unbound = (requests: Request[], ...answers: Response[]) =>
    async function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
      requests.push(new Request(input, init));
      return answers.shift()!;
    };

  test('with and without `session`, never with the options as its receiver', async () => {
    const requests: Request[] = [];
    const client = createSessionClient({ fetch: unbound(requests, answer(200, {}), ok()), deadline: 50 });
    expect((await client.fetch('http://x/plain')).status).toBe(200);
    expect((await client.fetch('http://x/n', write)).status).toBe(200);
    expect(requests).toHaveLength(2);
  });

  test('an invalid request (GET with a body) rejects at once with its TypeError, never resent as a network error', async () => {
    const { fetch, requests } = stub();
    const client = createSessionClient({ fetch, deadline: 1_000 });
    const error = await client.fetch('http://x/n', { body: 'x', session: { reads: ['n'] } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(requests).toHaveLength(0);
  });
});

test("a Request input's signal aborts like init.signal: rejected with its reason, never resent", async () => {
  const requests: Request[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    requests.push(request);
    if (request.signal.aborted) throw request.signal.reason;
    return ok();
  };
  const client = createSessionClient({ fetch, deadline: 2_000, backoff: 1 });
  const controller = new AbortController();
  controller.abort();
  const error = await client.fetch(new Request('http://x/n', { method: 'POST', signal: controller.signal }), { session: { writes: ['n'] } }).catch((e: unknown) => e);
  expect(error).toMatchObject({ name: 'AbortError' });
  expect(requests).toHaveLength(0);
});

/** Pending writes that record what the client does with them, and hand `replay` to the test (as the outbox does with a gone tab's writes). */
function recordingPending() {
  const log = { puts: [] as PendingWrite[], deleted: [] as string[], purged: [] as string[], replay: undefined as unknown as (entry: PendingWrite) => Promise<unknown> };
  const pending: PendingWrites = {
    put: (entry) => void log.puts.push(entry),
    delete: (key) => void log.deleted.push(key),
    purge: (epoch) => void log.purged.push(epoch),
    adopt: (replay) => void (log.replay = replay),
  };
  return { pending, log };
}
const KEY = '0123456789abcdef0123';
/** A write of a gone tab, sent without Session-Epoch (it was to create the session): replayed exactly as sent. */
const sentOrphan = (epoch: string | undefined): PendingWrite => {
  const sent = { method: 'POST', headers: [['session-write', '"n";v=0'], ['idempotency-key', `"${KEY}"`]] as [string, string][] };
  return { key: KEY, epoch, input: 'http://x/n', reads: [], writes: ['n'], blind: false, rebase: false, at: Date.now(), init: sent, sent };
};

describe('the epoch a write was sent with', () => {
  test('is what the outbox stores with each attempt (a write made before any epoch was known, sent once one was)', async () => {
    const { pending, log } = recordingPending();
    const client = createSessionClient({ fetch: stub(ok(), ok('"m";v=1')).fetch, pending });
    // Both made while no epoch is known; the second waits for the first (first-write lane) and is sent in its session.
    await Promise.all([client.fetch('http://x/n', write), client.fetch('http://x/m', { method: 'POST', session: { writes: ['m'] } })]);
    const second = log.puts.filter((entry) => entry.writes[0] === 'm');
    expect(second.map((entry) => [entry.epoch, new Headers(entry.sent?.headers).get('session-epoch')])).toEqual([
      [undefined, null], // queued: not sent yet
      ['E1', '"E1"'],
    ]);
  });

  test("a replayed session-creating write whose recorded answer names another session does not swap the live cache into it", async () => {
    const { pending, log } = recordingPending();
    const replayedAnswer = answer(200, { 'session-epoch': '"E0"', 'session-versions': '"n";v=1', 'idempotent-replayed': 'true' });
    const client = createSessionClient({ fetch: stub(ok('"n";v=4'), replayedAnswer).fetch, pending });
    await client.fetch('http://x/n', write);
    expect((await log.replay(sentOrphan(undefined)) as Response).status).toBe(200);
    expect(client.epoch()).toBe('E1');
    expect(client.versions()).toEqual({ n: 4 });
  });

  test("a replay's 410 for another epoch than the live one neither voids nor ends the live session", async () => {
    const { pending, log } = recordingPending();
    const gone = answer(410, { 'content-type': 'application/problem+json', 'session-epoch': '""' }, { type: PROBLEM.sessionEnded.type, title: 't', status: 410 });
    const client = createSessionClient({ fetch: stub(ok(), gone).fetch, pending });
    const ended: unknown[] = [];
    client.on('sessionended', (event) => ended.push(event));
    await client.fetch('http://x/n', write);
    await expect(log.replay(sentOrphan(undefined))).rejects.toThrow(SessionEndedError);
    expect(client.epoch()).toBe('E1');
    expect(client.versions()).toEqual({ n: 1 });
    expect(ended).toEqual([]);
    expect(log.purged).toEqual([]);
  });
});

test("a gone tab's write replayed while offline is kept for a later claim (not deleted with nothing said); the tab's own write is the app's", async () => {
  const { pending, log } = recordingPending();
  const offline: typeof globalThis.fetch = async () => {
    throw new TypeError('Failed to fetch');
  };
  const client = createSessionClient({ fetch: offline, pending, deadline: 30, backoff: 1 });
  const neverSent = { ...sentOrphan(undefined), key: 'fedcba9876543210fedc' } as PendingWrite;
  delete (neverSent as { sent?: RequestInit }).sent;
  await expect(log.replay(sentOrphan(undefined))).rejects.toThrow(OutcomeUnknownError);
  await expect(log.replay(neverSent)).rejects.toThrow(OutcomeUnknownError);
  expect(log.deleted).toEqual([]);
  // The never-sent one is stored again as sent, exactly as it went out: a later claim replays it as sent.
  expect(log.puts.at(-1)).toMatchObject({ key: neverSent.key, sent: { method: 'POST' } });
  const own = await client.fetch('http://x/n', write).catch((e: unknown) => e);
  expect(own).toBeInstanceOf(OutcomeUnknownError);
  expect(log.deleted).toEqual([(own as OutcomeUnknownError).key]);
});

test("rebase's result is the body: without `body` no body is sent (never init.body); a result that is not an object is a TypeError", async () => {
  const { fetch, requests } = stub(ok());
  const client = createSessionClient({ fetch });
  await client.fetch('http://x/n', { method: 'POST', body: 'static', session: { writes: ['n'], rebase: () => ({}) } });
  expect(await requests[0]!.text()).toBe('');
  const error = await client.fetch('http://x/n', { method: 'POST', session: { writes: ['n'], rebase: () => undefined as never } }).catch((e: unknown) => e);
  expect(error).toEqual(new TypeError('session.rebase must return { body }'));
  expect(requests).toHaveLength(1);
});
