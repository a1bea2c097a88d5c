import { createSessionClient, type SessionClientEvent } from '../../src/client/index.js';
import { shopRoutes as routes } from '../routes.js';
import { API_BASE, normalizeState, type ListKey, type Prefs } from '../shop.js';
import type { ShopApi, ShopApiOptions } from './types.js';

/**
 * Session-lanes mode: the same actions through `createSessionClient()`, as
 * plain fetch calls: the route table (demo/routes.ts) says which keys each
 * reads and writes; the client holds their lanes while it runs, and the
 * timeline is drawn from the client's own events.
 *
 * Every write here is blind: its body (the item to add, the theme to set)
 * does not depend on what the tab knows of the session, and the handler does
 * the read-modify-write at the server, where the validator checks it.
 */
export function lanesApi({ delay, timeline }: ShopApiOptions): ShopApi {
  // Several tabs write the same keys at once: give a blind write room to meet a few 412s before it gives up.
  const client = createSessionClient({ retries: 10, routes });
  const base = API_BASE.lanes;

  client.on('*', (event: SessionClientEvent) => {
    // The tab's own events (sessionended, fallback, dropped) have no request to draw.
    if (!timeline || !('id' in event)) return;
    // Client events are on the epoch clock (timeOrigin + now); the timeline is on performance.now().
    const at = event.at - performance.timeOrigin;
    const id = `l${event.id}`;
    switch (event.type) {
      case 'queued':
        timeline.record({ type: 'queued', at, id, reads: event.reads, writes: event.writes, label: `request ${event.id}` });
        break;
      case 'committed':
        timeline.record({ type: event.status < 400 ? 'committed' : 'failed', at, id });
        break;
      case 'retry':
        timeline.record({ type: 'retry', at, id, delay: event.delay });
        break;
      default:
        timeline.record({ type: event.type, at, id });
    }
  });

  const write = (path: string, body?: unknown) => {
    const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    return client.fetch(`${base}${path}?delay=${delay()}`, init);
  };

  return {
    mode: 'lanes',
    async append(key: ListKey, item: string) {
      return (await write(`/${key}`, { item })).ok;
    },
    async visit() {
      const response = await write('/visits');
      return response.ok ? ((await response.json()) as { visits: number }).visits : undefined;
    },
    async setTheme(theme: Prefs['theme']) {
      return (await write('/prefs', { theme })).ok;
    },
    async state() {
      const response = await client.fetch(`${base}/state?delay=0`);
      if (!response.ok) throw new Error(`GET ${base}/state answered ${response.status}`);
      return normalizeState((await response.json()) as Record<string, unknown>);
    },
    async reset() {
      const response = await client.fetch(`${base}/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`POST ${base}/reset answered ${response.status}`);
    },
  };
}
