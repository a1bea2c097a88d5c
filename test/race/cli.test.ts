import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/race/cli.js';
import { expressSessionApp, type RunningApp } from './apps.js';

// The CLI in-process, on a TypeScript config file loaded without a build step, against a real Express app.
let app: RunningApp;
let dir: string;
beforeAll(async () => {
  app = await expressSessionApp();
  dir = mkdtempSync(join(tmpdir(), 'race-cli-'));
  // TypeScript only Node cannot run by itself: an interface and type annotations.
  writeFileSync(
    join(dir, 'race.config.ts'),
    `interface State { cart: string[]; prefs: string[] }
export default {
  target: '${app.url}',
  writer: { path: '/{key}/add', keys: ['cart', 'prefs'], body: { token: '{token}' } },
  reader: { path: '/state', tokens: (body: unknown): string[] => [...(body as State).cart, ...(body as State).prefs] },
  cookie: 'connect.sid',
  operations: 16,
  delayMs: [0, 3] as [number, number],
};
`,
  );
});
afterAll(async () => {
  await app?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text), cwd: dir }, out, err };
};

describe('session-lanes race', () => {
  it('prints the seed and the witness, writes the JSON and HTML reports, exits 1 on an anomaly', { timeout: 10_000 }, async () => {
    const { io, out } = capture();
    const status = await main(['race', '--config', 'race.config.ts', '--scenario', 'distinct-keys', '--seed', '42', '--report', 'out'], io);
    expect(status).toBe(1);
    expect(out[0]).toBe('session-lanes race distinct-keys: seed 42');
    const text = out.join('\n');
    expect(text).toMatch(/lost-write token \S+/);
    expect(text).toMatch(/op\s+process\s+role\s+request\s+token\s+sent\s+answered\s+status\s+session/);
    expect(text).toContain('Replay this schedule with --seed 42.');
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['race-distinct-keys-42.html', 'race-distinct-keys-42.json']);
    const report = JSON.parse(readFileSync(join(dir, 'out', 'race-distinct-keys-42.json'), 'utf8')) as { history: { seed: number; operations: unknown[] }; result: { valid: boolean } };
    expect(report.history.seed).toBe(42);
    expect(report.result.valid).toBe(false);
    const html = readFileSync(join(dir, 'out', 'race-distinct-keys-42.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('stroke="#d50000"'); // the witness outlined
  });

  it('exits 2 with a precise message on a usage or config error', async () => {
    const missing = capture();
    expect(await main(['race', '--config', 'race.config.ts'], missing.io)).toBe(2);
    expect(missing.err[0]).toMatch(/^session-lanes race: --scenario is required: one of distinct-keys, read-erases-write/);
    const lacking = capture();
    expect(await main(['race', '--config', 'race.config.ts', '--scenario', 'logout-in-flight'], lacking.io)).toBe(2);
    expect(lacking.err[0]).toBe('session-lanes race: logout-in-flight needs logout: { method: "POST", path: "/logout" }');
    // A writer the server refuses (404) acknowledges nothing: the run must not pass.
    writeFileSync(join(dir, 'refused.config.js'), `export default { target: '${app.url}', writer: { path: '/nowhere?t={token}' }, reader: { path: '/state', tokens: () => [] }, login: { path: '/login' }, operations: 4 };\n`);
    const refused = capture();
    expect(await main(['race', '--config', 'refused.config.js', '--scenario', 'read-erases-write', '--report', 'out'], refused.io)).toBe(2);
    expect(refused.err[0]).toMatch(/no write was acknowledged/);
    const unknown = capture();
    expect(await main(['fly'], unknown.io)).toBe(2);
    expect(unknown.err[0]).toMatch(/^session-lanes: unknown command "fly"/);
  });
});
