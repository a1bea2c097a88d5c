/**
 * The panel's sections as plain DOM from plain data: the keys (version known
 * here, who holds the lane, who waits), the session, and the outboxes.
 */
import type { SessionClient } from '../client/index.js';
import { age, h, type Child } from './dom.js';
import { hub } from './hub.js';
import type { LaneHolder, LaneView } from './locks.js';
import type { Recorder } from './recorder.js';

/**
 * One pending write of any tab, as the proposed `client.outbox()` lists it
 * (the IndexedDB format stays internal; a custom or fallback outbox answers too).
 */
export interface OutboxListing {
  /** Idempotency-Key. */
  readonly key: string;
  /** The tab it belongs to (an opaque id), and whether that tab still lives: a gone tab's writes wait for another tab to adopt them. */
  readonly tab: string;
  readonly live: boolean;
  readonly method: string;
  readonly url: string;
  readonly writes: readonly string[];
  /** When it was queued, ms since the Unix epoch. */
  readonly at: number;
  readonly sent: boolean;
}

/** The client as the panel reads it: its public surface, and `outbox()` where the client has it. */
export type InspectedClient = Pick<SessionClient, 'fetch' | 'on' | 'versions' | 'epoch'> & { outbox?: () => Promise<readonly OutboxListing[]> };

const who = (holders: readonly LaneHolder[]): Child[] =>
  holders.map((holder, index) => h('span', { class: holder.here ? 'here' : 'other' }, `${index ? ', ' : ''}${holder.here ? 'this tab' : 'another tab'}${holder.mode === 'shared' ? ' (read)' : ''}`));

/** Keys: every key the client has a version of, any request declared, or any tab holds a lane of. */
export function keysView(client: InspectedClient, recorder: Recorder, lanes: Map<string, LaneView> | undefined): HTMLElement {
  const versions = client.versions();
  const keys = new Set(Object.keys(versions));
  for (const request of recorder.requests.values()) for (const key of [...request.reads, ...request.writes]) keys.add(key);
  for (const key of lanes?.keys() ?? []) if (key) keys.add(key);
  const rows = [...keys].sort().map((key) => {
    const lane = lanes?.get(key);
    return h(
      'tr',
      { 'data-testid': 'devtools-key', 'data-key': key },
      h('td', {}, key),
      h('td', { 'data-testid': 'devtools-version' }, key in versions ? `v${versions[key]}` : h('span', { class: 'muted' }, 'not known')),
      h('td', { 'data-testid': 'devtools-lane' }, ...(lanes ? (lane?.held.length ? who(lane.held) : [h('span', { class: 'muted' }, 'free')]) : ['no Web Locks'])),
      h('td', { 'data-testid': 'devtools-queue' }, ...(lane?.queue.length ? [`${lane.queue.length} waiting: `, ...who(lane.queue)] : [''])),
    );
  });
  return h('table', {}, h('tr', {}, h('th', {}, 'key'), h('th', {}, 'version here'), h('th', {}, 'lane held by'), h('th', {}, 'queue')), ...rows);
}

export function sessionView(client: InspectedClient, recorder: Recorder): HTMLElement {
  const epoch = client.epoch();
  const notes = recorder.session.slice(-12).reverse();
  return h(
    'div',
    {},
    h('div', { 'data-testid': 'devtools-epoch' }, 'epoch: ', epoch === undefined ? 'not known yet' : epoch === '' ? 'no session' : epoch),
    notes.length ? h('ul', {}, ...notes.map((note) => h('li', { 'data-testid': `devtools-${note.type}`, class: note.type === 'sessionended' ? 'warn' : undefined }, `${age(note.at)}: ${note.text}`))) : h('div', { class: 'muted' }, 'no rotation, end or fallback yet'),
  );
}

/** This tab's writes still in flight, the entries dropped (and why), and every tab's outbox where the client lists it. */
export function outboxView(recorder: Recorder, now: number, listing: readonly OutboxListing[] | undefined): HTMLElement {
  const inFlight = [...recorder.requests.values()].filter((request) => request.writes.length && request.answeredAt === undefined);
  const dropped = recorder.dropped.slice(-12).reverse();
  return h(
    'div',
    {},
    h('div', {}, `this tab's writes in flight: ${inFlight.length}`),
    inFlight.length > 0 &&
      h(
        'ul',
        {},
        ...inFlight.slice(-8).map((request) => {
          const facts = hub.requests.get(request.id);
          const state = request.sentAt === undefined ? 'waiting for its lanes' : `sent, attempt ${request.attempts}`;
          return h('li', { 'data-testid': 'devtools-in-flight' }, `${request.writes.join(', ')}: ${state}, ${age(now - request.queuedAt)} old${facts && !facts.madeHere ? ' (adopted from a gone tab)' : ''}`);
        }),
      ),
    h('div', {}, `dropped: ${recorder.dropped.length}`),
    dropped.length > 0 &&
      h(
        'ul',
        {},
        ...dropped.map(({ reason, entry }) =>
          h('li', { 'data-testid': 'devtools-dropped', 'data-reason': reason }, `${reason}: ${entry.init.method ?? 'POST'} ${String(entry.input)} (${entry.writes.join(', ')}; ${entry.sent ? 'sent' : 'never sent'}; queued ${age(Date.now() - entry.at)} ago; key ${entry.key.slice(0, 8)}…)`),
        ),
      ),
    h(
      'div',
      { 'data-testid': 'devtools-outbox' },
      listing === undefined
        ? h('span', { class: 'muted' }, "every tab's outbox: not available (this client has no outbox())")
        : `every tab's outbox: ${listing.length} pending`,
    ),
    listing !== undefined &&
      listing.length > 0 &&
      h('ul', {}, ...listing.map((entry) => h('li', { 'data-testid': 'devtools-outbox-entry' }, `${entry.method} ${entry.url} (${entry.writes.join(', ')}): ${entry.sent ? 'sent' : 'not sent'}, ${age(Date.now() - entry.at)} old, tab ${entry.tab.slice(0, 6)}${entry.live ? '' : ' (gone: waits for another tab to adopt it)'}`))),
  );
}
