import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect } from 'vitest';
import { createCookieJar } from './client-cookie-jar.js';
import { Answer } from './session-http.js';

/**
 * For tests of the framework adapters: a real HTTP server per test, closed
 * after it, and a browser with a whole cookie jar (the app's cookies and the
 * validator's side by side).
 */
export function serverPerTest(): (server: Server) => Promise<string> {
  let current: Server | null = null;
  afterEach(async () => {
    if (!current) return;
    const server = current;
    current = null;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return async (server) => {
    current = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
}

export class JarBrowser {
  readonly jar = createCookieJar();
  constructor(readonly baseUrl: string) {}

  async send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const response = await this.jar.fetch(this.baseUrl + path, { method: init.method ?? 'POST', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
    return new Answer(response, await response.text());
  }

  /** Sends a write twice with one Idempotency-Key (its answer lost): the second is the first's answer, replayed. Returns the first. */
  async sendTwice(path: string, headers: Record<string, string>, body: string): Promise<Answer> {
    const first = await this.send(path, { headers, body });
    const resent = await this.send(path, { headers, body });
    expect(resent.response.headers.get('idempotent-replayed')).toBe('true');
    expect(resent.json()).toEqual(first.json());
    return first;
  }
}
