/**
 * What the panel and `devtoolsFetch()` of one page share. The client's events
 * carry no URL and do not say who made a request, so the two meet here: the
 * panel notes each request the page itself made (its `queued` event fires
 * synchronously inside the app's `client.fetch()` call) and which request is
 * being sent (its `sent` event fires synchronously right before the client
 * calls its `fetch` option); `devtoolsFetch()` reads both. One devtools
 * client per page: request ids are unique within one client only.
 */

/** What an armed fault makes the next matching request answer: a status, or a network failure. */
export type FaultAnswer = 412 | 503 | 410 | 'offline';

/** What the devtools learned of one request besides its events. */
export interface RequestFacts {
  /** Queued inside the app's own `client.fetch()` call in this tab (not an outbox entry adopted from a gone tab). */
  madeHere: boolean;
  method?: string;
  url?: string;
  /** The Idempotency-Key it went out with (quotes stripped). */
  idempotencyKey?: string;
  /** The simulated answers devtoolsFetch() gave it, in order. */
  simulated: FaultAnswer[];
}

export interface Hub {
  /** Depth of app `client.fetch()` calls running right now (synchronous part). */
  appCalls: number;
  /** The request whose `sent` event fired last, until devtoolsFetch() takes it. */
  sending: number | undefined;
  readonly requests: Map<number, RequestFacts>;
  /** Called whenever devtoolsFetch() learned something (the panel redraws). */
  changed: () => void;
}

export const hub: Hub = { appCalls: 0, sending: undefined, requests: new Map(), changed: () => {} };

/** The facts of request `id`, created on first use. */
export function factsOf(id: number): RequestFacts {
  let facts = hub.requests.get(id);
  if (!facts) hub.requests.set(id, (facts = { madeHere: false, simulated: [] }));
  return facts;
}
