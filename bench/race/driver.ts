/**
 * The race bench's Node driver: N HTTP clients per cookie jar (one jar, one
 * browser; its clients are tabs), over keep-alive HTTP/1.1, each running a
 * seeded schedule of one scenario against a target of ./targets.ts, recorded
 * in the race kit's history format (src/race/history.ts).
 *
 * Against session-lanes the clients are our own `createSessionClient` on the
 * jar's fetch (it sends the session headers; the jar's clients share its
 * first-write lane, as tabs share the Web Lock). Against the others they are
 * plain fetch on the jar; so that the tabs of a jar make one session, not one
 * each, a cookie-less request waits for the jar's previous cookie-less one
 * (what the first-write lane does for ours).
 *
 * Each attempt on the wire is seen by a fetch wrapper (the operation's id
 * rides in an `x-race-op` header the servers ignore): it records when it was
 * sent, in which session (a hash of the cookie), and what the answer's
 * Set-Cookie did.
 */
import { createHash } from 'node:crypto';
import type { SessionClient } from '../../src/client/index.js';
import { CURRENT, type ClientCode } from './code.js';
import { HISTORY_FORMAT, type History, type Operation, type OperationEvent } from '../../src/race/history.js';
import { createCookieJar, type CookieJar } from '../../test/support/client-cookie-jar.js';
import { raceTable, type RaceState } from './routes.js';
import { streamOf, type Random } from './seeded.js';
import type { Target } from './targets.js';

