/**
 * The package's entry points, read from package.json `exports`: one line there
 * per entry, `"./sub": { "types": "./dist/types/<src path>.d.ts", "default": "./dist/<name>.js" }`.
 * The build (vite.config.ts) and the package tests derive everything else from it.
 */
export type ExportsMap = Record<string, string | { types: string; default: string }>;

export interface PackageEntry {
  /** The import specifier's subpath: `.`, `./server`, … */
  subpath: string;
  /** Output chunk name: `dist/<name>.js`. */
  name: string;
  /** Source module, from the types path: `src/<path>.ts`. */
  source: string;
  types: string;
  code: string;
}

const TYPES = /^\.\/dist\/types\/(.+)\.d\.ts$/;
const CODE = /^\.\/dist\/([^/]+)\.js$/;

export function packageEntries(exports: ExportsMap): PackageEntry[] {
  const entries: PackageEntry[] = [];
  for (const [subpath, target] of Object.entries(exports)) {
    if (typeof target === 'string') continue; // ./package.json
    const types = TYPES.exec(target.types);
    const code = CODE.exec(target.default);
    if (!types || !code) {
      throw new TypeError(
        `package.json exports["${subpath}"] must be { "types": "./dist/types/<path under src>.d.ts", "default": "./dist/<name>.js" }`,
      );
    }
    entries.push({ subpath, name: code[1]!, source: `src/${types[1]!}.ts`, types: target.types, code: target.default });
  }
  return entries;
}

/** Vite's `build.lib.entry`: output name → source module. */
export function libraryEntries(exports: ExportsMap): Record<string, string> {
  return Object.fromEntries(packageEntries(exports).map((entry) => [entry.name, entry.source]));
}
