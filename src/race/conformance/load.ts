/**
 * Finds and reads the conformance vectors shipped with the package
 * (`conformance/vectors/*.json`), and checks their shape, so that a vector
 * file edited by hand fails with its name and the field at fault.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VECTOR_FORMAT, type Vector, type VectorFile } from './vector.js';

/** The folder of the shipped vectors: found by walking up from this module (src/ in the repository, dist/ in the package). */
export function vectorsFolder(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(folder, 'conformance', 'vectors');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(folder);
    if (parent === folder) throw new Error('session-lanes conformance: the vectors folder (conformance/vectors) is missing from the package');
    folder = parent;
  }
}

function fail(file: string, what: string): never {
  throw new TypeError(`conformance vectors ${file}: ${what}`);
}

function checkVector(file: string, vector: unknown, seen: Set<string>): Vector {
  if (!vector || typeof vector !== 'object') fail(file, 'a vector must be an object');
  const { id, title, steps } = vector as Partial<Vector>;
  if (typeof id !== 'string' || !/^[a-z0-9-]+$/.test(id)) fail(file, `vector id ${JSON.stringify(id)} must be lower-case words joined by -`);
  if (seen.has(id)) fail(file, `vector id ${id} is used twice`);
  seen.add(id);
  if (typeof title !== 'string' || title === '') fail(file, `vector ${id} needs a title`);
  if (!Array.isArray(steps) || steps.length === 0) fail(file, `vector ${id} needs at least one step`);
  for (const [index, step] of steps.entries()) {
    const request = (step as { request?: { method?: unknown; path?: unknown } }).request;
    if (!request || typeof request.method !== 'string' || typeof request.path !== 'string' || !request.path.startsWith('/')) {
      fail(file, `vector ${id} step ${index + 1}: request needs a method and a path beginning with /`);
    }
  }
  return vector as Vector;
}

/** Every vector of every file in `folder` (default: the shipped ones), in file-name order. */
export function loadVectors(folder = vectorsFolder()): Vector[] {
  const seen = new Set<string>();
  const vectors: Vector[] = [];
  for (const name of readdirSync(folder).filter((entry) => entry.endsWith('.json')).sort()) {
    const parsed = JSON.parse(readFileSync(join(folder, name), 'utf8')) as Partial<VectorFile>;
    if (parsed.format !== VECTOR_FORMAT) fail(name, `format must be ${JSON.stringify(VECTOR_FORMAT)}`);
    if (!Array.isArray(parsed.vectors)) fail(name, 'vectors must be an array');
    for (const vector of parsed.vectors) vectors.push(checkVector(name, vector, seen));
  }
  return vectors;
}
