import { randomBytes } from 'node:crypto';
import { HISTORY_FORMAT, type History, type Operation, type OperationEvent } from './history.js';
import type { PlannedAction, ScenarioPlan } from './plan.js';

/** What a driver records of one request; the runner adds the names (id, process, kind, token, key). */
export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly sentAt: number;
  readonly answeredAt?: number;
  readonly status?: number;
  readonly error?: string;
  readonly session?: string;
  readonly sessionAfter?: string;
  readonly observed?: readonly string[];
  readonly observedCount?: number;
  readonly events?: readonly OperationEvent[];
}

/** How a driver sends one planned action as one client (an HTTP client, a tab). */
export interface Executor {
  /**
   * `now()` is the history's clock (ms since the run began); `fromEpoch(ms)` maps a wall-clock time
   * (`performance.timeOrigin + performance.now()` in a page) onto it, for a driver that times requests in the page.
   */
  perform(client: number, action: PlannedAction, token: string, now: () => number, fromEpoch: (epochMs: number) => number): Promise<Recorded>;
}

export interface RunPlanOptions {
  readonly seed: number;
  readonly scenario: string;
  /** `node-http1`, `node-http2`, `playwright`. */
  readonly driver: string;
  readonly target: string;
  readonly clients: number;
  /** Each client's name in the history: `client` gives `client-1`, `client-2`, … @default 'client' */
  readonly processName?: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Run a plan through a driver and record its history: the setup, then every
 * client's share of the burst (each client one request at a time, each sent
 * no earlier than its planned time), then the final reads.
 */
export async function runPlan(plan: ScenarioPlan, executor: Executor, options: RunPlanOptions): Promise<History> {
  const startedAt = new Date().toISOString();
  const origin = performance.now();
  const now = () => Math.round((performance.now() - origin) * 1000) / 1000;
  const fromEpoch = (epochMs: number) => Math.round((epochMs - performance.timeOrigin - origin) * 1000) / 1000;
  // Tokens are unique per run, not per seed: a server that keeps idempotency records must not replay an earlier run.
  const run = randomBytes(9).toString('base64url'); // 12 characters: a token is 17, random enough for an Idempotency-Key that creates a session
  const operations: Operation[] = [];
  let count = 0;
  let logoutAnswered = false;
  const processName = options.processName ?? 'client';

  const perform = async (client: number, action: PlannedAction, final: boolean) => {
    count += 1;
    const number = count;
    const token = `${run}-${String(number).padStart(9, '0')}`;
    const recorded = await executor.perform(client, action, token, now, fromEpoch);
    const operation: Record<string, unknown> = { id: `op-${number}`, process: `${processName}-${client + 1}`, kind: action.kind, ...recorded };
    if (action.kind === 'append' || action.kind === 'increment') {
      operation.token = token;
      if (action.key !== undefined) operation.key = action.key;
    }
    if (action.kind === 'read') {
      if (action.key !== undefined) operation.key = action.key;
      if (final || action.final === true) operation.final = true;
      if (action.consumes === true) operation.consumes = true;
    }
    if (action.kind === 'logout' && recorded.status !== undefined) logoutAnswered = true;
    operations.push(operation as unknown as Operation);
  };

  for (const action of plan.setup) await perform(0, action, false);
  const burstStart = performance.now();
  const byClient = new Map<number, PlannedAction[]>();
  const timesByClient = new Map<number, number[]>();
  for (const step of plan.burst) {
    byClient.set(step.client, [...(byClient.get(step.client) ?? []), step.action]);
    timesByClient.set(step.client, [...(timesByClient.get(step.client) ?? []), step.at]);
  }
  await Promise.all(
    [...byClient].map(async ([client, actions]) => {
      const times = timesByClient.get(client)!;
      for (const [index, action] of actions.entries()) {
        await sleep(burstStart + times[index]! - performance.now());
        const isWrite = action.kind === 'append' || action.kind === 'increment';
        if (plan.stopWritesAtLogout && isWrite && logoutAnswered) continue;
        await perform(client, action, false);
      }
    }),
  );
  for (const action of plan.after) await perform(0, action, action.kind === 'read' && action.final === true);
  operations.sort((a, b) => a.sentAt - b.sentAt);
  return { format: HISTORY_FORMAT, seed: options.seed, scenario: options.scenario, driver: options.driver, target: options.target, startedAt, operations };
}
