import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveRaceConfig, type ResolvedRaceConfig } from './config.js';

const TYPESCRIPT = /\.[mc]?tsx?$/;

/**
 * Load a race config file: JavaScript through `import()`, TypeScript through
 * tsx's `tsImport` (an optional peer of this entry only: Node 20 cannot import
 * TypeScript itself). The module's default export is the config.
 */
export async function loadRaceConfig(path: string, cwd = process.cwd()): Promise<ResolvedRaceConfig> {
  const url = pathToFileURL(resolve(cwd, path)).href;
  let module: { default?: unknown; config?: unknown };
  if (TYPESCRIPT.test(path)) {
    let tsx: { tsImport(specifier: string, parent: string): Promise<unknown> };
    try {
      tsx = (await import('tsx/esm/api')) as typeof tsx;
    } catch (error) {
      throw new Error(`loading the TypeScript config ${path} needs the package "tsx": npm install --save-dev tsx (or write the config as race.config.js)`, { cause: error });
    }
    module = (await tsx.tsImport(url, import.meta.url)) as typeof module;
  } else {
    module = (await import(url)) as typeof module;
  }
  // tsImport of a CommonJS-looking module may nest the default once more.
  let config = module.default ?? module.config;
  if (config !== null && typeof config === 'object' && 'default' in config && !('target' in config)) config = (config as { default: unknown }).default;
  if (config === undefined) throw new TypeError(`${path} has no default export: export default defineRaceConfig({ … })`);
  return resolveRaceConfig(config as Parameters<typeof resolveRaceConfig>[0]);
}
