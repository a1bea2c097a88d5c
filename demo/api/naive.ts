import { API_BASE, SHOP_KEYS, normalizeState, type ListKey, type Prefs, type ShopKey } from '../shop.js';
import type { ShopApi, ShopApiOptions } from './types.js';

/**
 * Naive mode: plain `fetch`, every request as soon as it is made. The page
 * cannot see the race; the timeline shows it by drawing, on every other
 * key's row, the whole-session save each request also makes. Lock mode is
 * the same plain fetch against the lock routes: the server holds each request
 * until the session's previous one has saved, and says for how long.
 */
export function naiveApi({ delay, timeline }: ShopApiOptions, mode: 'naive' | 'lock' = 'naive'): ShopApi {
  let sequence = 0;
  const base = API_BASE[mode];

  // Resource Timing tells when Chromium actually sent each request: it queues
  // all but six per host (HTTP/1.1), and the timeline should show that wait.
  performance.setResourceTimingBufferSize(1_000);

  async function call(method: string, path: string, key: ShopKey | undefined, body?: unknown): Promise<{ ok: boolean; json: unknown }> {
    const id = `${mode[0]}${++sequence}`;
    const others = SHOP_KEYS.filter((other) => other !== key);
    const queuedAt = performance.now();
    timeline?.record({ type: 'queued', at: queuedAt, id, writes: key ? [key] : [], clobbers: others, label: `${method} ${path}` });
    try {
      const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
      if (body !== undefined) init.body = JSON.stringify(body);
      // A unique query parameter names this request's timing entry.
      const url = new URL(`${base}${path}?delay=${delay()}&request=${id}`, location.href).href;
      const response = await fetch(url, init);
      const json: unknown = await response.json().catch(() => undefined);
      const timing = performance.getEntriesByName(url, 'resource')[0] as PerformanceResourceTiming | undefined;
      if (performance.getEntriesByType('resource').length > 900) performance.clearResourceTimings();
      const sentAt = timing && timing.requestStart > 0 ? timing.requestStart : queuedAt;
      // Lock mode: the time the request waited at the server for its session's lock is a wait too.
      const lockWait = Number(response.headers.get('x-lock-wait-ms') ?? 0);
      timeline?.record({ type: 'sent', at: sentAt + lockWait, id });
      timeline?.record({ type: response.ok ? 'committed' : 'failed', at: performance.now(), id });
      return { ok: response.ok, json };
    } catch (error) {
      timeline?.record({ type: 'failed', at: performance.now(), id });
      throw error;
    }
  }

  return {
    mode,
    async append(key: ListKey, item: string) {
      return (await call('POST', `/${key}`, key, { item })).ok;
    },
    async visit() {
      const { ok, json } = await call('POST', '/visits', 'visits');
      return ok ? (json as { visits: number }).visits : undefined;
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
