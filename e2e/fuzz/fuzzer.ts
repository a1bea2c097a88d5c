/**
 * The system fuzzer: real Chromium tabs of one browser context (one cookie
 * jar, Web Locks and the IndexedDB outbox shared) against the fuzzer's server
 * (./server.ts), over a schedule drawn from a seed: bursts of appends and
 * reads from random tabs, tabs that tag from the route table and tabs that
 * declare at the call site, tabs closed mid-flight (their outbox replayed by
 * the others or by the next tab opened), logouts, rotating logins, store
 * outages and a server restart. The history (src/race/history.ts) is built
 * from what the tabs heard and what the server log saw, and judged by the
 * race kit's checker; on top, a write of ours that the outbox dropped is an
 * anomaly (the fuzzer's writes are all blind, well formed and young: no drop
 * reason applies to them).
 *
 * Mixes: `safe` closes a tab mid-flight only while every open tab tags from
 * the table (call-site tabs are opened at the start and closed once idle);
 * `full` closes any tab mid-flight and opens either kind: it is the mix that
 * finds issue 20 §1 on a client whose call-site declarations a surviving tab
 * cannot validate.
 */
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { checkHistory, type CheckResult } from '../../src/race/checker.js';
import type { History } from '../../src/race/history.js';
import { seeded } from '../../bench/race/seeded.js';
import { FUZZ_KEYS, type FuzzOperation, type FuzzReport } from './routes.js';
import { buildHistory } from './history.js';
import type { FuzzServer } from './server.js';

export type FuzzMix = 'safe' | 'full';

export interface FuzzOptions {
  readonly seed: number;
  readonly server: FuzzServer;
  readonly browser: Browser;
  /** How many schedule steps (bursts, closes, logouts, logins, faults) run before the drain: a count, not a time, so that a seed's schedule is the same on a slow machine. @default 40 */
  readonly steps?: number;
  /** Tabs open at the start (the second declares at the call site, the first and third tag from the table, the others either). @default 3 */
  readonly tabs?: number;
  /** @default 'safe' */
  readonly mix?: FuzzMix;
  /** Store outages and one server restart in the schedule. @default true */
  readonly faults?: boolean;
}

/** A write the outbox dropped although nothing about it called for a drop. */
export interface DroppedWrite {
  readonly kind: 'dropped-write';
  readonly token: string;
  readonly reason: string;
  readonly text: string;
}

export interface FuzzResult {
  readonly seed: number;
  readonly history: History;
  readonly check: CheckResult;
  readonly dropped: readonly DroppedWrite[];
  /** The schedule as it ran: the same seed gives the same lines. */
  readonly schedule: readonly string[];
  readonly figures: { readonly tabsOpened: number; readonly tabsClosed: number; readonly closedInFlight: number; readonly logouts: number; readonly logins: number; readonly outages: number; readonly restarts: number; readonly outboxLeft: number };
  /** No anomaly of the checker and no dropped write. */
  readonly valid: boolean;
}

interface Tab {
  readonly name: string;
  readonly declare: 'table' | 'call';
  readonly page: Page;
  /** Operations started in it that have not settled. */
  readonly pending: Set<string>;
  closed: boolean;
}

export interface Started {
  readonly operation: FuzzOperation;
  readonly tab: string;
  readonly calledAt: number;
  readonly final?: boolean;
  report?: Extract<FuzzReport, { type: 'settled' }>;
  tabClosed?: boolean;
}

