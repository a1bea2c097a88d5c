import { createShopApi } from './api/index.js';
import type { ShopApi } from './api/types.js';
import { DEFAULT_DELAY_MS, LIST_KEYS, MODES, SHOP_KEYS, type ListKey, type Mode, type ShopState } from './shop.js';
import { Timeline } from './timeline.js';

/** What a burst did, for the panel, `npm run demo:tabs` and the e2e tests. */
export interface BurstResult {
  mode: Mode;
  tab: string;
  /** Items the server acknowledged (2xx), as `key/item`. */
  acknowledged: string[];
  /** Acknowledged items found in the session once the burst was over. */
  stored: string[];
  lost: number;
  failed: number;
  conflicts: number;
  retries: number;
  durationMs: number;
}

declare global {
  interface Window {
    demo: {
      readonly mode: Mode;
      readonly tab: string;
      /** Resolves once the page's first requests are answered. */
      readonly ready: Promise<void>;
      burst(size?: number): Promise<BurstResult>;
      state(): Promise<ShopState>;
      reset(): Promise<void>;
      lastBurst?: BurstResult;
    };
  }
}

const PRODUCTS = ['tea', 'mug', 'kettle', 'scone', 'jam', 'teapot'] as const;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
};

const url = new URL(location.href);
const mode: Mode = (MODES as readonly string[]).includes(url.searchParams.get('mode') ?? '') ? (url.searchParams.get('mode') as Mode) : 'naive';
// A short id per tab, so that items name the tab that added them.
const tab = crypto.randomUUID().slice(0, 4);
const delayInput = $<HTMLInputElement>('delay');
const sizeInput = $<HTMLInputElement>('burst-size');
if (url.searchParams.has('delay')) delayInput.value = url.searchParams.get('delay') ?? String(DEFAULT_DELAY_MS);
if (url.searchParams.has('burst')) sizeInput.value = url.searchParams.get('burst') ?? '12';

const timeline = new Timeline($('timeline'), SHOP_KEYS);
const api: ShopApi = await createShopApi(mode, { delay: () => Number(delayInput.value) || 0, timeline });
let state: ShopState = { cart: [], wishlist: [], recent: [], visits: 0, prefs: { theme: 'light' } };
let sequence = 0;
let bursts = 0;

document.body.dataset.mode = mode;
const MODE_TITLE: Record<Mode, string> = { naive: 'naive', lock: 'lock per session', lanes: 'session-lanes' };
document.title = `${MODE_TITLE[mode]} · session-lanes demo`;
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=mode]')) {
  radio.checked = radio.value === mode;
  // Switching mode reloads the page: each mode has its own session and its own client.
  radio.addEventListener('change', () => {
    url.searchParams.set('mode', radio.value);
    url.searchParams.set('delay', delayInput.value);
    url.searchParams.set('burst', sizeInput.value);
    location.assign(url);
  });
}

function render(): void {
  for (const key of LIST_KEYS) {
    $(`count-${key}`).textContent = String(state[key].length);
    const items = state[key].slice(-8).reverse().map((item) => {
      const li = document.createElement('li');
      li.textContent = item;
      return li;
    });
    $(`list-${key}`).replaceChildren(...items);
  }
  $('visits').textContent = String(state.visits);
  $<HTMLInputElement>('dark').checked = state.prefs.theme === 'dark';
  document.body.classList.toggle('dark', state.prefs.theme === 'dark');
}

function itemFor(product: string): string {
  return `${product}·${tab}·${++sequence}`;
}

async function append(key: ListKey, item: string): Promise<boolean> {
  const ok = await api.append(key, item).catch(() => false);
  if (ok && !state[key].includes(item)) state[key] = [...state[key], item];
  render();
  return ok;
}

for (const product of PRODUCTS) {
  const li = document.createElement('li');
  const name = document.createElement('span');
  name.textContent = product;
  li.append(name);
  for (const [key, label] of [['cart', 'add'], ['wishlist', '♡'], ['recent', 'view']] as const) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.title = `${label} ${product} (${key})`;
    button.addEventListener('click', () => void append(key, itemFor(product)));
    li.append(button);
  }
  $('product-list').append(li);
}

$<HTMLInputElement>('dark').addEventListener('change', async (event) => {
  const theme = (event.target as HTMLInputElement).checked ? 'dark' : 'light';
  if (await api.setTheme(theme).catch(() => false)) state.prefs = { theme };
  render();
});

