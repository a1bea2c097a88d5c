/**
 * How deeply a session value may nest objects and arrays. A legal JSON body
 * can nest ten thousand levels in 20 kB; walking it recursively would
 * overflow the stack (a 500), so a deeper value is an invalid value (422).
 */
export const MAX_VALUE_DEPTH = 64;

/**
 * Thrown for a value JSON could carry on the wire but the session refuses:
 * nested deeper than MAX_VALUE_DEPTH, or holding a non-finite number (what
 * `JSON.parse('1e400')` gives). The validator answers 422 invalid-value.
 */
export class JsonValueError extends TypeError {
  override name = 'JsonValueError';
  constructor(
    /** Where in the value, as path segments from its root. */
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/**
 * Canonical JSON: object keys sorted, no whitespace. Two values that are
 * equal as JSON get the same text, so "setting a value equal to the current
 * one is no change" is a string comparison. Throws a TypeError for what JSON
 * cannot hold (undefined, functions, symbols, bigints, cycles), and a
 * JsonValueError for a non-finite number or a value nested deeper than
 * MAX_VALUE_DEPTH, so that a value never changes silently on its way to the
 * store.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set(), []);
}

const describe = (path: readonly (string | number)[]) => `$${path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('')}`;

function write(value: unknown, ancestors: Set<object>, path: (string | number)[]): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new JsonValueError([...path], `${describe(path)} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`${describe(path)} is a ${typeof value}, which JSON cannot hold`);
  }
  const object = value as object & { toJSON?: () => unknown };
  if (typeof object.toJSON === 'function') return write(object.toJSON(), ancestors, path);
  if (ancestors.has(object)) throw new TypeError(`${describe(path)} refers back to itself; JSON cannot hold cycles`);
  if (ancestors.size >= MAX_VALUE_DEPTH) {
    throw new JsonValueError([...path], `${describe(path)} nests deeper than ${MAX_VALUE_DEPTH} levels of objects and arrays, the most a session value may`);
  }
  ancestors.add(object);
  let text: string;
  if (Array.isArray(object)) {
    const items: string[] = [];
    for (let index = 0; index < object.length; index++) {
      path.push(index);
      items.push(write(object[index], ancestors, path));
      path.pop();
    }
    text = `[${items.join(',')}]`;
  } else {
    const members: string[] = [];
    for (const key of Object.keys(object).sort()) {
      const member = (object as Record<string, unknown>)[key];
      if (member === undefined) continue; // as JSON.stringify does
      path.push(key);
      members.push(`${JSON.stringify(key)}:${write(member, ancestors, path)}`);
      path.pop();
    }
    text = `{${members.join(',')}}`;
  }
  ancestors.delete(object);
  return text;
}
