import { API_BASE, normalizeState, type ListKey } from '../shop.js';
import type { ShopApi, ShopApiOptions } from './types.js';

/**
 * Naive mode: plain `fetch`, every request as soon as it is made. The page
 * cannot see the race: it shows on the timeline as overlapping bars of one
 * key, and in the figures as acknowledged updates the session no longer
 * holds. Lock mode is the same plain fetch against the lock routes: the
 * server holds each request until the session's previous one has saved, and
 * says for how long.
 */
export function naiveApi({ delay, recorder }: ShopApiOptions, mode: 'naive' | 'lock' = 'naive'): ShopApi {
  let sequence = 0;
  const base = API_BASE[mode];

  // Resource Timing tells when Chromium actually sent each request: it queues
  // all but six per host (HTTP/1.1), and the timeline should show that wait.
  performance.setResourceTimingBufferSize(1_000);

  /** `append`: the key and unique item of a burst's update (the only requests recorded). */
  async function call(method: string, path: string, body?: unknown, append?: { key: ListKey; item: string }): Promise<{ ok: boolean; json: unknown }> {
    // A unique query parameter names this request's timing entry.
    const url = new URL(`${base}${path}?delay=${delay()}&request=${mode[0]}${++sequence}`, location.href).href;
    const queuedAt = performance.now();
    const id = append && recorder?.begin({ key: append.key, token: append.item, method, url }, queuedAt);
    try {
      const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const response = await fetch(url, init);
      const json: unknown = await response.json().catch(() => undefined);
      const timing = performance.getEntriesByName(url, 'resource')[0] as PerformanceResourceTiming | undefined;
      if (performance.getEntriesByType('resource').length > 900) performance.clearResourceTimings();
      const sentAt = timing && timing.requestStart > 0 ? timing.requestStart : queuedAt;
      // Lock mode: the time the request waited at the server for its session's lock is a wait too.
      const lockWait = Number(response.headers.get('x-lock-wait-ms') ?? 0);
      recorder?.sent(id, sentAt + lockWait);
      recorder?.answered(id, response.status);
      return { ok: response.ok, json };
    } catch (error) {
      recorder?.failed(id, error);
      throw error;
    }
  }

  return {
    mode,
    async append(key: ListKey, item: string) {
      return (await call('POST', `/${key}`, { item }, { key, item })).ok;
    },
    async visit() {
      const { ok, json } = await call('POST', '/visits');
      return ok ? (json as { visits: number }).visits : undefined;
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
