import { createSessionClient } from '../../src/client/index.js';
import { shopRoutes as routes } from '../routes.js';
import { API_BASE, normalizeState, type ListKey } from '../shop.js';
import type { ShopApi, ShopApiOptions } from './types.js';

/**
 * Session-lanes mode: the same actions through `createSessionClient()`, as
 * plain fetch calls: the route table (demo/routes.ts) says which keys each
 * reads and writes, and the client holds their lanes while it runs.
 *
 * Every write here is blind: its body (the item to add, the theme to set)
 * does not depend on what the tab knows of the session, and the handler does
 * the read-modify-write at the server, where the validator checks it.
 *
 * The recorder sees each attempt through the client's `fetch` option: the
 * update's id rides in the URL (`op=`), so that the attempts, their 412s and
 * the resends land on the update that made them.
 */
export function lanesApi({ delay, recorder }: ShopApiOptions): ShopApi {
  const recordedFetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const id = new URL(url, location.href).searchParams.get('op') ?? undefined;
    recorder?.sent(id);
    const response = await fetch(input, init);
    if (response.status === 412) recorder?.conflict(id, response.status);
    return response;
  };
  // Several tabs write the same keys at once: give a blind write room to meet a few 412s before it gives up.
  const client = createSessionClient({ retries: 10, routes, fetch: recordedFetch });
  const base = API_BASE.lanes;

  const write = (path: string, body?: unknown, op?: string) => {
    const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    return client.fetch(`${base}${path}?delay=${delay()}${op === undefined ? '' : `&op=${op}`}`, init);
  };

  return {
    mode: 'lanes',
    client,
    async append(key: ListKey, item: string) {
      const url = `${base}/${key}`;
      const id = recorder?.begin({ key, token: item, method: 'POST', url });
      try {
        const response = await write(`/${key}`, { item }, id);
        recorder?.answered(id, response.status);
        return response.ok;
      } catch (error) {
        recorder?.failed(id, error);
        throw error;
      }
    },
    async visit() {
      const response = await write('/visits');
      return response.ok ? ((await response.json()) as { visits: number }).visits : undefined;
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
