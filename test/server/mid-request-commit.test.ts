import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createValidator, memoryStore, REPLAYED_HEADER, SessionCommitError, type SessionStore } from '../../src/server/index.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';


let server: TestServer;
let store: SessionStore;
let reached: ReturnType<typeof gate>;
let proceed: ReturnType<typeof gate>;
let caught: SessionCommitError | null;

beforeEach(async () => {
  store = memoryStore();
  reached = gate();
  proceed = gate();
  caught = null;
  const validator = createValidator({ store });
  server = await startServer({
    '/login': validator.route({ writes: ['user'] }, async (_request, session) => {
      session.set('user', 'ada');
      return Response.json({ ok: true });
    }),
    // A long export: flags itself at once, works, then clears the flag.
    '/export': validator.route({ writes: ['exportRunning', 'exports'] }, async (_request, session) => {
      session.set('exportRunning', true);
      await session.commit();
      reached.open();
      await proceed.opened;
      session.set('exportRunning', false);
      session.set('exports', ((session.get('exports') as number | undefined) ?? 0) + 1);
      return Response.json({ done: true });
    }),
    // Like /export, but catches a failed second commit and reports it.
    '/export-careful': validator.route({ writes: ['exportRunning'] }, async (_request, session) => {
      session.set('exportRunning', true);
      await session.commit();
      reached.open();
      await proceed.opened;
      session.set('exportRunning', false);
      try {
        await session.commit();
      } catch (error) {
        caught = error as SessionCommitError;
        throw error;
      }
      return Response.json({ done: true });
    }),
    '/flag': validator.route({ writes: ['exportRunning'] }, async (request, session) => {
      session.set('exportRunning', await request.json());
      return Response.json({ ok: true });
    }),
    '/status': validator.route({ reads: ['exportRunning', 'exports'] }, async (_request, session) =>
      Response.json({ running: session.get('exportRunning') ?? false, exports: session.get('exports') ?? 0 }),
    ),
  });
});
afterEach(async () => {
  proceed.open();
  await server.close();
});

async function loggedIn() {
  const browser = new Browser(server.url);
  expect((await browser.send('/login', { headers: { 'session-write': '"user"', 'idempotency-key': idemKey() } })).status).toBe(200);
  return browser;
}
const status = (browser: Browser) => browser.send('/status', { method: 'GET' }); // declares no keys

describe('session.commit() in the middle of a request', () => {
  it('makes a change visible at once to a request that declares no keys', async () => {
    const browser = await loggedIn();
    expect((await status(browser)).json().running).toBe(false);
    const exporting = browser.send('/export', { headers: { 'session-write': '"exportRunning", "exports"', 'idempotency-key': idemKey() } });
    await reached.opened;
    expect((await status(browser)).json().running).toBe(true);
    proceed.open();
    expect((await exporting).status).toBe(200);
    expect((await status(browser)).json()).toEqual({ running: false, exports: 1 });
  });

  it('compares later changes with what it committed: a change back to the original value is saved (version + 2)', async () => {
    const browser = await loggedIn();
    expect((await browser.send('/flag', { headers: { 'session-write': '"exportRunning"', 'idempotency-key': idemKey() }, body: 'false' })).status).toBe(200);
    proceed.open();
    const answer = await browser.send('/export', { headers: { 'session-write': '"exportRunning";v=1, "exports";v=0', 'idempotency-key': idemKey() } });
    expect(answer.status).toBe(200);
    expect(answer.versions()).toEqual({ exportRunning: 3, exports: 1 });
    const after = await browser.send('/status', { method: 'GET', headers: { 'session-read': '"exportRunning"' } });
    expect(after.json().running).toBe(false);
    expect(after.versions()).toEqual({ exportRunning: 3 });
  });

  it('keeps the first commit when the second fails, applies nothing of the second, and answers the recorded partly-committed problem', async () => {
    const browser = await loggedIn();
    const key = idemKey();
    const exporting = browser.send('/export-careful', { headers: { 'session-write': '"exportRunning"', 'idempotency-key': key } });
    await reached.opened;
    // A concurrent write to the flag between the two commits.
    expect((await browser.send('/flag', { headers: { 'session-write': '"exportRunning";v=1', 'idempotency-key': idemKey() }, body: '"by-someone-else"' })).status).toBe(200);
    proceed.open();
    const answer = await exporting;
    expect(answer.status).toBe(500);
    expect(answer.json().type).toBe('https://session-lanes.dev/problems/partly-committed');
    expect(caught).toBeInstanceOf(SessionCommitError);
    expect(caught!.reason).toBe('stale');
    const after = await browser.send('/status', { method: 'GET', headers: { 'session-read': '"exportRunning"' } });
    expect(after.json().running).toBe('by-someone-else');
    expect(after.versions()).toEqual({ exportRunning: 2 });
    // A resend gets the same answer, and applies nothing again.
    const resent = await browser.send('/export-careful', { headers: { 'session-write': '"exportRunning"', 'idempotency-key': key } });
    expect(resent.status).toBe(500);
    expect(resent.text).toBe(answer.text);
    expect(resent.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect((await browser.send('/status', { method: 'GET', headers: { 'session-read': '"exportRunning"' } })).versions()).toEqual({ exportRunning: 2 });
  });

  it('answers a resend that arrives while the request still runs with 409', async () => {
    const browser = await loggedIn();
    const key = idemKey();
    const exporting = browser.send('/export', { headers: { 'session-write': '"exportRunning", "exports"', 'idempotency-key': key } });
    await reached.opened;
    const during = await browser.send('/export', { headers: { 'session-write': '"exportRunning", "exports"', 'idempotency-key': key } });
    expect(during.status).toBe(409);
    proceed.open();
    expect((await exporting).status).toBe(200);
  });

  it('reflects both commits in Session-Versions and in the replayed answer', async () => {
    const browser = await loggedIn();
    const key = idemKey();
    proceed.open();
    const answer = await browser.send('/export', { headers: { 'session-write': '"exportRunning";v=0, "exports";v=0', 'idempotency-key': key } });
    expect(answer.status).toBe(200);
    expect(answer.versions()).toEqual({ exportRunning: 2, exports: 1 });
    const replayed = await browser.send('/export', { headers: { 'session-write': '"exportRunning";v=0, "exports";v=0', 'idempotency-key': key } });
    expect(replayed.response.headers.get(REPLAYED_HEADER)).toBe('true');
    expect(replayed.versions()).toEqual({ exportRunning: 2, exports: 1 });
    expect(replayed.text).toBe(answer.text);
    expect((await status(browser)).json()).toEqual({ running: false, exports: 1 });
  });
});
