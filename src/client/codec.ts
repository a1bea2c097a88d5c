/**
 * The client's own small codec for the session headers and problem bodies.
 *
 * The server uses `structured-headers` and zod (src/protocol); they would
 * cost the browser ~9 kB, so the client writes and reads the few shapes it
 * needs itself. test/client/codec.property.test.ts proves with fast-check
 * that both sides agree: what this writes, the server reads back
 * identically; what the server writes, this reads identically; a stale
 * problem that zod rejects, `staleKeys` rejects too.
 */
import { MAX_VERSION } from '../protocol/headers.js';

/** One member of Session-Read, Session-Write or Session-Versions; `v` absent = blind. */
export type Member = readonly [key: string, v?: number | undefined];

/** A key's state in a 412 body: `value` absent means the key is absent. */
export interface StaleKey {
  readonly version: number;
  readonly value?: unknown;
}

/**
 * An sf-string (RFC 8941) for printable ASCII, else an RFC 9651 display
 * string: UTF-8 bytes, with `%`, `"` and anything outside 0x20–0x7e as
 * lower-case `%xx` — exactly what the RFC's serializer writes.
 */
export function serializeKey(key: string): string {
  if (/^[ -~]*$/.test(key)) return `"${key.replace(/[\\"]/g, '\\$&')}"`;
  let out = '%"';
  for (const byte of new TextEncoder().encode(key)) {
    out += byte < 32 || byte > 126 || byte === 37 || byte === 34 ? '%' + byte.toString(16).padStart(2, '0') : String.fromCharCode(byte);
  }
  return out + '"';
}

/** Session-Read / Session-Write: `"cart";v=12, "prefs"`. */
export function serializeMembers(members: readonly Member[]): string {
  return members.map(([key, v]) => serializeKey(key) + (v === undefined ? '' : ';v=' + v)).join(', ');
}

// One list member: sf-string or display string, then parameters; OWS around commas.
const STRING = /^"((?:[ !#-[\]-~]|\\["\\])*)"/;
const DISPLAY = /^%"((?:[ !#-$&-~]|%[0-9a-f]{2})*)"/;
const PARAM = /^;v=(\d{1,15})/;

export function readString(input: string): [key: string, rest: string] | undefined {
  let match = STRING.exec(input);
  if (match) return [match[1]!.replace(/\\(.)/g, '$1'), input.slice(match[0].length)];
  match = DISPLAY.exec(input);
  if (!match) return;
  // Its %xx are UTF-8 bytes (DISPLAY admits lowercase pairs only): decodeURIComponent throws on invalid UTF-8 (an overlong form, a surrogate), as a fatal TextDecoder does, and keeps a BOM.
  try {
    return [decodeURIComponent(match[1]!), input.slice(match[0].length)];
  } catch {
    return;
  }
}

/**
 * Parses Session-Versions as the server writes it: a list of (display)
 * strings, each with exactly one `v`. Returns undefined for anything else,
 * including a key named twice; null when the header is absent.
 */
export function parseVersions(value: string | null): Map<string, number> | undefined | null {
  if (value === null) return null;
  const result = new Map<string, number>();
  let rest = value.replace(/^ +| +$/g, '');
  while (rest) {
    const item = readString(rest);
    const param = item && PARAM.exec(item[1]);
    if (!item || !param || result.has(item[0])) return;
    const version = Number(param[1]);
    if (version > MAX_VERSION) return;
    result.set(item[0], version);
    rest = item[1].slice(param[0].length);
    if (!rest) break;
    const comma = /^[ \t]*,[ \t]*(?=.)/.exec(rest);
    if (!comma) return;
    rest = rest.slice(comma[0].length);
  }
  return result;
}

/** Parses an sf-string item without parameters (Session-Epoch); undefined when malformed, null when absent. */
export function parseEpoch(value: string | null): string | undefined | null {
  if (value === null) return null;
  const trimmed = value.replace(/^ +| +$/g, '');
  const item = trimmed[0] === '"' ? readString(trimmed) : undefined;
  return item && !item[1] ? item[0] : undefined;
}

/**
 * Every problem type of ours is this prefix plus a name (`stale`,
 * `session-ended`…). Matching the prefix spares the client the whole PROBLEM
 * table of src/protocol; test/client/codec.test.ts checks they agree.
 */
export const PROBLEM_BASE = 'https://session-lanes.dev/problems/';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether `body` has the RFC 9457 members every problem of ours carries, valid. */
export const isProblem = (body: unknown): body is Record<string, unknown> & { readonly type: string; readonly status: number } =>
  isObject(body) &&
  typeof body.type === 'string' &&
  typeof body.title === 'string' &&
  Number.isInteger(body.status) &&
  (body.status as number) >= 400 &&
  (body.status as number) < 600 &&
  (body.detail === undefined || typeof body.detail === 'string');

/** The `keys` of a valid 412 stale problem (the checks of zod's staleProblemSchema), else undefined. */
export function staleKeys(body: unknown): Record<string, StaleKey> | undefined {
  if (!isProblem(body) || body.type !== PROBLEM_BASE + 'stale' || body.status !== 412 || !isObject(body.keys)) return;
  for (const key of Object.keys(body.keys)) {
    const state = body.keys[key];
    if (!isObject(state) || !Number.isInteger(state.version) || (state.version as number) < 0 || (state.version as number) > MAX_VERSION) return;
  }
  return body.keys as Record<string, StaleKey>;
}
