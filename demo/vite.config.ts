import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { sessionLanes } from '../src/server/adapters/vite.js';
import { demoServer } from './server/routes.js';

// The demo: Vite serves index.html and demo/, with the demo's routes mounted
// as middleware on the same origin. Run with `vite --config demo/vite.config.ts`.
export default defineConfig(async () => {
  const { routes, store, storeLabel } = await demoServer();
  const lifecycle: Plugin = {
    name: 'session-lanes-demo',
    configureServer(server) {
      server.config.logger.info(`  session-lanes demo: naive routes under /naive, lock routes under /lock, session-lanes routes under /api, store: ${storeLabel}`);
      // A Redis or PostgreSQL store holds connections: give them back with the server.
      server.httpServer?.once('close', () => void store.close());
    },
    // The e2e suite serves its built pages with `vite preview` (scripts/e2e-server.mjs): the routes are mounted there too.
    configurePreviewServer(server) {
      server.httpServer.once('close', () => void store.close());
    },
  };
  return {
    root: fileURLToPath(new URL('..', import.meta.url)),
    plugins: [sessionLanes({ routes }), lifecycle],
    clearScreen: false,
    server: {
      // SESSION_LANES_DEMO_WATCH=0 (the e2e suite): no file watching, so an edit never reloads a page or restarts the server mid-test.
      watch: process.env.SESSION_LANES_DEMO_WATCH === '0' ? null : { ignored: ['**/test-results/**', '**/playwright-report/**', '**/dist/**'] },
    },
    optimizeDeps: { entries: ['index.html'] },
  };
});
