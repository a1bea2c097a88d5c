import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { gate } from '../support/gate.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * Claims carry a token per attempt: an attempt that outlived its lease, and
 * whose key another attempt took over, gives back nothing when it ends
 * without committing. Otherwise a third attempt could claim the key while
 * the second still runs, and both would run the handler's side effects.
 */

const LEASE = 5_000;

let server: TestServer;
let clock: number;
/** Each handler run waits at its own gate, opened by the test; `ending` says how each run ends. */
let runs: Array<{ gate: ReturnType<typeof gate> }>;
let started: () => Promise<void>;
let ending: Array<'commit' | 'no change' | 'throw' | 'stale'>;

beforeEach(async () => {
  clock = Date.now();
  runs = [];
  ending = [];
  let notify = () => {};
  started = () => new Promise<void>((resolve) => (notify = resolve));
  const validator = createValidator({ store: memoryStore(), now: () => clock, leaseMs: LEASE, onEvent: () => {} });
  server = await startServer({
    '/pay': validator.route({ writes: ['paid'] }, async (request, session) => {
      const run = { gate: gate() };
      const end = ending[runs.length] ?? 'commit';
      runs.push(run);
      notify();
      // Only A and B wait; a third run (the bug) goes straight on, so that the test fails at once rather than hangs.
      if (runs.length <= 2) await run.gate.opened;
      const item = await request.text();
      if (end === 'throw') throw new Error('the handler failed');
      if (end === 'no change') return Response.json({ paid: null });
      // 'stale': the test moved the key after this attempt read it, so its commit fails (412).
      session.set('paid', item);
      return Response.json({ paid: item }, { status: 201 });
    }),
    '/bump': validator.route({ writes: ['paid'] }, async (_request, session) => {
      session.set('paid', 'bumped');
      return new Response(null, { status: 204 });
    }),
    '/start': validator.route({ writes: ['paid'] }, async (_request, session) => {
      session.set('paid', 'nothing');
      return new Response(null, { status: 204 });
    }),
  });
});

afterEach(async () => {
  for (const run of runs) run.gate.open();
  await server.close();
});

const pay = (browser: Browser, key: string) => browser.send('/pay', { headers: { 'session-write': '"paid"', 'idempotency-key': key }, body: 'order-1' });

describe('claim tokens', () => {
  it.each(['no change', 'throw', 'stale'] as const)(
    'an attempt that outlived its lease and ends without committing (%s) leaves the key to the attempt that took over',
    async (end) => {
      const browser = new Browser(server.url);
      expect((await browser.send('/start', { headers: { 'session-write': '"paid"', 'idempotency-key': idemKey() } })).status).toBe(204);
      ending = [end, 'commit'];
      const key = idemKey();

      // A claims the key and runs past its lease.
      let running = started();
      const a = pay(browser, key);
      await running;
      if (end === 'stale') {
        const bump = await browser.send('/bump', { headers: { 'session-write': '"paid"', 'idempotency-key': idemKey() } });
        expect(bump.status).toBe(204);
      }
      clock += LEASE + 1;

      // B, a resend with the same key, takes the key over and runs.
      running = started();
      const b = pay(browser, key);
      await running;
      expect(runs).toHaveLength(2);

      // A ends without committing: the key stays B's.
      runs[0]!.gate.open();
      expect((await a).status).toBe(end === 'no change' ? 200 : end === 'throw' ? 500 : 412);

      // C finds B in flight: its handler never runs.
      const c = await pay(browser, key);
      expect(c.status).toBe(409);
      expect(c.json().type).toBe('https://session-lanes.dev/problems/in-progress');
      expect(runs).toHaveLength(2);

      // B commits; its answer is the key's record from then on.
      runs[1]!.gate.open();
      const bAnswer = await b;
      expect(bAnswer.status).toBe(201);
      const d = await pay(browser, key);
      expect(d.text).toBe(bAnswer.text);
      expect(runs).toHaveLength(2);
    },
  );
});
