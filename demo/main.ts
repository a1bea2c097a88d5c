/// <reference types="vite/client" />
import type { History } from '../src/race/history.js';
import { ModeColumn, type BurstResult } from './column.js';
import { DEFAULT_DELAY_MS, MODES, type Mode, type ShopState } from './shop.js';

export type { BurstResult } from './column.js';

declare global {
  interface Window {
    demo: {
      readonly tab: string;
      /** Resolves once every column's first requests are answered. */
      readonly ready: Promise<void>;
      /** The same burst in each of `modes` (every column by default), one column after another. */
      burst(size?: number, modes?: readonly Mode[]): Promise<Partial<Record<Mode, BurstResult>>>;
      state(mode: Mode): Promise<ShopState>;
      /** Empties the sessions of `modes` (every column by default). */
      reset(modes?: readonly Mode[]): Promise<void>;
      /** A column's last burst, as the race kit's history (`session-lanes/race-history@1`). */
      history(mode: Mode): History;
      lastBurst?: Partial<Record<Mode, BurstResult>>;
    };
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
};

const url = new URL(location.href);
// A short id per tab, so that items name the tab that added them.
const tab = crypto.randomUUID().slice(0, 4);
const delayInput = $<HTMLInputElement>('delay');
const sizeInput = $<HTMLInputElement>('burst-size');
if (url.searchParams.has('delay')) delayInput.value = url.searchParams.get('delay') ?? String(DEFAULT_DELAY_MS);
if (url.searchParams.has('burst')) sizeInput.value = url.searchParams.get('burst') ?? '12';
const delay = () => Number(delayInput.value) || 0;

const columns = new Map<Mode, ModeColumn>();
for (const mode of MODES) columns.set(mode, await ModeColumn.create(mode, $('columns'), tab, delay));
const column = (mode: Mode): ModeColumn => {
  const found = columns.get(mode);
  if (!found) throw new TypeError(`No column for mode ${JSON.stringify(mode)}; the modes are ${MODES.join(', ')}`);
  return found;
};
let bursts = 0;

// The panel inspects the session-lanes column's client. Behind import.meta.env.DEV, as docs/devtools.md shows an
// app doing it: the demo only runs on Vite's dev server, so the panel is always there, and a build would drop it.
if (import.meta.env.DEV) {
  const client = column('lanes').api.client;
  if (client) void import('../src/devtools/index.js').then(({ mountDevtools }) => mountDevtools(client, { container: $('devtools') }));
}

async function burst(size = Number(sizeInput.value) || 12, modes: readonly Mode[] = MODES): Promise<Partial<Record<Mode, BurstResult>>> {
  const status = $('burst-status');
  status.textContent = 'running';
  status.dataset.state = 'running';
  const burstNo = ++bursts;
  const results: Partial<Record<Mode, BurstResult>> = {};
  // One column after another: at once they would share the browser's six connections, and each column's timing would be the others' too.
  for (const mode of modes) results[mode] = await column(mode).burst(size, burstNo);
  status.textContent = 'done';
  status.dataset.state = 'done';
  window.demo.lastBurst = results;
  return results;
}

async function reset(modes: readonly Mode[] = MODES): Promise<void> {
  await Promise.all(modes.map((mode) => column(mode).reset()));
}

/** A failure the page cannot recover from by itself: shown, and logged for the developer. */
function report(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  $('burst-hint').textContent = `Failed: ${message}. Is the demo server running? Reload to start again.`;
  $('burst-status').textContent = 'failed';
  $('burst-status').dataset.state = 'failed';
  for (const each of columns.values()) each.fail();
  console.error(error);
}

$('burst').addEventListener('click', () => void burst().catch(report));
$('reset').addEventListener('click', () => void reset().catch(report));

const ready = Promise.all([...columns.values()].map((each) => each.start())).then(() => undefined);
ready.catch(report);
window.demo = {
  tab,
  ready,
  burst,
  reset,
  state: (mode) => column(mode).refresh(),
  history: (mode) => column(mode).history(),
};
