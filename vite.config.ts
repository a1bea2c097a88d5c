import { defineConfig } from 'vite';

// Library build: one ES module per public entry point. Drivers and Node
// built-ins stay external so that nobody's bundle carries what it does not use.
export default defineConfig({
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    minify: false,
    lib: {
      formats: ['es'],
      entry: {
        client: 'src/client/index.ts',
        server: 'src/server/index.ts',
        protocol: 'src/protocol/index.ts',
        'server-node': 'src/server/adapters/node.ts',
        'server-vite': 'src/server/adapters/vite.ts',
        'server-express': 'src/server/adapters/express.ts',
        'server-hono': 'src/server/adapters/hono.ts',
        'server-redis': 'src/server/stores/redis.ts',
        'server-postgres': 'src/server/stores/postgres.ts',
      },
    },
    rollupOptions: {
      external: [/^node:/, 'zod', /^zod\//, 'structured-headers', 'idb-keyval', /^@hono\//, 'ioredis', 'pg', 'vite', 'express', 'hono', /^hono\//],
    },
  },
});
