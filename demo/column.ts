import type { History } from '../src/race/history.js';
import { renderTimelineSvg } from '../src/race/timeline-svg.js';
import { createShopApi, type ShopApi } from './api/index.js';
import { BurstRecorder } from './recorder.js';
import { LIST_KEYS, type ListKey, type Mode, type ShopState } from './shop.js';

/**
 * One mode's column: its own client (or plain fetch), its own session (each
 * mode's routes live under their own path with their own cookie, see
 * demo/server/routes.ts), its figures and its timeline. The page runs the
 * same burst in every column.
 */

/** What a burst did in one column, for the page, `npm run demo:tabs` and the e2e tests. */
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

interface ModeText {
  readonly title: string;
  /** One sentence: what the mode does. */
  readonly explanation: string;
  /** What "412s / retries" means in this mode. */
  readonly conflicts: string;
}

const TEXT: Record<Mode, ModeText> = {
  naive: {
    title: 'naive: whole-session save',
    explanation: 'Each request loads the whole session and saves the whole session back, as express-session, Rails and Django do, so overlapping saves erase each other’s updates.',
    conflicts: 'These routes never answer 412 (“someone else changed this key”): they cannot see a conflict, so nothing is ever resent.',
  },
  lock: {
    title: 'lock: one lock per session',
    explanation: 'The same routes behind one lock per session, as PHP’s file sessions and Laravel’s block() do: nothing is lost, but the session’s requests run one at a time.',
    conflicts: 'Under the lock no write can meet a newer one, so there is no 412 and no resend: the price is the wait.',
  },
  lanes: {
    title: 'session-lanes',
    explanation: 'Each request declares the keys it writes: the client queues writes to one key in that key’s lane and runs other keys in parallel, and the server commits only the keys that changed.',
    conflicts: 'A 412 means another writer moved a key this request declared, so the server committed nothing; a retry is the client resending it. One tab’s lanes (and the tabs’ shared Web Locks) keep both at 0.',
  },
};

/** The timeline's SVG width; CSS scales it to the column. */
const TIMELINE_WIDTH = 480;

export class ModeColumn {
  readonly mode: Mode;
  readonly api: ShopApi;
  readonly #tab: string;
  readonly #recorder: BurstRecorder;
  readonly #element: HTMLElement;
  #state: ShopState = { cart: [], wishlist: [], recent: [], visits: 0, prefs: { theme: 'light' } };
  #lost = new Set<string>();
  #frame = 0;

  static async create(mode: Mode, parent: HTMLElement, tab: string, delay: () => number): Promise<ModeColumn> {
    let column: ModeColumn | undefined;
    const recorder = new BurstRecorder(`tab-${tab}`, () => {
      if (column) column.#schedule();
    });
    const api = await createShopApi(mode, { delay, recorder });
    column = new ModeColumn(mode, parent, tab, api, recorder);
    return column;
  }

  private constructor(mode: Mode, parent: HTMLElement, tab: string, api: ShopApi, recorder: BurstRecorder) {
    this.mode = mode;
    this.api = api;
    this.#tab = tab;
    this.#recorder = recorder;
    this.#element = columnElement(mode);
    parent.append(this.#element);
    this.#drawTimeline();
  }

  /** Reads the session and counts a visit: the first requests create the column's session before any burst. */
  async start(): Promise<void> {
    await this.refresh();
    const visits = await this.api.visit();
    if (visits !== undefined) this.#state.visits = visits;
    this.#renderSession();
  }

  async refresh(): Promise<ShopState> {
    this.#state = await this.api.state();
    this.#renderSession();
    return this.#state;
  }

  async reset(): Promise<void> {
    await this.api.reset();
    this.#recorder.start();
    this.#recorder.stop();
    this.#lost.clear();
    this.#drawTimeline();
    await this.refresh();
  }

  /** `size` updates at once, cycling through the list keys, each a unique item that names its mode, tab and burst. */
  async burst(size: number, burstNo: number): Promise<BurstResult> {
    this.#setStatus('running');
    this.#lost.clear();
    this.#recorder.start();
    const started = performance.now();
    const actions = Array.from({ length: size }, (_, index) => {
      const key = LIST_KEYS[index % LIST_KEYS.length] as ListKey;
      return { key, item: `${this.mode}·${this.#tab}·b${burstNo}.${index + 1}` };
    });
    const outcomes = await Promise.all(actions.map(({ key, item }) => this.api.append(key, item).catch(() => false)));
    const durationMs = Math.round(performance.now() - started);
    // Reading the session back is not part of the burst.
    this.#recorder.stop();
    const acknowledged = actions.filter((_, index) => outcomes[index]);
    const stored = await this.refresh();
    const found = acknowledged.filter(({ key, item }) => stored[key].includes(item));
    this.#lost = new Set(acknowledged.filter(({ key, item }) => !stored[key].includes(item)).map(({ item }) => item));
    const { conflicts, retries } = this.#recorder.counts();
    const result: BurstResult = {
      mode: this.mode,
      tab: this.#tab,
      acknowledged: acknowledged.map(({ key, item }) => `${key}/${item}`),
      stored: found.map(({ key, item }) => `${key}/${item}`),
      lost: acknowledged.length - found.length,
      failed: size - acknowledged.length,
      conflicts,
      retries,
      durationMs,
    };
    this.#renderFigures(result);
    this.#drawTimeline();
    this.#setStatus('done');
    return result;
  }

  /** The last burst as the race kit's history. */
  history(): History {
    return this.#recorder.history(`demo burst (${this.mode})`);
  }

  fail(): void {
    this.#setStatus('failed');
  }

  #schedule(): void {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.#drawTimeline());
  }