async function refresh(): Promise<ShopState> {
  state = await api.state();
  render();
  return state;
}

async function burst(size = Number(sizeInput.value) || 12): Promise<BurstResult> {
  const status = $('burst-status');
  status.textContent = 'running';
  status.dataset.state = 'running';
  timeline.clear();
  const burstNo = ++bursts;
  const started = performance.now();
  const actions = Array.from({ length: size }, (_, index) => {
    const key = LIST_KEYS[index % LIST_KEYS.length] as ListKey;
    const item = `${PRODUCTS[index % PRODUCTS.length]}·${tab}·b${burstNo}.${index + 1}`;
    return { key, item };
  });
  const outcomes = await Promise.all(actions.map(({ key, item }) => append(key, item)));
  const durationMs = Math.round(performance.now() - started);
  const acknowledged = actions.filter((_, index) => outcomes[index]);
  // The timeline shows the burst; reading the session back is not part of it.
  timeline.freeze();
  const stored = await refresh();
  const found = acknowledged.filter(({ key, item }) => stored[key].includes(item));
  const stats = timeline.stats();
  const result: BurstResult = {
    mode,
    tab,
    acknowledged: acknowledged.map(({ key, item }) => `${key}/${item}`),
    stored: found.map(({ key, item }) => `${key}/${item}`),
    lost: acknowledged.length - found.length,
    failed: size - acknowledged.length,
    conflicts: stats.conflicts,
    retries: stats.retries,
    durationMs,
  };
  $('acknowledged').textContent = String(result.acknowledged.length);
  $('stored').textContent = String(result.stored.length);
  $('lost').textContent = String(result.lost);
  $('lost').parentElement?.classList.toggle('bad', result.lost > 0);
  $('conflicts').textContent = `${result.conflicts} / ${result.retries}`;
  $('duration').textContent = `${durationMs} ms`;
  $('burst-hint').textContent = burstHint(result, size, Number(delayInput.value) || 0);
  status.textContent = 'done';
  status.dataset.state = 'done';
  window.demo.lastBurst = result;
  return result;
}

/** What the burst's figures mean in this mode, and why it took as long as it did. */
function burstHint(result: BurstResult, size: number, delayMs: number): string {
  if (result.lost > 0) return `${result.lost} of ${result.acknowledged.length} acknowledged updates are not in the session: a later whole-session save erased them.`;
  let hint = `Every acknowledged update is in the session${result.failed > 0 ? ` (${result.failed} refused)` : ''}.`;
  const perKey = Math.ceil(size / LIST_KEYS.length);
  if (mode === 'lock') {
    hint += ` One lock per session: the ${size} updates ran one after another, so the burst took about ${size} × the server delay (${size * delayMs} ms), where naive mode takes about one delay and loses updates.`;
  } else if (mode === 'lanes') {
    hint += ` Writes to the same key queue in that key's lane: ${size} updates over ${LIST_KEYS.length} keys run ${perKey} deep, so the burst takes about ${perKey} × the server delay (${perKey * delayMs} ms), longer than naive mode's single delay (whose overlapping saves lose updates) and ${LIST_KEYS.length}× shorter than one lock per session.`;
    if (result.conflicts > 0) {
      hint += ` ${result.conflicts === 1 ? '1 answer was' : `${result.conflicts} answers were`} 412: something outside this browser's lanes wrote the same key meanwhile (another device, or a request whose tab closed); the server committed nothing for them, and the client resent.`;
    }
  }
  return hint;
}

/** A failure the page cannot recover from by itself: shown, and logged for the developer. */
function report(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  $('burst-hint').textContent = `Failed: ${message}. Is the demo server running? Reload to start again.`;
  $('burst-status').textContent = 'failed';
  $('burst-status').dataset.state = 'failed';
  console.error(error);
}

$('burst').addEventListener('click', () => void burst().catch(report));
$('reset').addEventListener('click', () => {
  timeline.clear();
  void api.reset().then(refresh).catch(report);
});

async function start(): Promise<void> {
  await refresh();
  const visits = await api.visit();
  if (visits !== undefined) state.visits = visits;
  render();
  // The page's own first requests are not what the timeline is for: it starts empty, at the first click.
  timeline.clear();
}

const ready = start();
ready.catch(report);
window.demo = { mode, tab, ready, burst, state: refresh, reset: () => api.reset() };
