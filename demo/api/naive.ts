import { API_BASE, SHOP_KEYS, normalizeState, type ListKey, type Prefs, type ShopKey } from '../shop.js';
import type { ShopApi, ShopApiOptions } from './types.js';

/**
 * Naive mode: plain `fetch`, every request as soon as it is made. The page
 * cannot see the race; the timeline shows it by drawing, on every other
 * key's row, the whole-session save each request also makes.
 */
export function naiveApi({ delay, timeline }: ShopApiOptions): ShopApi {
  let sequence = 0;
  const base = API_BASE.naive;

  async function call(method: string, path: string, key: ShopKey | undefined, body?: unknown): Promise<Response> {
    const id = `n${++sequence}`;
    const others = SHOP_KEYS.filter((other) => other !== key);
    const writes = key ? [key] : [];
    timeline?.record({ type: 'queued', at: performance.now(), id, writes, clobbers: others, label: `${method} ${path}` });
    timeline?.record({ type: 'sent', at: performance.now(), id });
    try {
      const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const response = await fetch(`${base}${path}?delay=${delay()}`, init);
      timeline?.record({ type: response.ok ? 'committed' : 'failed', at: performance.now(), id });
      return response;
    } catch (error) {
      timeline?.record({ type: 'failed', at: performance.now(), id });
      throw error;
    }
  }

  return {
    mode: 'naive',
    async append(key: ListKey, item: string) {
      return (await call('POST', `/${key}`, key, { item })).ok;
    },
    async visit() {
      const response = await call('POST', '/visits', 'visits');
      return response.ok ? ((await response.json()) as { visits: number }).visits : undefined;
    },
    async setTheme(theme: Prefs['theme']) {
      return (await call('POST', '/prefs', 'prefs', { theme })).ok;
    },
    async state() {
      const response = await fetch(`${base}/state?delay=0`);
      if (!response.ok) throw new Error(`GET ${base}/state answered ${response.status}`);
      return normalizeState((await response.json()) as Record<string, unknown>);
    },
    async reset() {
      const response = await fetch(`${base}/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`POST ${base}/reset answered ${response.status}`);
    },
  };
}
