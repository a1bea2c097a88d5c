import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Browser, idemKey } from '../support/session-http.js';

/**
 * The Bun and Deno recipes of docs/frameworks.md, on the real runtimes (the
 * `bun` and `deno` dev dependencies ship their binaries): each serves
 * validator routes from test/runtimes/, and the test talks to it over HTTP.
 */
const BIN = 'node_modules/.bin';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGTERM');
});

async function start(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('{"port"')) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code} before listening: ${stderr}`)));
  });
  return `http://127.0.0.1:${port}`;
}

/** The runtime's tests, or (without its binary) a skip with the reason, and a failure in CI. */
function runtime(name: string): (title: string, body: () => void) => void {
  if (existsSync(`${BIN}/${name}`)) return describe;
  return (title) => {
    if (process.env.CI === 'true') describe(title, () => it(`needs ${BIN}/${name}`, () => expect.fail(`${name} is a dev dependency: run npm ci`)));
    else describe.skip(`${title} (skipped: ${BIN}/${name} is missing; run npm ci)`, () => {});
  };
}

runtime('bun')('Bun.serve', () => {
  it("serves validator routes, with the route's params and Bun's server handed on as the context", { timeout: 60_000 }, async () => {
    const browser = new Browser(await start(`${BIN}/bun`, ['test/runtimes/bun-app.ts']));
    const add = (sku: string, quantity: number) =>
      browser.send(`/api/cart/${sku}`, { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), 'content-type': 'application/json' }, body: JSON.stringify({ quantity }) });
    const first = await add('tea', 2);
    expect(first.status).toBe(200);
    expect(first.response.headers.get('set-cookie')).toMatch(/^sl_session=/);
    expect((await add('jam', 1)).json()).toEqual({ cart: [{ sku: 'tea', quantity: 2 }, { sku: 'jam', quantity: 1 }] });
    const viewed = await browser.send('/api/cart', { method: 'GET', headers: { 'session-read': '"cart"' } });
    expect(viewed.json()).toEqual({ cart: [{ sku: 'tea', quantity: 2 }, { sku: 'jam', quantity: 1 }], server: true });
    expect(viewed.versions()).toEqual({ cart: 2 });
  });
});

runtime('deno')('Deno.serve', () => {
  it("serves validator routes, with Deno's info handed to the handler and to sessionId(request, info)", { timeout: 60_000 }, async () => {
    const url = await start(`${BIN}/deno`, ['run', '--quiet', '--no-lock', '--unstable-sloppy-imports', '--allow-net', '--allow-env', '--allow-read', 'test/runtimes/deno-app.ts']);
    const add = (user: string | null, sku: string) =>
      new Browser(url).send(`/api/cart/${sku}`, { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), ...(user ? { 'x-user': user } : {}) } });
    expect((await add('ada', 'tea')).json()).toEqual({ cart: ['tea'], from: '127.0.0.1' });
    expect((await add('ada', 'jam')).json()).toEqual({ cart: ['tea', 'jam'], from: '127.0.0.1' });
    // No user: sessionId names the session from info.remoteAddr.
    expect((await add(null, 'oat')).json()).toEqual({ cart: ['oat'], from: '127.0.0.1' });
    expect((await add(null, 'rye')).json()).toEqual({ cart: ['oat', 'rye'], from: '127.0.0.1' });
  });
});
