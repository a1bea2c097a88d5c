/**
 * Canonical JSON: object keys sorted, no whitespace. Two values that are
 * equal as JSON get the same text, so "setting a value equal to the current
 * one is no change" is a string comparison. Throws a TypeError for what JSON
 * cannot hold (undefined, functions, symbols, bigints, non-finite numbers,
 * cycles), so that a value never changes silently on its way to the store.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set(), '$');
}

function write(value: unknown, ancestors: Set<object>, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`${path} is a ${typeof value}, which JSON cannot hold`);
  }
  const object = value as object & { toJSON?: () => unknown };
  if (typeof object.toJSON === 'function') return write(object.toJSON(), ancestors, path);
  if (ancestors.has(object)) throw new TypeError(`${path} refers back to itself; JSON cannot hold cycles`);
  ancestors.add(object);
  let text: string;
  if (Array.isArray(object)) {
    text = `[${object.map((item, index) => write(item, ancestors, `${path}[${index}]`)).join(',')}]`;
  } else {
    const members: string[] = [];
    for (const key of Object.keys(object).sort()) {
      const member = (object as Record<string, unknown>)[key];
      if (member === undefined) continue; // as JSON.stringify does
      members.push(`${JSON.stringify(key)}:${write(member, ancestors, `${path}.${key}`)}`);
    }
    text = `{${members.join(',')}}`;
  }
  ancestors.delete(object);
  return text;
}
