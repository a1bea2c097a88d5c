import { test as base, type BrowserContext, type Page } from '@playwright/test';
import { checkHistory, type CheckResult } from './checker.js';
import { resolveRaceConfig, type RaceConfig, type ResolvedRaceConfig } from './config.js';
import { sessionName } from './cookie-jar.js';
import type { History } from './history.js';
import { readView, requestOf } from './node-driver.js';
import type { PlannedAction } from './plan.js';
import { createRandom, randomSeed } from './prng.js';
import { renderHtmlReport } from './report-html.js';
import { formatReport } from './report-text.js';
import { runPlan, type Executor, type Recorded } from './run-plan.js';
import { scenarioFor } from './scenarios.js';
import { buildRequest } from './template.js';

/**
 * The race kit as a Playwright fixture: N real tabs of the app in one browser
 * context (one cookie jar), each firing its share of the burst from the page —
 * the app's own client through `writer.write`, or a `fetch` of the writer's
 * request — and the same history and checker as the Node driver.
 *
 * @example
 * import { test, expect } from 'session-lanes/race/playwright';
 * test.use({ raceConfig: { target: 'http://127.0.0.1:3000', writer: …, reader: … } });
 * test('no lost session writes', async ({ race }) => {
 *   const { result, report } = await race.run('distinct-keys');
 *   expect(result.anomalies, report).toEqual([]);
 * });
 */
export interface RaceRun {
  readonly history: History;
  readonly result: CheckResult;
  /** The verdict with the witnesses, as the CLI prints it. */
  readonly report: string;
}

export interface RaceFixture {
  /** Run a scenario in the tabs; the history and the verdict are attached to the test (JSON and HTML). */
  run(scenario: string, options?: { readonly seed?: number; readonly config?: Partial<RaceConfig> }): Promise<RaceRun>;
}

const epochNow = () => performance.timeOrigin + performance.now();

interface PageAnswer {
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
  readonly sentAt: number;
  readonly answeredAt?: number;
}

async function sessionOf(context: BrowserContext, config: ResolvedRaceConfig): Promise<string | undefined> {
  const cookies = await context.cookies(config.target);
  if (config.cookie !== undefined) {
    const found = cookies.find((cookie) => cookie.name === config.cookie || cookie.name === `__Host-${config.cookie}` || cookie.name === `__Secure-${config.cookie}`);
    return found === undefined ? undefined : sessionName(found.value);
  }
  return cookies.length === 0 ? undefined : sessionName(cookies.map((cookie) => `${cookie.name}=${cookie.value}`).sort().join('; '));
}

function pageExecutor(context: BrowserContext, pages: readonly Page[], config: ResolvedRaceConfig): Executor {
  return {
    async perform(client, action: PlannedAction, token, _now, fromEpoch): Promise<Recorded> {
      const page = pages[client]!;
      const session = await sessionOf(context, config);
      const inPage = (action.kind === 'append' || action.kind === 'increment') && action.writer.write !== undefined ? action.writer.write : undefined;
      let answer: PageAnswer;
      let method: string;
      let url: string;
      if (inPage !== undefined) {
        // The app's own client sends it: the answer is what the function resolves to (a status or a Response), else 200.
        method = 'CALL';
        url = page.url();
        const source = inPage.toString();
        // One expression, evaluated as Playwright evaluates a function (no eval inside the page, so a CSP does not block it).
        answer = await page.evaluate<PageAnswer>(`(async () => {
          const sentAt = performance.timeOrigin + performance.now();
          try {
            const result = await (${source})(${JSON.stringify(token)});
            const status = typeof result === 'number' ? result : typeof result?.status === 'number' ? result.status : 200;
            return { status, sentAt, answeredAt: performance.timeOrigin + performance.now() };
          } catch (error) {
            return { error: String(error), sentAt };
          }
        })()`);
      } else {
        const key = action.kind === 'append' || action.kind === 'increment' ? action.key : undefined;
        const wire = buildRequest(config.target, requestOf(action), key === undefined ? { token } : { token, key });
        method = wire.method;
        url = wire.url;
        answer = await page.evaluate(async (request) => {
          const sentAt = performance.timeOrigin + performance.now();
          try {
            const response = await fetch(request.url, { method: request.method, headers: request.headers, credentials: 'include', ...(request.body === undefined ? {} : { body: request.body }) });
            const body = await response.text();
            return { status: response.status, body, sentAt, answeredAt: performance.timeOrigin + performance.now() };
          } catch (error) {
            return { error: String(error), sentAt };
          }
        }, wire);
      }
      const after = await sessionOf(context, config);
      const recorded: Record<string, unknown> = { method, url, sentAt: fromEpoch(answer.sentAt) };
      if (session !== undefined) recorded.session = session;
      if (answer.status === undefined) {
        recorded.error = answer.error ?? 'no answer';
        recorded.events = [{ at: recorded.sentAt, type: 'sent' }];
        return recorded as unknown as Recorded;
      }
      const answeredAt = fromEpoch(answer.answeredAt ?? epochNow());
      Object.assign(recorded, { answeredAt, status: answer.status }, readView(action, answer.status, answer.body ?? ''));
      if (after !== session) recorded.sessionAfter = after ?? '';
      recorded.events = [
        { at: recorded.sentAt, type: 'sent' },
        { at: answeredAt, type: answer.status === 412 ? 'conflict' : 'answered', status: answer.status },
      ];
      return recorded as unknown as Recorded;
    },
  };
}

export const test = base.extend<{ raceConfig: RaceConfig | undefined; race: RaceFixture }>({
  raceConfig: [undefined, { option: true }],
  race: async ({ browser, raceConfig }, use, testInfo) => {
    const contexts: BrowserContext[] = [];
    await use({
      async run(name, options = {}) {
        if (raceConfig === undefined && options.config === undefined) throw new TypeError('race.run(): give the config with test.use({ raceConfig: { target, writer, reader } }) or race.run(name, { config })');
        const config = resolveRaceConfig({ ...(raceConfig ?? {}), ...(options.config ?? {}) } as RaceConfig);
        const scenario = scenarioFor(name, config);
        const seed = options.seed ?? randomSeed();
        console.log(`session-lanes race ${name}: seed ${seed}`);
        // One context: one cookie jar, shared by every tab, as one browser's tabs share it.
        const context = await browser.newContext();
        contexts.push(context);
        const pages = await Promise.all(Array.from({ length: config.clients }, () => context.newPage()));
        await Promise.all(pages.map((page) => page.goto(new URL(config.page, `${config.target}/`).href)));
        const plan = scenario.plan(config, createRandom(seed));
        const history = await runPlan(plan, pageExecutor(context, pages, config), { seed, scenario: name, driver: 'playwright', target: config.target, clients: config.clients, processName: 'tab' });
        const result = checkHistory(history);
        const report = formatReport(history, result);
        await testInfo.attach(`race-${name}-${seed}.json`, { body: JSON.stringify({ history, result }, null, 2), contentType: 'application/json' });
        await testInfo.attach(`race-${name}-${seed}.html`, { body: renderHtmlReport(history, result), contentType: 'text/html' });
        return { history, result, report };
      },
    });
    await Promise.all(contexts.map((context) => context.close()));
  },
});

export { expect } from '@playwright/test';
