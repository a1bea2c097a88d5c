import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageEntries, type ExportsMap } from '../scripts/package-entries.js';

/**
 * The package as published: build it (vite + tsc + publint --strict + attw),
 * pack it, and install the tarball into a fresh project from the registry, the
 * way an app would.
 */
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: ExportsMap;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', stdio: 'pipe' });

let work: string;
let tarball: string;
let packed: string[];
let tarballBytes: number;

/** The README's budget for the packed tarball (the demo screenshot is kept small to stay in it). */
const TARBALL_BUDGET_BYTES = 400 * 1024;

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'pipe' });
  work = mkdtempSync(join(tmpdir(), 'session-lanes-pack-'));
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], process.cwd())) as [{ filename: string; size: number; files: { path: string }[] }];
  tarball = join(work, info.filename);
  tarballBytes = info.size;
  packed = info.files.map((file) => file.path);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the published package', () => {
  it('every export resolves with its types, by package name', () => {
    for (const entry of packageEntries(manifest.exports)) {
      expect(existsSync(entry.types), `${entry.subpath} types ${entry.types}`).toBe(true);
      expect(existsSync(entry.code), `${entry.subpath} code ${entry.code}`).toBe(true);
      expect(existsSync(entry.source), `${entry.subpath} source ${entry.source}`).toBe(true);
    }
    const script = `
      const server = await import('session-lanes/server');
      const client = await import('session-lanes');
      const node = await import('session-lanes/server/node');
      const protocol = await import('session-lanes/protocol');
      const { defineRoutes, routesDocument } = await import('session-lanes/routes');
      const express = await import('session-lanes/server/express');
      const hono = await import('session-lanes/server/hono');
      const routes = defineRoutes({ add: { method: 'POST', path: '/api/cart/items', writes: ['cart'] } });
      console.log(JSON.stringify([typeof server.createValidator, typeof server.memoryStore, typeof client.createSessionClient, typeof node.toNodeListener, typeof protocol.parseKeyVersions, routesDocument(routes).routes.add.blind, typeof express.expressRoute, typeof hono.withSession]));
    `;
    const output = execFileSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual(['function', 'function', 'function', 'function', 'function', true, 'function', 'function']);
  });

  it('types are right for every entry under the ESM-only profile (attw --pack)', { timeout: 60_000 }, () => {
    // Throws (non-zero exit) on any problem; node10 and require() are out of scope for an ESM-only package.
    execFileSync('npm', ['run', 'check:types-exports', '--silent'], { encoding: 'utf8', stdio: 'pipe' });
  });

  it('the tarball stays within the size the README states, the demo screenshot within 60 kB', () => {
    expect(tarballBytes).toBeLessThan(TARBALL_BUDGET_BYTES);
    expect(readFileSync('README.md', 'utf8')).toContain(`under ${TARBALL_BUDGET_BYTES / 1024} kB`);
    expect(readFileSync('docs/demo-screenshot.png').byteLength).toBeLessThanOrEqual(60_000);
  });

  it('ships its license and every file its Markdown links to', () => {
    expect(packed).toContain('LICENSE');
    expect(readFileSync('LICENSE', 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} session-lanes contributors\n/);
    const documents = packed.filter((path) => path.endsWith('.md'));
    expect(documents).toEqual(expect.arrayContaining(['README.md', 'PROTOCOL.md', 'docs/client.md', 'docs/stores.md']));
    // The demo's page points at its sources, which only a clone of the repository
    // has (the demo runs from a clone: `npm run demo`); everything else must ship.
    const repositoryOnly = /^(demo|e2e)\/|^playwright\.config\.ts$/;
    const missing: string[] = [];
    for (const document of documents) {
      const text = readFileSync(document, 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!) || target!.startsWith('#')) continue;
        const file = normalize(join(dirname(document), target!.split('#')[0]!));
        if (!packed.includes(file) && !(document === 'docs/demo.md' && repositoryOnly.test(file))) missing.push(`${document} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('runtime dependencies are the client\'s only; every server library is bundled or an optional peer', () => {
    expect(Object.keys(manifest.dependencies)).toEqual(['idb-keyval']);
    for (const dist of readdirSync('dist').filter((file) => file.endsWith('.js'))) {
      const imports = [...readFileSync(join('dist', dist), 'utf8').matchAll(/^import .*? from "([^".][^"]*)";$/gm)].map((match) => match[1]!);
      for (const specifier of imports) {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (name.startsWith('node:')) continue;
        expect([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)], `${dist} imports ${specifier}`).toContain(name);
      }
    }
  });
});

describe('the tarball installed into a fresh app', () => {
  let app: string;

  beforeAll(() => {
    app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
    npm(['install', tarball], app);
  }, 180_000);

  it('a browser-only install pulls no server package', () => {
    type Tree = Record<string, { version?: string; dependencies?: Tree }>;
    const tree = JSON.parse(npm(['ls', '--all', '--json'], app)) as { dependencies: Tree };
    // Optional peers that are not installed are listed without a version.
    const installed = (dependencies: Tree): string[] =>
      Object.entries(dependencies).flatMap(([name, node]) => (node.version ? [name, ...installed(node.dependencies ?? {})] : []));
    expect(installed(tree.dependencies).sort()).toEqual(['idb-keyval', 'session-lanes']);
  });

  it('Vite bundles the client for the browser without any server code', { timeout: 60_000 }, async () => {
    writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(
      join(app, 'main.js'),
      "import { createSessionClient } from 'session-lanes';\nconst client = createSessionClient();\nglobalThis.sessionFetch = client.fetch;\n",
    );
    const result = await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir: 'dist', minify: false } });
    const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string; moduleIds?: string[] }[] }[];
    const chunks = outputs.flatMap((output) => output.output).filter((chunk) => chunk.type === 'chunk');
    const modules = chunks.flatMap((chunk) => chunk.moduleIds ?? []).map((id) => id.slice(app.length + 1));
    const code = chunks.map((chunk) => chunk.code).join('\n');
    expect(modules).toContain('node_modules/session-lanes/dist/client.js');
    expect(code).toContain('session-lanes:first-write');
    expect(modules.filter((id) => /session-lanes\/dist\/(server|protocol)/.test(id) || /node_modules\/(?!session-lanes|idb-keyval)/.test(id))).toEqual([]);
    for (const serverOnly of ['createValidator', 'memoryStore', 'sl_session', 'serializeBareItem', 'node:', 'createHmac']) {
      expect(code, serverOnly).not.toContain(serverOnly);
    }
  });

  it('an Express (or Node, or Vite) adapter without @hono/node-server installed names the package and the install command', () => {
    for (const entry of ['session-lanes/server/express', 'session-lanes/server/node', 'session-lanes/server/vite']) {
      let stderr = '';
      try {
        execFileSync('node', ['--input-type=module', '-e', `await import('${entry}')`], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
      } catch (error) {
        stderr = String((error as { stderr?: unknown }).stderr);
      }
      expect(stderr, entry).toContain(
        'Error: session-lanes: the Node adapters (session-lanes/server/node, /express, /vite) serve Fetch handlers through @hono/node-server, ' +
          'an optional peer dependency that is not installed: run `npm install @hono/node-server`',
      );
    }
  });

  it('a server started from the installed package answers over real HTTP', { timeout: 120_000 }, async () => {
    // The Node bridge is an optional peer: the app installs it to use session-lanes/server/node.
    npm(['install', `@hono/node-server@${manifest.devDependencies['@hono/node-server']}`], app);
    writeFileSync(
      join(app, 'server.js'),
      `import { createServer } from 'node:http';
import { createValidator, memoryStore } from 'session-lanes/server';
import { toNodeListener } from 'session-lanes/server/node';
const validator = createValidator({ store: memoryStore() });
const visit = validator.route({ writes: ['visits'] }, (request, session) => {
  session.set('visits', (session.get('visits') ?? 0) + 1);
  return Response.json({ visits: session.get('visits') });
});
const server = createServer(toNodeListener(visit));
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`,
    );
    const child = spawn('node', ['server.js'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let errors = '';
        child.stderr.on('data', (data: Buffer) => (errors += String(data)));
        child.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim())));
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${errors}`)));
      });
      const response = await fetch(`http://127.0.0.1:${port}/visit`, {
        method: 'POST',
        headers: { 'Session-Write': '"visits";v=0', 'Idempotency-Key': `"${randomUUID()}"` },
      });
      const text = await response.text();
      expect(response.status, text).toBe(200);
      expect(JSON.parse(text)).toEqual({ visits: 1 });
      expect(response.headers.get('session-versions')).toBe('"visits";v=1');
      expect(response.headers.get('set-cookie')).toMatch(/^sl_session=[\w-]{43};/);
    } finally {
      child.kill();
    }
  });
});
