import { afterAll, afterEach, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createValidator, type ValidatorEvent } from '../../src/server/index.js';
import type { SessionStore } from '../../src/server/store.js';
import { describeEachStore } from '../support/each-store.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey, type Answer } from '../support/session-http.js';

/**
 * The attack (issue 11, §1): a client declares a server-only key (`role`,
 * `csrfSecret`) with a wrong base and reads its value out of the 412 body; a
 * 412 found at commit time disclosed keys the request never declared; a
 * schema's message quoted the refused value in a 422's `issues`. A sentinel
 * value must appear in no byte of any answer, and in no onEvent or
 * console.error output.
 */

const SECRET = 'a test secret of at least 32 bytes, shared';
type Gate = ReturnType<typeof gate>;
const SENTINEL = 'SENTINEL-7f3a9c-server-only';

describeEachStore('server-only keys never leave the server', (kind) => {
  let store: SessionStore;
  let server: TestServer;
  const answers: Answer[] = [];
  const events: ValidatorEvent[] = [];
  let errorLog: ReturnType<typeof vi.spyOn>;
  let pause: Gate | null = null;
  let paused: Gate | null = null;

  beforeAll(async () => {
    store = kind.open();
    const validator = createValidator({
      store,
      secret: SECRET,
      serverOnlyKeys: ['role', 'csrfSecret'],
      keys: {
        // A schema whose message quotes what it refused, as app schemas often do.
        role: z.string().refine((value) => !value.startsWith('bad'), { error: (issue) => `not a role: ${String(issue.input)}` }),
      },
      onEvent: (event) => events.push(event),
    });
    server = await startServer({
      '/login': validator.route({ writes: ['role', 'csrfSecret', 'name'] }, async (_request, session) => {
        session.set('role', SENTINEL);
        session.set('csrfSecret', `${SENTINEL}-csrf`);
        session.set('name', 'ada');
        return Response.json({ ok: true });
      }),
      // Reads the server-only keys to decide; answers without them.
      '/promote': validator.route({ reads: ['role', 'csrfSecret'], writes: ['name'] }, async (request, session) => {
        const allowed = session.get('role') === SENTINEL && session.get('csrfSecret') === `${SENTINEL}-csrf`;
        paused?.open();
        await pause?.opened;
        session.set('name', await request.text());
        return Response.json({ allowed });
      }),
      // Reads role but declares only name: a commit-time 412 must not carry role.
      '/rename': validator.route({ reads: ['role'], writes: ['name'] }, async (request, session) => {
        void session.get('role');
        paused?.open();
        await pause?.opened;
        session.set('name', await request.text());
        return Response.json({ ok: true });
      }),
      '/set-role': validator.route({ writes: ['role'] }, async (request, session) => {
        session.set('role', `${await request.text()}${SENTINEL}`);
        return Response.json({ ok: true });
      }),
      '/crash': validator.route({ reads: ['role'], writes: ['name'] }, async (_request, session) => {
        void session.get('role');
        throw new Error('the handler failed');
      }),
    });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await kind.cleanup();
  });
  beforeEach(() => {
    errorLog = vi.spyOn(console, 'error');
  });
  afterEach(() => {
    pause = paused = null;
    // Whatever the test did: the sentinel is in no answer, no event, no console.error call.
    for (const answer of answers) {
      expect(answer.text).not.toContain(SENTINEL);
      for (const [name, value] of answer.response.headers) expect(`${name}: ${value}`).not.toContain(SENTINEL);
    }
    for (const event of events) {
      const error = (event as { error?: unknown }).error;
      expect(JSON.stringify(event)).not.toContain(SENTINEL);
      expect(String(error)).not.toContain(SENTINEL);
      expect(error instanceof Error ? (error.stack ?? '') : '').not.toContain(SENTINEL);
    }
    for (const call of errorLog.mock.calls) expect(call.map((argument: unknown) => String(argument)).join(' ')).not.toContain(SENTINEL);
    errorLog.mockRestore();
    answers.length = 0;
    events.length = 0;
  });

  async function send(browser: Browser, path: string, init: Parameters<Browser['send']>[1]): Promise<Answer> {
    const answer = await browser.send(path, init);
    answers.push(answer);
    return answer;
  }
  const loggedIn = async () => {
    const browser = new Browser(server.url);
    expect((await send(browser, '/login', { headers: { 'session-write': '"role", "csrfSecret", "name"', 'idempotency-key': idemKey() } })).status).toBe(200);
    return browser;
  };

  it('answers a wrong base on a server-only key with its version only', async () => {
    const browser = await loggedIn();
    const answer = await send(browser, '/promote', { headers: { 'session-read': '"role";v=0, "csrfSecret";v=0', 'session-write': '"name"', 'idempotency-key': idemKey() }, body: 'x' });
    expect(answer.status).toBe(412);
    expect(answer.json().keys).toEqual({ role: { version: 1, withheld: true }, csrfSecret: { version: 1, withheld: true }, name: { version: 1, value: 'ada' } });
  });

  /** Sends a slow request, moves `role` while its handler waits, then lets it commit: its answer. */
  async function withRoleMovedMeanwhile(path: string, headers: Record<string, string>) {
    const browser = await loggedIn();
    pause = gate();
    paused = gate();
    const slow = send(browser, path, { headers: { ...headers, 'idempotency-key': idemKey() }, body: 'slow' });
    await paused.opened;
    paused = null;
    expect((await send(browser, '/set-role', { headers: { 'session-write': '"role"', 'idempotency-key': idemKey() }, body: 'admin' })).status).toBe(200);
    pause.open();
    return slow;
  }

  it('answers a commit-time 412 with exactly the declared keys: never one the handler read besides them', async () => {
    // Meanwhile role, which the handler read but the request did not declare, moves.
    const answer = await withRoleMovedMeanwhile('/rename', { 'session-write': '"name";v=1' });
    expect(answer.status).toBe(412);
    expect(answer.json().keys).toEqual({ name: { version: 1, value: 'ada' } });
  });

  it('answers a commit-time 412 on a read server-only key without its value', async () => {
    const answer = await withRoleMovedMeanwhile('/promote', { 'session-read': '"role", "csrfSecret"', 'session-write': '"name"' });
    expect(answer.status).toBe(412);
    expect(answer.json().keys).toEqual({ role: { version: 2, withheld: true }, csrfSecret: { version: 1, withheld: true }, name: { version: 1, value: 'ada' } });
  });

  it("answers a server-only key's invalid value with 422 issues that quote nothing", async () => {
    const browser = await loggedIn();
    const answer = await send(browser, '/set-role', { headers: { 'session-write': '"role"', 'idempotency-key': idemKey() }, body: 'bad' });
    expect(answer.status).toBe(422);
    expect(answer.json()).toMatchObject({ type: 'https://session-lanes.dev/problems/invalid-value', key: 'role', issues: [{ path: [] }] });
  });

  it('discloses nothing in replays, 400, 410, 428 and 500 answers either', async () => {
    const browser = await loggedIn();
    const key = idemKey();
    const promote = () => send(browser, '/promote', { headers: { 'session-read': '"role", "csrfSecret"', 'session-write': '"name"', 'idempotency-key': key }, body: 'y' });
    expect((await promote()).status).toBe(200);
    const replay = await promote();
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect((await send(browser, '/promote', { headers: { 'session-read': '"role";v=x', 'session-write': '"name"', 'idempotency-key': idemKey() } })).status).toBe(400);
    expect((await send(browser, '/promote', { headers: { 'session-read': '"role"', 'idempotency-key': idemKey() } })).status).toBe(428);
    expect((await send(browser, '/crash', { headers: { 'session-read': '"role";v=1', 'session-write': '"name"', 'idempotency-key': idemKey() } })).status).toBe(500);
    expect((await send(browser, '/promote', { headers: { 'session-epoch': '"another"', 'session-read': '"role";v=1', 'session-write': '"name"', 'idempotency-key': idemKey() } })).status).toBe(410);
    expect(events.some((event) => event.type === 'handler-error')).toBe(true);
  });
});
