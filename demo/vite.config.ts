import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { sessionLanes } from '../src/server/adapters/vite.js';
import { demoRoutes } from './server/routes.js';

// The demo: Vite serves index.html and demo/, with the demo's routes mounted
// as middleware on the same origin. Run with `vite --config demo/vite.config.ts`.
export default defineConfig(async () => ({
  root: fileURLToPath(new URL('..', import.meta.url)),
  plugins: [sessionLanes({ routes: await demoRoutes() })],
  clearScreen: false,
  server: {
    watch: { ignored: ['**/test-results/**', '**/playwright-report/**', '**/dist/**'] },
  },
  optimizeDeps: { entries: ['index.html'] },
}));
