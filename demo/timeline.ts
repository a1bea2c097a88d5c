/**
 * The live lanes timeline: one row per session key, each request a bar from
 * the moment it was queued to the moment it was answered. The light part of
 * a bar is the wait for the key's lane, the solid part the request at the
 * server; red ticks are 412s, amber ticks retries. Overlapping bars of one
 * key are stacked, so that what runs in parallel is visible at a glance.
 */

export type TimelineEventType = 'queued' | 'sent' | 'committed' | 'conflict' | 'retry' | 'failed';

export interface TimelineEvent {
  readonly type: TimelineEventType;
  /** Milliseconds, on the `performance.now()` clock. */
  readonly at: number;
  readonly id: string;
  readonly reads?: readonly string[];
  readonly writes?: readonly string[];
  /** Keys the request also overwrote without declaring them (the naive whole-session save). */
  readonly clobbers?: readonly string[];
  readonly label?: string;
  /** For a retry: the backoff before the resend, in ms. */
  readonly delay?: number;
}

interface Bar {
  id: string;
  label: string;
  reads: readonly string[];
  writes: readonly string[];
  clobbers: readonly string[];
  queuedAt: number;
  sentAt?: number;
  endAt?: number;
  outcome?: 'committed' | 'failed';
  conflicts: number[];
  retries: { at: number; delay: number }[];
}

const SVG = 'http://www.w3.org/2000/svg';
const BAR_HEIGHT = 14;
const BAR_GAP = 3;
const THIN_HEIGHT = 3;
const LABEL_WIDTH = 90;
const WIDTH = 900;

export class Timeline {
  readonly #container: HTMLElement;
  readonly #keys: readonly string[];
  readonly #bars = new Map<string, Bar>();
  #origin = performance.now();
  #frame = 0;
  /** Set once a burst is over: later requests (the page reading the session back) are not drawn. */
  #frozen = false;

  constructor(container: HTMLElement, keys: readonly string[]) {
    this.#container = container;
    this.#keys = keys;
    this.render();
  }

  clear(): void {
    this.#frozen = false;
    this.#bars.clear();
    this.#origin = performance.now();
    this.#schedule();
  }

  /** Draws no new request from now on, until clear(); requests already drawn still end. */
  freeze(): void {
    this.#frozen = true;
  }

  record(event: TimelineEvent): void {
    let bar = this.#bars.get(event.id);
    if (!bar) {
      if (this.#frozen) return;
      bar = {
        id: event.id,
        label: event.label ?? event.id,
        reads: event.reads ?? [],
        writes: event.writes ?? [],
        clobbers: event.clobbers ?? [],
        queuedAt: event.at,
        conflicts: [],
        retries: [],
      };
      this.#bars.set(event.id, bar);
    }
    switch (event.type) {
      case 'queued':
        bar.queuedAt = Math.min(bar.queuedAt, event.at);
        break;
      case 'sent':
        bar.sentAt ??= event.at;
        break;
      case 'committed':
      case 'failed':
        bar.endAt = event.at;
        bar.outcome = event.type;
        break;
      case 'conflict':
        bar.conflicts.push(event.at);
        break;
      case 'retry':
        bar.retries.push({ at: event.at, delay: event.delay ?? 0 });
        break;
    }
    this.#schedule();
  }

  /** Counts for the legend and for tests. */
  stats(): { requests: number; conflicts: number; retries: number; failed: number } {
    let conflicts = 0;
    let retries = 0;
    let failed = 0;
    for (const bar of this.#bars.values()) {
      conflicts += bar.conflicts.length;
      retries += bar.retries.length;
      if (bar.outcome === 'failed') failed += 1;
    }
    return { requests: this.#bars.size, conflicts, retries, failed };
  }

  #schedule(): void {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.render());
  }

