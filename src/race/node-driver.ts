import { resolveRaceConfig, type RaceConfig, type ResolvedRaceConfig, type ResolvedRequest } from './config.js';
import { createCookieJar } from './cookie-jar.js';
import type { History, OperationEvent } from './history.js';
import type { PlannedAction } from './plan.js';
import { createRandom, randomSeed } from './prng.js';
import { runPlan, type Executor, type Recorded } from './run-plan.js';
import { scenarioFor } from './scenarios.js';
import { buildRequest, parseBody } from './template.js';
import { createTransport, type TransportKind } from './transport.js';

export interface NodeRaceOptions {
  readonly config: RaceConfig | ResolvedRaceConfig;
  /** A scenario name: `distinct-keys`, `read-erases-write`, `increments`, `logout-in-flight`, `login-in-flight`, `flash`. */
  readonly scenario: string;
  /** @default a random seed, reported through `onSeed` and in the history */
  readonly seed?: number;
  /** @default 'http1' */
  readonly transport?: TransportKind;
  /** Called with the seed before anything is sent (the CLI prints it). */
  readonly onSeed?: (seed: number) => void;
}

const isResolved = (config: RaceConfig | ResolvedRaceConfig): config is ResolvedRaceConfig => 'writers' in config;

/** The request an action sends, from the config. */
export function requestOf(action: PlannedAction): ResolvedRequest {
  if ('request' in action) return action.request;
  const request = 'reader' in action ? action.reader.request : action.writer.request;
  if (request === undefined) throw new TypeError(`the Node driver sends every request itself: this ${action.kind === 'read' ? 'reader' : 'writer'} needs a path (an in-page write function runs only in the Playwright fixture)`);
  return request;
}

/** What a read's answer holds, through the reader's functions; a function that throws stops the run with the body it got. */
export function readView(action: PlannedAction, status: number, body: string): Pick<Recorded, 'observed' | 'observedCount'> {
  if (action.kind !== 'read' || status < 200 || status >= 300) return {};
  const parsed = parseBody(body);
  try {
    const view: { observed?: readonly string[]; observedCount?: number } = {};
    if (action.reader.tokens !== undefined) {
      const tokens = action.reader.tokens(parsed);
      if (!Array.isArray(tokens)) throw new TypeError(`returned ${JSON.stringify(tokens)}, not an array`);
      view.observed = tokens.map(String);
    }
    if (action.reader.count !== undefined) view.observedCount = Number(action.reader.count(parsed));
    return view;
  } catch (error) {
    throw new TypeError(`reader function failed on the answer ${status} ${body.slice(0, 200)}: ${(error as Error).message}`, { cause: error });
  }
}

/** N HTTP clients sharing one cookie jar, over keep-alive HTTP/1.1 or HTTP/2. */
function nodeExecutor(config: ResolvedRaceConfig, kind: TransportKind) {
  const jar = createCookieJar(config.cookie);
  const transports = Array.from({ length: config.clients }, () => createTransport(kind, config.target));
  let sawSession = false;
  const executor: Executor = {
    async perform(client, action, token, now) {
      const key = action.kind === 'append' || action.kind === 'increment' ? action.key : undefined;
      const wire = buildRequest(config.target, requestOf(action), key === undefined ? { token } : { token, key });
      const cookie = jar.header();
      const headers = cookie === undefined ? wire.headers : { ...wire.headers, cookie };
      const session = jar.session();
      const sentAt = now();
      const base = { method: wire.method, url: wire.url, sentAt, ...(session === undefined ? {} : { session }) };
      try {
        const answer = await transports[client]!.send({ ...wire, headers }, AbortSignal.timeout(config.timeoutMs));
        const answeredAt = now();
        jar.store(answer.setCookies);
        const after = jar.session();
        if (after !== undefined) sawSession = true;
        const events: OperationEvent[] = [
          { at: sentAt, type: 'sent' },
          { at: answeredAt, type: answer.status === 412 ? 'conflict' : 'answered', status: answer.status },
        ];
        return { ...base, answeredAt, status: answer.status, ...(after === session ? {} : { sessionAfter: after ?? '' }), ...readView(action, answer.status, answer.body), events };
      } catch (error) {
        if (error instanceof TypeError && error.message.startsWith('reader function failed')) throw error;
        return { ...base, error: (error as Error).message, events: [{ at: sentAt, type: 'sent' }] };
      }
    },
  };
  return { executor, close: () => transports.forEach((transport) => transport.close()), sawSession: () => sawSession };
}

/** Run one scenario against a server with the Node driver; the history it returns is what `checkHistory` judges. */
export async function runNodeRace(options: NodeRaceOptions): Promise<History> {
  const config = isResolved(options.config) ? options.config : resolveRaceConfig(options.config);
  const scenario = scenarioFor(options.scenario, config);
  const seed = options.seed ?? randomSeed();
  options.onSeed?.(seed);
  const kind = options.transport ?? 'http1';
  const plan = scenario.plan(config, createRandom(seed));
  // Before anything is sent: every action must be a request this driver can send.
  for (const action of [...plan.setup, ...plan.burst.map((step) => step.action), ...plan.after]) requestOf(action);
  const { executor, close, sawSession } = nodeExecutor(config, kind);
  try {
    const history = await runPlan(plan, executor, { seed, scenario: scenario.name, driver: `node-${kind}`, target: config.target, clients: config.clients });
    if (!sawSession()) {
      throw new Error(
        config.cookie === undefined
          ? 'the server never set a cookie: the run has no session to check (is the writer path right? does it answer 2xx?)'
          : `the server never set the cookie ${JSON.stringify(config.cookie)}: check the config's cookie name (or leave it out to use every cookie)`,
      );
    }
    return history;
  } finally {
    close();
  }
}
