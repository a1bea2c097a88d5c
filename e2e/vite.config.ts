import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vite';
import demo from '../demo/vite.config.js';

// The e2e suite's pages, built once and served by `vite preview` (scripts/e2e-server.mjs): the demo's config (its
// routes, the fixture's under /e2e, mounted by the session-lanes plugin on the preview server as on the dev server),
// with every page the specs load as an input. A dev server transforms each module on demand and every new browser
// context fetches them all again, one request each; the suite opens a hundred or more of them, on two cores.
// Built in development mode, as the dev server runs them: import.meta.env.DEV holds (the demo mounts its devtools
// panel) and nothing is minified (error names, stack traces).
const root = fileURLToPath(new URL('..', import.meta.url));
export const PAGES = ['index.html', 'e2e/fixture/index.html', 'e2e/fixture/calls.html', 'e2e/fixture/devtools.html'];

export default defineConfig(async (env) =>
  mergeConfig(await demo(env), {
    mode: 'development',
    logLevel: 'warn',
    build: {
      // SESSION_LANES_E2E_PAGES: where the pages are built and served from (one directory per checkout and port).
      outDir: process.env.SESSION_LANES_E2E_PAGES ?? 'test-results/e2e-pages',
      emptyOutDir: true,
      minify: false,
      sourcemap: true,
      rollupOptions: { input: Object.fromEntries(PAGES.map((page) => [page.replace(/\.html$/, '').replaceAll('/', '-'), `${root}${page}`])) },
    },
  }),
);
