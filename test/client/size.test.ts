import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { build } from 'vite';
import { expect, test } from 'vitest';

// The budget of what a browser app ships for the client: the README's imports (`createSessionClient` from
// `session-lanes`, `defineRoutes` from `session-lanes/routes`), built as a user builds them. Two steps, as in
// real life: the package's two entries built as `npm run build` builds them (vite.config.ts: one ES module per
// entry, not minified, idb-keyval left an import), then an app that imports them by name, built by Vite's
// production build (minified, tree-shaken, idb-keyval bundled from node_modules). Measured: every JS chunk of
// the app, brotli at quality 11. At most 8,192 B.
const BUDGET = 8192;
const ROOT = join(import.meta.dirname, '../..');

// The README's quick start, as written: its routes module and its browser module, in one file.
const APP = `
import { createSessionClient } from 'session-lanes';
import { defineRoutes } from 'session-lanes/routes';

export const routes = defineRoutes({
  addToCart: { method: 'POST', path: '/api/cart/items', writes: ['cart'] },
  showCart:  { method: 'GET',  path: '/api/cart', reads: ['cart'] },
});

const client = createSessionClient({ routes });
await client.fetch('/api/cart/items', { method: 'POST', body: JSON.stringify({ sku: 'sku-1' }) });
`;

test('what the README client imports build to fits the size budget', async () => {
  const work = await mkdtemp(join(tmpdir(), 'session-lanes-size-'));
  try {
    const dist = join(work, 'dist');
    await build({
      configFile: false,
      logLevel: 'silent',
      build: {
        outDir: dist,
        emptyOutDir: true,
        target: 'es2022',
        minify: false,
        lib: { formats: ['es'], entry: { client: join(ROOT, 'src/client/index.ts'), routes: join(ROOT, 'src/routes/index.ts') } },
        rolldownOptions: { external: ['idb-keyval'] },
      },
    });
    const app = join(work, 'app');
    await writeFile(join(work, 'main.js'), APP);
    // As `vite build` builds an app: NODE_ENV 'production', which Vite inlines. Vite reads it from the environment,
    // where vitest has set 'test': a test build would keep defineRoutes()'s development checks.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    await build({
      configFile: false,
      logLevel: 'silent',
      root: work,
      mode: 'production',
      resolve: {
        alias: [
          { find: /^session-lanes$/, replacement: join(dist, 'client.js') },
          { find: /^session-lanes\/routes$/, replacement: join(dist, 'routes.js') },
          // The app's own node_modules: the package's one dependency.
          { find: /^idb-keyval$/, replacement: join(ROOT, 'node_modules/idb-keyval/dist/index.js') },
        ],
      },
      build: { outDir: app, emptyOutDir: true, rolldownOptions: { input: join(work, 'main.js') } },
    }).finally(() => {
      process.env.NODE_ENV = nodeEnv;
    });
    const chunks = (await readdir(join(app, 'assets'))).filter((file) => file.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(0);
    let minified = 0;
    let brotli = 0;
    for (const chunk of chunks) {
      const code = await readFile(join(app, 'assets', chunk));
      minified += code.length;
      brotli += brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    }
    console.log(`README client imports, built by Vite: ${minified} B minified, ${brotli} B brotli (budget ${BUDGET} B)`);
    expect(brotli).toBeLessThanOrEqual(BUDGET);
  } finally {
    // KEEP_SIZE_BUILD=1 keeps the two builds (printed) to see where the bytes go.
    if (!process.env.KEEP_SIZE_BUILD) await rm(work, { recursive: true, force: true });
    else console.log(work);
  }
});
