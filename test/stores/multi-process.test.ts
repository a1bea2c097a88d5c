import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix, dropPostgresTables } from '../support/each-store.js';
import { Browser, idemKey } from '../support/session-http.js';
import { describeWithServer, POSTGRES_URL, REDIS_URL, tcpUnreachable, uniqueSuffix } from '../support/stores.js';

/**
 * Two app server processes share one store; concurrent clients of one
 * session send read-modify-write increments to both. With whole-session
 * saves, increments would be lost; here every answered increment counts.
 */

const APP = fileURLToPath(new URL('../support/app-server.ts', import.meta.url));
const [redisUnreachable, postgresUnreachable] = await Promise.all([tcpUnreachable(REDIS_URL), tcpUnreachable(POSTGRES_URL)]);

interface App {
  url: string;
  process: ChildProcess;
}

async function startApp(env: Record<string, string>): Promise<App> {
  const child = spawn(process.execPath, ['--import', 'tsx', APP], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout!.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`app server exited with ${code}`)));
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      const line = /\{"port":\d+\}/.exec(output);
      if (line) resolve(JSON.parse(line[0]).port);
    });
  });
  return { url: `http://127.0.0.1:${port}`, process: child };
}

async function stopApp(app: App): Promise<void> {
  if (app.process.exitCode !== null) return;
  const exited = once(app.process, 'exit');
  app.process.kill('SIGTERM');
  await exited;
}

/** One client: increments until the server commits it, resending the same Idempotency-Key after each 412 (the write is blind). */
async function increment(browser: Browser): Promise<{ statuses: number[] }> {
  const key = idemKey();
  const statuses: number[] = [];
  for (let attempt = 0; attempt < 200; attempt++) {
    const answer = await browser.send('/increment', { headers: { 'session-write': '"counter"', 'idempotency-key': key } });
    statuses.push(answer.status);
    if (answer.status === 200) return { statuses };
    if (answer.status !== 412) throw new Error(`unexpected ${answer.status}: ${answer.text}`);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
  }
  throw new Error('increment never committed');
}

function sharedStoreSuite(store: 'redis' | 'postgres', url: string, prefix: string) {
  const apps: App[] = [];
  afterAll(async () => {
    await Promise.all(apps.map(stopApp));
  });

  it('two app server processes, one session, concurrent increments: no lost update', async () => {
    const env = { STORE: store, STORE_URL: url, STORE_PREFIX: prefix, SECRET: randomBytes(32).toString('hex') };
    apps.push(...(await Promise.all([startApp(env), startApp(env)])));
    const [a, b] = apps as [App, App];

    // The first write creates the session (on server A); every client then carries its cookie.
    const first = new Browser(a.url);
    expect((await increment(first)).statuses.at(-1)).toBe(200);
    const clients = Array.from({ length: 8 }, (_, i) => {
      const browser = new Browser(i % 2 ? b.url : a.url);
      browser.cookie = first.cookie;
      return browser;
    });
    const perClient = 6;
    const results = await Promise.all(
      clients.map(async (browser) => {
        const statuses: number[] = [];
        for (let i = 0; i < perClient; i++) statuses.push(...(await increment(browser)).statuses);
        return statuses;
      }),
    );
    const all = results.flat();
    const committed = 1 + clients.length * perClient;
    expect(all.filter((status) => status === 200)).toHaveLength(committed - 1);
    // Real contention happened: some attempts met a concurrent commit and were refused as stale.
    expect(all.filter((status) => status === 412).length).toBeGreaterThan(0);

    for (const app of [a, b]) {
      const reader = new Browser(app.url);
      reader.cookie = first.cookie;
      const answer = await reader.send('/read', { method: 'GET', headers: { 'session-read': '"counter"' } });
      expect(answer.status).toBe(200);
      expect(answer.json()).toEqual({ value: committed });
      expect(answer.versions()).toEqual({ counter: committed });
    }
  });
}

describe('multi-process', () => {
  describeWithServer('two app servers on one Redis', `Redis at ${REDIS_URL}`, redisUnreachable, () => {
    const prefix = `sl-mp-${uniqueSuffix()}:`;
    afterAll(() => deleteRedisPrefix(prefix));
    sharedStoreSuite('redis', REDIS_URL, prefix);
  });

  describeWithServer('two app servers on one PostgreSQL', `PostgreSQL at ${POSTGRES_URL}`, postgresUnreachable, () => {
    const prefix = `sl_mp${uniqueSuffix()}_`;
    afterAll(() => dropPostgresTables(prefix));
    sharedStoreSuite('postgres', POSTGRES_URL, prefix);
  });
});
