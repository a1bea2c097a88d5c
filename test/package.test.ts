import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The package as published: build it (vite + tsc + publint --strict), then
 * import every entry point the way a user's Node would, by package name.
 */
describe('the published package', () => {
  it('builds, passes publint, and every export resolves with its types', { timeout: 120_000 }, () => {
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, string | { types: string; default: string }> };
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(target.types), `${subpath} types ${target.types}`).toBe(true);
      expect(existsSync(target.default), `${subpath} code ${target.default}`).toBe(true);
    }
    const script = `
      const server = await import('session-lanes/server');
      const client = await import('session-lanes');
      const node = await import('session-lanes/server/node');
      const protocol = await import('session-lanes/protocol');
      const express = await import('session-lanes/server/express');
      const hono = await import('session-lanes/server/hono');
      console.log(JSON.stringify([typeof server.createValidator, typeof server.memoryStore, typeof client.createSessionClient, typeof node.toNodeListener, typeof protocol.parseKeyVersions, typeof express.expressRoute, typeof hono.withSession]));
    `;
    const output = execFileSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual(['function', 'function', 'function', 'function', 'function', 'function', 'function']);
  });
});
