import { fixtureTable as table } from '../../e2e/fixture/routes.js';
import type { FetchHandler } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore } from '../../src/server/index.js';

/**
 * Routes for the cross-tab e2e suite (e2e/cross-tab.spec.ts), under /e2e:
 * an increment whose value the server computes, an append to a log that
 * keeps duplicates (so a write applied twice shows), a logout, and a gate
 * that holds handlers between their read and their write, so that "in
 * flight" is a state the test sets rather than a race it hopes for. Every
 * answer is counted by status and by Idempotency-Key, and the requests of a
 * path at the server at once are counted too (their overlap): the tests
 * assert on what the server saw, never on timing.
 */
export interface FixtureStats {
  /** Answers by status. */
  statuses: Record<number, number>;
  /** Requests by path (`/e2e/inc`), every attempt. */
  requests: Record<string, number>;
  /** Requests by Idempotency-Key (quotes stripped). */
  keys: Record<string, number>;
  /** Requests by path at the server now, and the most ever at once: the overlap that lanes must keep at 1. */
  active: Record<string, number>;
  maxActive: Record<string, number>;
  /** Handlers waiting at the gate now, and handlers finished. */
  waiting: number;
  finished: number;
}

export function fixtureRoutes(): Record<string, FetchHandler> {
  const validator = createValidator({ store: memoryStore() });
  // For e2e/cookie-planting.spec.ts: a Secure cookie (so named __Host-sl_host), on http://*.localhost, which Chromium treats as secure.
  const hostValidator = createValidator({ store: memoryStore(), cookie: { name: 'sl_host', secure: true } });
  const appendTo = (route: typeof validator) =>
    route.route({ writes: ['log'] }, async (request, session) => {
      const log = (session.get('log') as string[] | undefined) ?? [];
      session.set('log', [...log, ((await request.json()) as { item: string }).item]);
      return json({ log: session.get('log') });
    });
  let stats: FixtureStats;
  let gate: { open: boolean; promise: Promise<void>; release: () => void };
  const reset = () => {
    stats = { statuses: {}, requests: {}, keys: {}, active: {}, maxActive: {}, waiting: 0, finished: 0 };
    closeGate(false);
  };
  const closeGate = (closed: boolean) => {
    gate?.release();
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    gate = { open: !closed, promise, release };
    if (!closed) release();
  };
  reset();
  // Each request is counted in the stats of its test, even if a reset (which opens the gate) replaces them meanwhile: a failed test must not skew the next.
  const gated = async (request: Request): Promise<FixtureStats> => {
    const seen = stats;
    if (!new URL(request.url).searchParams.has('gate') || gate.open) return seen;
    seen.waiting++;
    await gate.promise;
    seen.waiting--;
    return seen;
  };
  const counted =
    (handler: FetchHandler): FetchHandler =>
    async (request) => {
      const path = new URL(request.url).pathname;
      const seen = stats;
      seen.requests[path] = (seen.requests[path] ?? 0) + 1;
      const key = request.headers.get('idempotency-key')?.replace(/"/g, '');
      if (key) seen.keys[key] = (seen.keys[key] ?? 0) + 1;
      const active = (seen.active[path] = (seen.active[path] ?? 0) + 1);
      seen.maxActive[path] = Math.max(seen.maxActive[path] ?? 0, active);
      const response = await Promise.resolve(handler(request)).finally(() => void seen.active[path]!--);
      seen.statuses[response.status] = (seen.statuses[response.status] ?? 0) + 1;
      return response;
    };
  const json = (body: unknown) => Response.json(body);

  return {
    'POST /e2e/inc': counted(
      validator.route(table.inc, async (request, session) => {
        const n = (session.get('n') as number | undefined) ?? 0;
        const seen = await gated(request);
        session.set('n', n + 1);
        seen.finished++;
        return json({ n: n + 1 });
      }),
    ),
    'POST /e2e/log': counted(
      validator.route(table.log, async (request, session) => {
        const { item } = (await request.json()) as { item: string };
        const log = (session.get('log') as string[] | undefined) ?? [];
        const seen = await gated(request);
        session.set('log', [...log, item]);
        seen.finished++;
        return json({ log: session.get('log') });
      }),
    ),
    'POST /e2e/logout': counted(
      validator.route(table.logout, (_request, session) => {
        session.destroy();
        return json({});
      }),
    ),
    'POST /e2e/login': counted(
      validator.route({ writes: ['user'], rotates: true }, (_request, session) => {
        session.set('user', 'ada');
        session.rotate();
        return json({ welcome: 'ada' });
      }),
    ),
    'GET /e2e/state': counted(validator.route(table.state, (_request, session) => json({ n: session.get('n') ?? 0, log: session.get('log') ?? [] }))),
    'POST /e2e/host/log': appendTo(hostValidator),
    'GET /e2e/host/state': hostValidator.route({ reads: ['log'] }, (_request, session) => json({ log: session.get('log') ?? [] })),
    'POST /e2e/plain/log': appendTo(validator),
    'GET /e2e/plain/state': validator.route({ reads: ['log'] }, (_request, session) => json({ log: session.get('log') ?? [] })),
    'GET /e2e/stats': async () => json(stats),
    'POST /e2e/reset': async () => (reset(), json({})),
    'POST /e2e/gate/close': async () => (closeGate(true), json({})),
    'POST /e2e/gate/open': async () => (closeGate(false), json({})),
  };
}
