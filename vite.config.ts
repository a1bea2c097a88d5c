import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { libraryEntries, type ExportsMap } from './scripts/package-entries.js';

const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  exports: ExportsMap;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

// What stays an import in dist: Node built-ins, the client's runtime
// dependency and every (optional) peer. Anything else a server module imports
// (structured-headers) is bundled, so installing the package pulls no server
// library into a browser app.
const external = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];

// Library build: one ES module per public entry point, read from package.json
// `exports` (each entry's `types` path names its source file): adding an
// entry point is one line there and nothing here.
export default defineConfig({
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    minify: false,
    lib: { formats: ['es'], entry: libraryEntries(manifest.exports) },
    rollupOptions: {
      external: (id) => id.startsWith('node:') || external.some((name) => id === name || id.startsWith(`${name}/`)),
    },
  },
});