const clock = () => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await pause(100);
  }
  return false;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const { seed, server } = options;
  const mix = options.mix ?? 'safe';
  const faults = options.faults ?? true;
  const steps = options.steps ?? 40;
  const random = seeded(seed);
  const startedAt = new Date().toISOString();
  const origin = clock();
  const schedule: string[] = [];
  const trace = process.env.FUZZ_TRACE === '1' ? (what: string) => console.log(`  [${Math.round(clock() - origin)} ms] ${what}`) : () => {};
  const started = new Map<string, Started>();
  const drops: Extract<FuzzReport, { type: 'dropped' }>[] = [];
  const tabs: Tab[] = [];
  const figures = { tabsOpened: 0, tabsClosed: 0, closedInFlight: 0, logouts: 0, logins: 0, outages: 0, restarts: 0, outboxLeft: 0 };
  const logFrom = server.log.length;
  let nextOp = 0;
  let nextToken = 0;

  const context: BrowserContext = await options.browser.newContext();
  const tabOf = new Map<Page, Tab>();
  await context.exposeBinding('fuzzReport', ({ page }, report: FuzzReport) => {
    if (report.type === 'dropped') return void drops.push(report);
    const entry = started.get(report.id);
    if (!entry) return;
    entry.report = report;
    tabOf.get(page)?.pending.delete(report.id);
  });

  async function openTab(declare: 'table' | 'call'): Promise<Tab> {
    const name = `tab-${++figures.tabsOpened}-${declare}`;
    const page = await context.newPage();
    const tab: Tab = { name, declare, page, pending: new Set(), closed: false };
    tabOf.set(page, tab);
    trace(`opening ${name}`);
    await page.goto(`${server.url}/?declare=${declare}&tab=${name}`);
    await page.waitForFunction(() => window.fuzz !== undefined, null, { timeout: 15_000 });
    tabs.push(tab);
    trace(`opened ${name}`);
    return tab;
  }

  async function start(tab: Tab, operations: FuzzOperation[], final = false): Promise<void> {
    for (const operation of operations) {
      started.set(operation.id, { operation, tab: tab.name, calledAt: clock(), ...(final ? { final } : {}) });
      tab.pending.add(operation.id);
    }
    await tab.page.evaluate((list) => window.fuzz.start(list), operations);
  }

  const live = () => tabs.filter((tab) => !tab.closed);
  const operation = (kind: FuzzOperation['kind'], tab: Tab, key?: (typeof FUZZ_KEYS)[number]): FuzzOperation => ({
    id: `op-${nextOp++}`,
    kind,
    ...(key ? { key, token: `${tab.name}-${nextToken++}` } : {}),
  });

  async function closeTab(tab: Tab, inFlight: boolean): Promise<void> {
    if (!inFlight) await until(() => tab.pending.size === 0, 20_000);
    trace(`closing ${tab.name}`);
    figures.tabsClosed++;
    figures.closedInFlight += tab.pending.size;
    tab.closed = true;
    for (const id of tab.pending) started.get(id)!.tabClosed = true;
    await tab.page.close();
  }

  // The tabs of the start: at least one of each kind.
  const count = Math.max(2, options.tabs ?? 3);
  for (let i = 0; i < count; i++) await openTab(i === 1 ? 'call' : i === 0 || i === 2 ? 'table' : random.chance(0.5) ? 'table' : 'call');
  schedule.push(`open ${tabs.map((tab) => tab.name).join(', ')}`);

  let restarted = !faults;
  // Every schedule holds the whole mix: near the end, a kind not drawn yet is forced (the value `roll` falls on for it).
  const unseen = new Map<string, number>([
    ['mid-flight close', 0.65],
    ['logout', 0.78],
    ['login', 0.85],
    ...(faults ? ([['outage', 0.92], ['restart', 0.98]] as const) : []),
  ]);
  for (let step = 0; step < steps; step++) {
    await pause(random.int(50, 250));
    const tabsNow = live();
    const drawn = random.next();
    const roll = steps - step <= unseen.size * 2 && unseen.size > 0 ? [...unseen.values()][0]! : drawn;
    const tab = random.pick(tabsNow);
    if (roll < 0.55) {
      // A burst: several appends, often to one key (so that they queue behind its lane), and a read now and then.
      const size = random.int(1, 6);
      const oneKey = random.chance(0.6) ? random.pick(FUZZ_KEYS) : undefined;
      const burst = Array.from({ length: size }, () => (random.chance(0.1) ? operation('read', tab) : operation('append', tab, oneKey ?? random.pick(FUZZ_KEYS))));
      schedule.push(`burst ${tab.name}: ${burst.map((each) => each.key ?? 'read').join(' ')}`);
      await start(tab, burst);
    } else if (roll < 0.75) {
      const calls = tabsNow.filter((each) => each.declare === 'call');
      if (mix === 'safe' && calls.length > 0) {
        // Safe mix: call-site tabs leave idle, and a tab is closed mid-flight only among table tabs.
        const victim = random.pick(calls);
        schedule.push(`close ${victim.name} once idle`);
        await closeTab(victim, false);
      } else {
        if (tabsNow.length < 2) {
          // One tab left: open another instead, so that one survives the next close.
          const opened = await openTab('table');
          schedule.push(`open ${opened.name}`);
          continue;
        }
        // Closed right after a burst to one key: some of its writes sent, the others queued behind the key's lane.
        const victim = tab;
        const key = random.pick(FUZZ_KEYS);
        const burst = Array.from({ length: random.int(2, 6) }, () => operation('append', victim, key));
        await start(victim, burst);
        await pause(random.int(0, 60));
        schedule.push(`close ${victim.name} mid-flight, after ${key}×${burst.length}`);
        unseen.delete('mid-flight close');
        trace(`${victim.pending.size} operations pending in ${victim.name}`);
        await closeTab(victim, true);
        const declare = mix === 'full' && random.chance(0.5) ? 'call' : 'table';
        const opened = await openTab(declare);
        schedule.push(`open ${opened.name}`);
      }
    } else if (roll < 0.89) {
      // A logout (or a rotating login) with writes in flight in every tab: sent just before it and just after.
      const kind = roll < 0.82 ? 'logout' : 'login';
      figures[kind === 'logout' ? 'logouts' : 'logins']++;
      unseen.delete(kind);
      const around = tabsNow.map((each) => ({ tab: each, writes: Array.from({ length: random.int(1, 3) }, () => operation('append', each, random.pick(FUZZ_KEYS))) }));
      schedule.push(`${kind} from ${tab.name}, with ${around.map(({ tab: each, writes }) => `${each.name}: ${writes.map((write) => write.key).join(' ')}`).join(', ')} around it`);
      const [before, after] = [around.map(({ tab: each, writes }) => ({ tab: each, writes: writes.slice(0, 1) })), around.map(({ tab: each, writes }) => ({ tab: each, writes: writes.slice(1) }))];
      await Promise.all(before.map(({ tab: each, writes }) => start(each, writes)));
      await start(tab, [operation(kind, tab)]);
      await Promise.all(after.map(({ tab: each, writes }) => start(each, writes)));
    } else if (faults && roll < 0.96) {
      const ms = random.int(150, 600);
      figures.outages++;
      unseen.delete('outage');
      schedule.push(`store outage ${ms} ms`);
      server.outage(ms);
    } else if (!restarted) {
      restarted = true;
      const ms = random.int(100, 400);
      figures.restarts++;
      unseen.delete('restart');
      schedule.push(`server restart, down ${ms} ms`);
      await server.restart(ms);
    }
  }

  // The drain: every operation settles (or its tab is gone), the outbox empties, then a final read.
  trace(`schedule done: ${schedule.length} lines`);
  await until(() => live().every((tab) => tab.pending.size === 0), 45_000);
  trace('settled');
  if (live().length === 0) await openTab('table');
  const reader = live()[0]!;
  await until(async () => (await reader.page.evaluate(() => window.fuzz.outbox())) === 0, 30_000);
  figures.outboxLeft = await reader.page.evaluate(() => window.fuzz.outbox());
  trace('outbox drained');
  for (let attempt = 0; attempt < 3; attempt++) {
    const read = operation('read', reader);
    await start(reader, [read], true);
    await until(() => started.get(read.id)!.report !== undefined, 30_000);
    if (started.get(read.id)!.report?.status === 200) break;
  }
  await context.close();

  const history = buildHistory(seed, server, started, server.log.slice(logFrom), origin, startedAt);
  const check = checkHistory(history);
  const tokens = new Set([...started.values()].flatMap((entry) => (entry.operation.token ? [entry.operation.token] : [])));
  const dropped: DroppedWrite[] = drops
    .filter((drop) => drop.token !== undefined && tokens.has(drop.token))
    .map((drop) => {
      const write = [...started.values()].find((entry) => entry.operation.token === drop.token)!;
      return {
        kind: 'dropped-write',
        token: drop.token!,
        reason: drop.reason,
        text: `Dropped write: ${write.tab}'s POST /fuzz/append/${write.operation.key} (token ${drop.token}), started at ${(write.calledAt - origin).toFixed(1)} ms${write.tabClosed ? ', its tab closed before it settled' : ''}, was dropped from the outbox by a surviving tab at ${(drop.at - origin).toFixed(1)} ms with reason "${drop.reason}", never to be sent: the client wrote it, so it could not be invalid, nor stale (blind), nor expired.`,
      };
    });
  return { seed, history, check, dropped, schedule, figures, valid: check.valid && dropped.length === 0 };
}
