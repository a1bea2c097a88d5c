/**
 * The panel on one host element: a shadow root holding a corner button
 * (floating mode) and the panel. It subscribes to the client's events, notes
 * which requests the page itself makes (for faults), polls the lanes and the
 * outbox while open, and redraws at most once per animation frame.
 */
import { fill, h } from './dom.js';
import { downloadHistory } from './download.js';
import { faultsForm } from './faults-form.js';
import { toHistory } from './history.js';
import { hub } from './hub.js';
import { watchLanes, type LaneView } from './locks.js';
import { createRecorder, noteMadeHere } from './recorder.js';
import { loadState, saveState, CORNERS, type Corner, type PanelState } from './state.js';
import { STYLES } from './styles.js';
import { drawTimeline } from './timeline.js';
import type { OutboxEntry } from '../client/index.js';
import { keysView, outboxView, sessionView, type InspectedClient } from './views.js';

export interface PanelOptions {
  /** Floating: a corner button that opens the panel over the page; embedded: the panel in its host, always open. */
  readonly mode: 'floating' | 'embedded';
  /** Where open/closed and the corner are kept in `localStorage`. */
  readonly storageKey: string;
  /** The corner when none was stored. */
  readonly corner: Corner;
  /** How often the lanes and the outbox are read while open, in ms. */
  readonly pollInterval: number;
  /** The timeline shows the requests of this many last ms… */
  readonly window: number;
  /** …and at most this many of them. */
  readonly bars: number;
  /** At most one redraw per this many ms (each on an animation frame). */
  readonly refresh: number;
}

const now = () => performance.timeOrigin + performance.now();

