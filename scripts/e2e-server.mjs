// One e2e server (playwright.config.ts starts one per worker): `vite preview` of the pages e2e/vite.config.ts builds,
// with the demo's routes and the fixture's under /e2e mounted by the session-lanes plugin, as on the dev server.
//
//   node scripts/e2e-server.mjs --port 5179 --pages test-results/e2e-pages-5179 [--build]
//
// --build builds the pages first (the first server does, before the next ones start: Playwright starts its
// webServer entries one after another, each once its URL answers); without it, the pages must be there.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, preview } from 'vite';

const { values } = parseArgs({ options: { port: { type: 'string' }, pages: { type: 'string' }, build: { type: 'boolean', default: false } } });
if (!values.port || !values.pages) throw new TypeError('usage: node scripts/e2e-server.mjs --port <port> --pages <dir> [--build]');

// As on the dev server: import.meta.env.DEV in the pages (a build takes it from NODE_ENV, not from the mode).
process.env.NODE_ENV = 'development';
process.env.SESSION_LANES_E2E_PAGES = values.pages;
const configFile = 'e2e/vite.config.ts';

if (values.build) await build({ configFile, mode: 'development' });
if (!existsSync(join(values.pages, 'index.html'))) throw new Error(`No e2e pages in ${values.pages}: start the first server with --build`);
const server = await preview({ configFile, mode: 'development', preview: { port: Number(values.port), strictPort: true, open: false } });
server.printUrls();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void server.close().then(() => process.exit(0)));