export const SCENARIOS = ['distinct-keys', 'read-erases-write', 'increments', 'logout-in-flight', 'login-in-flight', 'flash'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface DriveOptions {
  readonly target: Target;
  readonly scenario: ScenarioName;
  readonly seed: number;
  /** Cookie jars (browsers). @default 2 */
  readonly jars?: number;
  /** Clients (tabs) per jar, each with one request in flight at a time. @default 4 */
  readonly clients?: number;
  /** Operations of the burst, over every client (the final reads come on top). */
  readonly operations: number;
  /** The burst stops early past this. @default 60_000 */
  readonly maxMs?: number;
  /** Each client waits a seeded 0..maxDelayMs before each operation. @default 3 */
  readonly maxDelayMs?: number;
  /** The first client of each jar logs out (or in) every this many of its operations, instead of once in the middle. */
  readonly specialEvery?: number;
  /** The session-lanes client to run (an older copy's, see ./code.ts). @default this checkout's */
  readonly client?: ClientCode;
}

/** One operation as it is being recorded. */
interface Draft {
  id: string;
  process: string;
  kind: Operation['kind'];
  token?: string;
  key?: string;
  method: string;
  url: string;
  calledAt: number;
  attempts: { at: number; session: string | undefined; status?: number; sessionAfter?: string }[];
  events: OperationEvent[];
}

export const sessionName = (value: string | undefined) => (value === undefined ? undefined : createHash('sha256').update(value).digest('hex').slice(0, 10));

/** What the answer's Set-Cookie did to the session cookie: its new name, '' when cleared, undefined when untouched. */
function setCookieOf(response: Response, cookie: string): string | undefined {
  let after: string | undefined;
  for (const line of response.headers.getSetCookie()) {
    const [pair = '', ...attributes] = line.split(';');
    const at = pair.indexOf('=');
    if (pair.slice(0, at).trim() !== cookie) continue;
    const value = pair.slice(at + 1).trim();
    after = value === '' || attributes.some((attribute) => /^\s*max-age\s*=\s*0\s*$/i.test(attribute)) ? '' : sessionName(value);
  }
  return after;
}

/** A one-at-a-time gate: `run(fn)` waits for the previous holder. */
function gate() {
  let tail = Promise.resolve();
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    const before = tail;
    let release!: () => void;
    tail = new Promise<void>((resolve) => (release = resolve));
    await before;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

interface Step {
  kind: Operation['kind'];
  path: string;
  method: 'GET' | 'POST';
  token?: string;
  key?: string;
  consumes?: boolean;
  final?: boolean;
}

/** The scenario's next step for a client: a pure function of its random stream and position. */
function nextStep(scenario: ScenarioName, random: Random, process: string, index: number, special: (index: number) => boolean): Step {
  const token = `${process}-${index}`;
  const append = (key: 'slow' | 'fast'): Step => ({ kind: 'append', path: `/race/append/${key}`, method: 'POST', token, key });
  if (special(index) && scenario === 'logout-in-flight') return { kind: 'logout', path: '/race/logout', method: 'POST' };
  if (special(index) && scenario === 'login-in-flight') return { kind: 'login', path: '/race/login', method: 'POST' };
  switch (scenario) {
    case 'increments':
      return { kind: 'increment', path: '/race/incr', method: 'POST', token, key: 'counter' };
    case 'read-erases-write':
      return random.chance(0.5) ? append('fast') : { kind: 'read', path: '/race/view', method: 'POST' };
    case 'flash':
      return random.chance(0.6) ? { kind: 'append', path: '/race/flash', method: 'POST', token, key: 'flash' } : { kind: 'read', path: '/race/flash/take', method: 'POST', key: 'flash', consumes: true };
    default:
      return append(random.chance(0.5) ? 'slow' : 'fast');
  }
}

/** The tokens a read's answer holds (its body as the route answers it). */
function observedOf(path: string, body: unknown): { observed: string[]; observedCount?: number } {
  if (path === '/race/flash/take') return { observed: (body as { flash: string[] }).flash };
  if (path === '/race/view') return { observed: [...(body as { slow: string[] }).slow, ...(body as { fast: string[] }).fast] };
  const state = body as RaceState;
  return { observed: [...state.slow, ...state.fast, ...state.flash], observedCount: state.counter };
}

export async function drive(options: DriveOptions): Promise<History> {
  const { target, scenario, seed } = options;
  const { createLanes, createSessionClient, isConflictError, isSessionEndedError } = options.client ?? CURRENT.client;
  const jars = options.jars ?? 2;
  const clients = options.clients ?? 4;
  const maxDelayMs = options.maxDelayMs ?? 3;
  const deadline = Date.now() + (options.maxMs ?? 60_000);
  const startedAt = new Date().toISOString();
  const origin = performance.now();
  const now = () => Math.round((performance.now() - origin) * 1000) / 1000;
  const drafts = new Map<string, Draft>();
  const operations: Operation[] = [];
  let nextId = 0;

  interface Browser {
    jar: CookieJar;
    /** Sends one operation's request; resolves with its final answer, or rejects. */
    send(client: number, id: string, step: Step, body: string | undefined): Promise<Response>;
  }
  const browsers: Browser[] = Array.from({ length: jars }, () => {
    const jar = createCookieJar();
    // Every attempt on the wire, recorded against its operation.
    const wire: typeof fetch = async (input, init = {}) => {
      const draft = drafts.get(new Headers(init.headers).get('x-race-op') ?? '');
      const attempt: Draft['attempts'][number] = { at: now(), session: sessionName(jar.cookies.get(target.cookie)) };
      draft?.attempts.push(attempt);
      draft?.events.push({ at: attempt.at, type: draft.attempts.length === 1 ? 'sent' : 'retry' });
      try {
        const response = await jar.fetch(input, init);
        attempt.status = response.status;
        const after = setCookieOf(response, target.cookie);
        if (after !== undefined) attempt.sessionAfter = after;
        draft?.events.push({ at: now(), type: response.status === 412 ? 'conflict' : 'answered', status: response.status });
        return response;
      } catch (error) {
        draft?.events.push({ at: now(), type: 'answered', detail: (error as Error).message });
        throw error;
      }
    };
    if (target.lanes) {
      const firstWrite = createLanes();
      const tabs: SessionClient[] = Array.from({ length: clients + 1 }, () =>
        createSessionClient({ routes: raceTable, base: target.url, fetch: wire, firstWrite, deadline: 10_000, retries: 30, backoff: 5, maxBackoff: 200 }),
      );
      return {
        jar,
        send: (client, id, step, body) => tabs[client]!.fetch(`${target.url}${step.path}`, { method: step.method, headers: { 'x-race-op': id, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) }),
      };
    }
    const cookieless = gate();
    return {
      jar,
      send(_client, id, step, body) {
        const go = () => wire(`${target.url}${step.path}`, { method: step.method, headers: { 'x-race-op': id, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}) });
        return jar.cookies.has(target.cookie) ? go() : cookieless(go);
      },
    };
  });

  async function perform(browser: Browser, client: number, process: string, step: Step): Promise<void> {
    const id = `op-${nextId++}`;
    const draft: Draft = { id, process, kind: step.kind, method: step.method, url: `${target.url}${step.path}`, calledAt: now(), attempts: [], events: [{ at: now(), type: 'queued' }], ...(step.token ? { token: step.token } : {}), ...(step.key ? { key: step.key } : {}) };
    drafts.set(id, draft);
    let status: number | undefined;
    let error: string | undefined;
    let body: unknown;
    try {
      const response = await browser.send(client, id, step, step.token ? JSON.stringify({ token: step.token }) : undefined);
      status = response.status;
      body = response.ok ? await response.json() : await response.text();
    } catch (thrown) {
      // A 412 after every retry, or a 410, was an answer: the last attempt's status says what it was.
      const last = draft.attempts.at(-1)?.status;
      if ((isConflictError(thrown) || isSessionEndedError(thrown)) && last !== undefined && last >= 400 && last < 500) status = last;
      else error = `${(thrown as Error).name}: ${(thrown as Error).message}`;
    }
    const answeredAt = now();
    drafts.delete(id);
    // The attempt whose answer stands, and the first attempt sent in the same session: where and since when the write could land.
    const final = draft.attempts.at(-1);
    const first = draft.attempts.find((attempt) => attempt.session === final?.session);
    const operation: Operation = {
      id,
      process,
      kind: step.kind,
      method: step.method,
      url: draft.url,
      sentAt: first?.at ?? draft.calledAt,
      ...(draft.token !== undefined ? { token: draft.token } : {}),
      ...(draft.key !== undefined ? { key: draft.key } : {}),
      ...(status !== undefined ? { status, answeredAt } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(final?.session !== undefined ? { session: final.session } : {}),
      ...(final?.sessionAfter !== undefined ? { sessionAfter: final.sessionAfter } : {}),
      ...(step.kind === 'read' && status !== undefined && status >= 200 && status < 300 ? observedOf(step.path, body) : {}),
      ...(step.consumes ? { consumes: true } : {}),
      ...(step.final ? { final: true } : {}),
      events: draft.events,
    };
    operations.push(operation);
  }

  const perClient = Math.ceil(options.operations / (jars * clients));
  await Promise.all(
    browsers.flatMap((browser, j) =>
      Array.from({ length: clients }, async (_unused, c) => {
        const process = `j${j}-c${c}`;
        const random = streamOf(seed, process);
        // The first client of each jar logs out (or in) at a seeded point in the middle of its run.
        const draw = streamOf(seed, `${process}-special`).next();
        const every = options.specialEvery;
        const once = Math.floor(perClient * (0.3 + 0.4 * draw));
        const special = (index: number) => c === 0 && (every === undefined ? index === once : index % every === Math.floor(draw * every));
        for (let index = 0; index < perClient && Date.now() < deadline; index++) {
          const delay = random.int(0, maxDelayMs);
          const step = nextStep(scenario, random, process, index, special);
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
          await perform(browser, c, process, step);
        }
      }),
    ),
  );
  // The final reads, one per jar, after the burst (a flash's takes what is left).
  for (const [j, browser] of browsers.entries()) {
    const step: Step = scenario === 'flash' ? { kind: 'read', path: '/race/flash/take', method: 'POST', key: 'flash', consumes: true, final: true } : { kind: 'read', path: '/race/state', method: 'GET', final: true };
    await perform(browser, clients, `j${j}-reader`, step);
  }
  operations.sort((a, b) => a.sentAt - b.sentAt);
  return { format: HISTORY_FORMAT, seed, scenario, driver: 'node-http1', target: target.url, startedAt, operations };
}