/** Builds the panel in `host` (which gets an open shadow root); returns what takes it all down again. */
export function createPanel(host: HTMLElement, client: InspectedClient, options: PanelOptions): () => void {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  const recorder = createRecorder();
  const lanesWatcher = watchLanes();
  let state: PanelState = loadState(options.storageKey, options.corner);
  if (options.mode === 'embedded') state = { ...state, open: true };
  let lanes: Map<string, LaneView> | undefined;
  let listing: readonly OutboxEntry[] | undefined;

  // The page's own calls: a request queued while one runs was made here (see hub.ts).
  const original = client.fetch;
  const marked: typeof client.fetch = (input, init) => {
    hub.appCalls++;
    try {
      return original.call(client, input, init);
    } finally {
      hub.appCalls--;
    }
  };
  client.fetch = marked;
  const unsubscribe = client.on('*', (event) => {
    noteMadeHere(event, hub.appCalls);
    // devtoolsFetch() is called right after this, synchronously: it takes the id.
    if (event.type === 'sent') hub.sending = event.id;
    recorder.record(event);
    schedule();
  });

  const toggle = h('button', { class: 'toggle', 'data-testid': 'devtools-toggle', title: 'session-lanes devtools', 'aria-expanded': 'false' }, 'SL');
  const corner = h('select', { 'data-testid': 'devtools-corner', 'aria-label': 'corner' }, ...CORNERS.map((each) => h('option', { value: each }, each)));
  const exportButton = h('button', { 'data-testid': 'devtools-export', type: 'button', title: "Download the history (the race kit's JSON format)" }, 'Export history');
  const close = h('button', { 'data-testid': 'devtools-close', type: 'button', 'aria-label': 'close' }, '×');
  const sections = { keys: h('div'), timeline: h('div', { class: 'timeline', 'data-testid': 'devtools-timeline' }), session: h('div'), outbox: h('div') };
  const faults = faultsForm((message) => globalThis.confirm(message));
  const body = h('div', { class: 'body' }, h('h3', {}, 'Keys'), sections.keys, h('h3', {}, 'Timeline'), sections.timeline, h('h3', {}, 'Session'), sections.session, h('h3', {}, 'Outbox'), sections.outbox, h('h3', {}, 'Faults'), faults.element);
  const floating = options.mode === 'floating';
  const panel = h('section', { class: 'panel', 'data-testid': 'devtools-panel', 'aria-label': 'session-lanes devtools' }, h('header', {}, h('strong', {}, 'session-lanes'), exportButton, floating && corner, floating && close), body);
  fill(root, h('style', {}, STYLES), floating && toggle, panel);
  if (floating) host.setAttribute('data-floating', '');
  corner.value = state.corner;
  const timeline = drawTimeline(sections.timeline, () => toHistory(recorder, { since: now() - recorder.origin - options.window, last: options.bars }), () => width);
  let width = 600;

  const apply = () => {
    toggle.hidden = !floating || state.open;
    panel.hidden = !state.open;
    toggle.setAttribute('aria-expanded', String(state.open));
    host.setAttribute('data-corner', state.corner);
    if (floating) saveState(options.storageKey, state);
    poll();
    schedule();
  };
  toggle.addEventListener('click', () => ((state = { ...state, open: true }), apply()));
  close.addEventListener('click', () => ((state = { ...state, open: false }), apply()));
  corner.addEventListener('change', () => ((state = { ...state, corner: corner.value as Corner }), apply()));
  exportButton.addEventListener('click', () => downloadHistory(toHistory(recorder)));
  // One listener for every Drop button: the outbox section is redrawn, its buttons with it.
  sections.outbox.addEventListener('click', (event) => {
    const key = (event.target as Element).closest('[data-drop]')?.getAttribute('data-drop');
    if (key) void client.dropOutboxEntry(key).then(poll, () => {});
  });

  // At most one redraw per `refresh` ms, on animation frames, one section per frame: a burst of events costs one
  // redraw, not one per event, and no single frame carries the whole panel.
  const steps: (() => void)[] = [
    () => update(sections.keys, keysView(client, recorder, lanes)),
    () => update(sections.session, sessionView(client, recorder)),
    () => update(sections.outbox, outboxView(recorder, now() - recorder.origin, listing)),
    () => faults.redraw(),
    () => timeline.draw(),
  ];
  let step = 0;
  let frame = 0;
  let delay: ReturnType<typeof setTimeout> | undefined;
  let drawnAt = -Infinity;
  let dirty = false;
  function schedule() {
    dirty = true;
    if (!state.open || frame || delay) return;
    const wait = drawnAt + options.refresh - performance.now();
    if (wait <= 0) frame = requestAnimationFrame(draw);
    else delay = setTimeout(() => ((delay = undefined), schedule()), wait);
  }
  function draw() {
    frame = 0;
    // Read once per redraw, before this redraw writes: reading layout after a write would force a layout.
    if (step === 0) {
      width = Math.max(320, body.clientWidth - 20);
      dirty = false;
    }
    steps[step]!();
    step = (step + 1) % steps.length;
    if (step) return void (frame = requestAnimationFrame(draw));
    drawnAt = performance.now();
    // Events that came during this redraw make the next one.
    if (dirty) schedule();
  }
  hub.changed = schedule;

  /** Puts `view` in `section` unless it shows the same: an unchanged section costs no style, layout or paint. */
  function update(section: HTMLElement, view: HTMLElement) {
    const first = section.firstElementChild;
    if (!first || first.outerHTML !== view.outerHTML) fill(section, view);
  }

  // Lanes and outboxes change in other tabs too, with no event here: read them while the panel is open.
  let polling = false;
  async function poll() {
    if (!state.open || polling) return;
    polling = true;
    try {
      lanes = await lanesWatcher.query();
      listing = await client.outbox();
    } catch {
      // The next poll tries again; the panel must never break the page.
    } finally {
      polling = false;
    }
    schedule();
  }
  const timer = setInterval(poll, options.pollInterval);
  apply();

  return () => {
    clearInterval(timer);
    cancelAnimationFrame(frame);
    clearTimeout(delay);
    lanesWatcher.stop();
    unsubscribe();
    if (client.fetch === marked) client.fetch = original;
    if (hub.changed === schedule) hub.changed = () => {};
    root.replaceChildren();
  };
}
