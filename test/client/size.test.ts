import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { build } from 'vite';
import { expect, test } from 'vitest';

// The budget of the whole browser client: src/client/index.ts with everything it imports bundled (the route
// table matcher, the lanes, the version caches, the outbox and its checks, rotation, the errors), at most
// 7,168 B brotli (quality 11). Built with Vite's own build API, minified as an app's bundler would: lib mode
// keeps whitespace in ES output unless the output minifier is asked for it explicitly.
const BUDGET = 7168;

test('the client bundle fits its size budget', async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'session-lanes-size-'));
  try {
    await build({
      configFile: false,
      logLevel: 'silent',
      build: {
        outDir,
        emptyOutDir: true,
        minify: true,
        target: 'es2022',
        lib: { entry: join(import.meta.dirname, '../../src/client/index.ts'), formats: ['es'], fileName: 'client' },
        rolldownOptions: { external: [], output: { minify: true } },
      },
    });
    const files = (await readdir(outDir)).filter((file) => file.endsWith('.js'));
    expect(files).toHaveLength(1);
    const code = await readFile(join(outDir, files[0]!));
    const brotli = brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    console.log(`client bundle: ${code.length} B minified, ${brotli} B brotli (budget ${BUDGET} B)`);
    expect(brotli).toBeLessThanOrEqual(BUDGET);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