  render(): void {
    this.#frame = 0;
    const now = performance.now();
    const bars = [...this.#bars.values()].sort((a, b) => a.queuedAt - b.queuedAt);
    // While a request runs the axis grows with the clock; once all are done it ends with the last one.
    const pending = bars.some((bar) => bar.endAt === undefined);
    const end = pending ? now : Math.max(this.#origin, ...bars.map((bar) => bar.endAt ?? now));
    const span = Math.max(200, end - this.#origin);
    const x = (t: number) => LABEL_WIDTH + ((t - this.#origin) / span) * (WIDTH - LABEL_WIDTH - 10);

    const svg = document.createElementNS(SVG, 'svg');
    let y = 4;
    for (const key of this.#keys) {
      // Declared reads and writes get full-height sub-rows; the naive whole-session saves, thin ones below them.
      const main = stack(bars.filter((bar) => bar.writes.includes(key) || bar.reads.includes(key)));
      const thin = stack(bars.filter((bar) => bar.clobbers.includes(key) && !bar.writes.includes(key) && !bar.reads.includes(key)));
      const mainHeight = main.rows * (BAR_HEIGHT + BAR_GAP);
      const height = Math.max(BAR_HEIGHT + BAR_GAP, mainHeight + thin.rows * (THIN_HEIGHT + 1)) + BAR_GAP;
      svg.append(el('rect', { x: 0, y, width: WIDTH, height, class: 'tl-row' }));
      const label = el('text', { x: 6, y: y + BAR_HEIGHT, class: 'tl-key' });
      label.textContent = key;
      svg.append(label);
      const draw = (bar: Bar, top: number, barHeight: number, mode: string) => {
        const stop = bar.endAt ?? now;
        const sent = bar.sentAt ?? stop;
        const group = el('g', { class: `tl-bar tl-${mode} tl-${bar.outcome ?? 'pending'}`, 'data-request': bar.id });
        const title = el('title', {});
        title.textContent = `${bar.label} (${mode} ${key}): queued ${Math.round(bar.queuedAt - this.#origin)} ms, ${bar.sentAt === undefined ? 'not sent' : `sent ${Math.round(bar.sentAt - this.#origin)} ms`}, ${bar.endAt === undefined ? 'in flight' : `${bar.outcome} ${Math.round(bar.endAt - this.#origin)} ms`}`;
        group.append(title);
        if (sent > bar.queuedAt) group.append(el('rect', { x: x(bar.queuedAt), y: top, width: Math.max(1, x(sent) - x(bar.queuedAt)), height: barHeight, class: 'tl-wait' }));
        group.append(el('rect', { x: x(sent), y: top, width: Math.max(2, x(stop) - x(sent)), height: barHeight, class: 'tl-flight' }));
        // A retry is drawn as its backoff, a strip along the bar's top; the 412 that caused it as a full-height tick.
        for (const { at, delay } of bar.retries) group.append(el('rect', { x: x(at), y: top, width: Math.max(2, x(at + delay) - x(at)), height: Math.max(2, barHeight / 3), class: 'tl-retry' }));
        for (const at of bar.conflicts) group.append(el('rect', { x: x(at) - 1, y: top - 1, width: 3, height: barHeight + 2, class: 'tl-conflict' }));
        svg.append(group);
      };
      for (const { bar, row } of main.placed) draw(bar, y + BAR_GAP + row * (BAR_HEIGHT + BAR_GAP), BAR_HEIGHT, bar.writes.includes(key) ? 'write' : 'read');
      for (const { bar, row } of thin.placed) draw(bar, y + BAR_GAP + mainHeight + row * (THIN_HEIGHT + 1), THIN_HEIGHT, 'clobber');
      y += height + 2;
    }
    // Time axis, in milliseconds since the burst began.
    const step = niceStep(span / 8);
    for (let t = 0; t <= span; t += step) {
      const tick = el('text', { x: x(this.#origin + t), y: y + 12, class: 'tl-tick' });
      tick.textContent = `${t} ms`;
      svg.append(tick, el('line', { x1: x(this.#origin + t), x2: x(this.#origin + t), y1: 0, y2: y, class: 'tl-grid' }));
    }
    y += 18;
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${y}`);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Requests per session key over time');
    this.#container.replaceChildren(svg);
    if (pending) this.#schedule();
  }
}

/** Greedy interval stacking: each bar goes to the first sub-row that is free when it starts. */
function stack(bars: readonly Bar[]): { rows: number; placed: { bar: Bar; row: number }[] } {
  const freeAt: number[] = [];
  const placed = bars.map((bar) => {
    let row = freeAt.findIndex((end) => end <= bar.queuedAt);
    if (row === -1) row = freeAt.push(0) - 1;
    freeAt[row] = bar.endAt ?? Number.POSITIVE_INFINITY;
    return { bar, row };
  });
  return { rows: freeAt.length, placed };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

function el(name: string, attributes: Record<string, string | number>): SVGElement {
  const node = document.createElementNS(SVG, name);
  for (const [attribute, value] of Object.entries(attributes)) node.setAttribute(attribute, String(value));
  return node;
}