  #drawTimeline(): void {
    this.#frame = 0;
    const history = this.history();
    const timeline = this.#find('timeline');
    if (history.operations.length === 0) {
      timeline.textContent = 'Burst to draw the requests here.';
      return;
    }
    // The lost updates are outlined, as the race kit's report outlines an anomaly's witness.
    timeline.innerHTML = renderTimelineSvg(history, { rows: 'key', width: TIMELINE_WIDTH, rowHeight: 44, highlight: this.#recorder.idsOf(this.#lost) });
  }

  #renderFigures(result: BurstResult): void {
    this.#find('acknowledged').textContent = String(result.acknowledged.length);
    this.#find('stored').textContent = String(result.stored.length);
    this.#find('lost').textContent = String(result.lost);
    this.#find('lost').parentElement?.classList.toggle('bad', result.lost > 0);
    this.#find('conflicts').textContent = `${result.conflicts} / ${result.retries}`;
    this.#find('duration').textContent = `${result.durationMs} ms`;
  }

  #renderSession(): void {
    this.#find('session').textContent = `In this column's session: ${LIST_KEYS.map((key) => `${key} ${this.#state[key].length}`).join(', ')}, visits ${this.#state.visits}.`;
  }

  #setStatus(state: 'running' | 'done' | 'failed'): void {
    const status = this.#find('status');
    status.textContent = state;
    status.dataset.state = state;
  }

  #find(name: string): HTMLElement {
    const element = this.#element.querySelector<HTMLElement>(`[data-testid=${name}]`);
    if (!element) throw new Error(`The ${this.mode} column has no [data-testid=${name}]`);
    return element;
  }
}

function columnElement(mode: Mode): HTMLElement {
  const { title, explanation, conflicts } = TEXT[mode];
  const column = document.createElement('section');
  column.className = 'column panel';
  column.dataset.mode = mode;
  column.dataset.testid = `column-${mode}`;
  column.setAttribute('aria-live', 'polite');
  column.innerHTML = `
    <h2><span data-testid="title"></span> <span class="status" data-testid="status">idle</span></h2>
    <p class="explanation" data-testid="explanation"></p>
    <dl class="figures">
      <div><dt>acknowledged</dt><dd data-testid="acknowledged">–</dd></div>
      <div><dt>stored</dt><dd data-testid="stored">–</dd></div>
      <div class="lost"><dt>lost updates</dt><dd data-testid="lost">–</dd></div>
      <div><dt>412s / retries</dt><dd data-testid="conflicts">–</dd></div>
      <div><dt>duration</dt><dd data-testid="duration">–</dd></div>
    </dl>
    <p class="note" data-testid="conflicts-note"><b>412s / retries:</b> <span></span></p>
    <div class="timeline" data-testid="timeline"></div>
    <p class="note" data-testid="session"></p>`;
  // Text goes in as text, never as markup.
  column.querySelector('[data-testid=title]')!.textContent = title;
  column.querySelector('[data-testid=explanation]')!.textContent = explanation;
  column.querySelector('[data-testid=conflicts-note] span')!.textContent = conflicts;
  return column;
}
