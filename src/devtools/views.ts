/**
 * The panel's sections as plain DOM from plain data: the keys (version known
 * here, whether its value is, who holds the lane, who waits), the session,
 * and the outboxes.
 */
import type { OutboxEntry, SessionClient } from '../client/index.js';
import { age, h, type Child } from './dom.js';
import { hub } from './hub.js';
import type { LaneHolder, LaneView } from './locks.js';
import type { Recorder } from './recorder.js';

/** The client as the panel reads it: its public surface only. */
export type InspectedClient = Pick<SessionClient, 'fetch' | 'on' | 'versions' | 'epoch' | 'valueKnown' | 'outbox' | 'dropOutboxEntry'>;

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
      h('td', { 'data-testid': 'devtools-value' }, client.valueKnown(key) ? 'known' : h('span', { class: 'muted' }, 'not known')),
      h('td', { 'data-testid': 'devtools-lane' }, ...(lanes ? (lane?.held.length ? who(lane.held) : [h('span', { class: 'muted' }, 'free')]) : ['no Web Locks'])),
      h('td', { 'data-testid': 'devtools-queue' }, ...(lane?.queue.length ? [`${lane.queue.length} waiting: `, ...who(lane.queue)] : [''])),
    );
  });
  return h('table', {}, h('tr', {}, h('th', {}, 'key'), h('th', {}, 'version here'), h('th', {}, 'value here'), h('th', {}, 'lane held by'), h('th', {}, 'queue')), ...rows);
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

/** Whose an outbox entry is, for people; and, for a closed tab's, what adopting it does (the client's rules, see orphanFate()). */
function owner(entry: OutboxEntry): Child[] {
  if (entry.live) return [h('span', { class: entry.mine ? 'here' : 'other' }, entry.mine ? 'this tab' : 'another tab')];
  if (entry.mine) return [h('span', { class: 'here' }, 'closed tab (this tab replays it)')];
  const fate = entry.sent ? 'replayed as sent' : entry.rebase ? 'dropped: its body needs its tab (rebase)' : 'sent as queued';
  return [h('span', { class: 'warn' }, 'closed tab (waits for adoption)'), `; once adopted: ${fate}`];
}

/** One entry: what it sends (method and URL), its keys, sent or not, its age, whose it is, and a Drop button. */
function outboxEntryView(entry: OutboxEntry, wallClock: number): HTMLElement {
  const request = typeof Request === 'function' && entry.input instanceof Request ? entry.input : undefined;
  const method = (entry.init.method ?? request?.method ?? 'GET').toUpperCase();
  const url = request?.url ?? String(entry.input);
  const tab = entry.live ? (entry.mine ? 'here' : 'other') : entry.mine ? 'replaying' : 'closed';
  return h(
    'li',
    { 'data-testid': 'devtools-outbox-entry', 'data-key': entry.key, 'data-tab': tab },
    `${method} ${url} (${entry.writes.join(', ') || 'no key'}): ${entry.sent ? 'sent' : 'not sent'}, ${age(wallClock - entry.at)} old, `,
    ...owner(entry),
    ' ',
    h('button', { type: 'button', 'data-testid': 'devtools-outbox-drop', 'data-drop': entry.key, title: 'Delete it from the outbox: never replayed (a request running now goes on)' }, 'Drop'),
  );
}

/** This tab's writes still in flight, the entries dropped (and why), and every tab's outbox (`client.outbox()`, once read). */
export function outboxView(recorder: Recorder, now: number, listing: readonly OutboxEntry[] | undefined): HTMLElement {
  const inFlight = [...recorder.requests.values()].filter((request) => request.writes.length && request.answeredAt === undefined);
  const dropped = recorder.dropped.slice(-12).reverse();
  const wallClock = Date.now();
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
          h('li', { 'data-testid': 'devtools-dropped', 'data-reason': reason }, `${reason}: ${entry.init.method ?? 'POST'} ${String(entry.input)} (${entry.writes.join(', ')}; ${entry.sent ? 'sent' : 'never sent'}; queued ${age(wallClock - entry.at)} ago; key ${entry.key.slice(0, 8)}…)`),
        ),
      ),
    h('div', { 'data-testid': 'devtools-outbox' }, listing === undefined ? h('span', { class: 'muted' }, "every tab's outbox: reading…") : `every tab's outbox: ${listing.length} pending`),
    listing !== undefined && listing.length > 0 && h('ul', {}, ...listing.map((entry) => outboxEntryView(entry, wallClock))),
  );
}
