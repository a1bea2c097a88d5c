import { parseItem, parseList, serializeItem, serializeString, DisplayString, type List } from 'structured-headers';
import { MAX_VERSION } from './headers.js';

/** One member of Session-Read, Session-Write or Session-Versions. */
export interface KeyVersion {
  key: string;
  /** The base (request) or current (response) version; absent = blind. */
  version?: number;
}

/** Why a session header was refused; `header` names it for the 400 problem. */
export class DeclarationSyntaxError extends Error {
  override name = 'DeclarationSyntaxError';
  constructor(
    readonly header: string,
    message: string,
  ) {
    super(message);
  }
}

// sf-string holds printable ASCII only; anything else needs a display string.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * RFC 9651 display string. Written here, not by structured-headers 2.1,
 * whose serializer writes bytes below 0x10 with one hex digit (%1, not %01),
 * which its own parser then misreads.
 */
function serializeDisplayString(value: string): string {
  let text = '%"';
  for (const byte of new TextEncoder().encode(value)) {
    text += byte === 0x25 || byte === 0x22 || byte < 0x20 || byte > 0x7e ? `%${byte.toString(16).padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return `${text}"`;
}

/**
 * The text of a structured field with the contents of its strings and display
 * strings blanked out, so that a search for a number cannot match a key name.
 */
function outsideStrings(value: string): string {
  return value.replace(/%?"(?:[^"\\]|\\.)*"/g, '""');
}

/**
 * The shape nearly every session header has: sf-strings without escapes,
 * each with at most an integer `v`, one comma apart. It is read and written
 * here without the general parser and serialiser (a few µs per request);
 * anything else, including every malformed value, goes to them, so that the
 * shortcut never accepts what they refuse nor reads a value otherwise.
 */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const PLAIN_STRING_ITEM = /^"([\x20\x21\x23-\x5b\x5d-\x7e]*)"$/;
const PLAIN_MEMBER = /"([\x20\x21\x23-\x5b\x5d-\x7e]*)"(?:;v=([0-9]{1,15}))?/y;
const LIST_SEPARATOR = /[ \t]*,[ \t]*/y;

/** The members of a list of plain members, each key once and each version in range; null for any other value. */
function plainKeyVersions(value: string): KeyVersion[] | null {
  const members: KeyVersion[] = [];
  const seen = new Set<string>();
  let at = 0;
  for (;;) {
    PLAIN_MEMBER.lastIndex = at;
    const match = PLAIN_MEMBER.exec(value);
    if (!match) return null;
    const key = match[1]!;
    if (seen.has(key)) return null;
    seen.add(key);
    if (match[2] === undefined) members.push({ key });
    else {
      const version = Number(match[2]);
      if (version > MAX_VERSION) return null;
      members.push({ key, version });
    }
    at = PLAIN_MEMBER.lastIndex;
    if (at === value.length) return members;
    LIST_SEPARATOR.lastIndex = at;
    if (!LIST_SEPARATOR.test(value)) return null;
    at = LIST_SEPARATOR.lastIndex;
  }
}

const quotedPlain = (value: string) => (PLAIN_STRING.test(value) ? `"${value}"` : null);

// structured-headers parses the decimal 1.0 to the number 1: only the text tells it from the integer 1.
const DECIMAL = /[0-9]\.[0-9]/;
const LEADING_BOM = /%"%ef%bb%bf/i;

/** Serialises key/version pairs as a structured-field list of strings. */
export function serializeKeyVersions(members: readonly KeyVersion[]): string {
  return members
    .map(({ key, version }) => {
      if (version !== undefined && !(Number.isInteger(version) && version >= 0 && version <= MAX_VERSION)) {
        throw new RangeError(`version of ${JSON.stringify(key)} must be an integer from 0 to ${MAX_VERSION}, got ${version}`);
      }
      const item = quotedPlain(key) ?? (PRINTABLE_ASCII.test(key) ? serializeString(key) : serializeDisplayString(key));
      return version === undefined ? item : `${item};v=${version}`;
    })
    .join(', ');
}

/**
 * Parses a Session-Read, Session-Write or Session-Versions value. Every
 * member must be a string (or display string) with at most the integer
 * parameter `v` in 0..MAX_VERSION; a key may appear once.
 */
export function parseKeyVersions(header: string, value: string | null): KeyVersion[] {
  if (value === null) return [];
  const plain = plainKeyVersions(value);
  if (plain) return plain;
  let list: List;
  try {
    list = parseList(value);
  } catch (error) {
    throw new DeclarationSyntaxError(header, `${header} is not a structured-field list: ${(error as Error).message}`);
  }
  // structured-headers decodes display strings with a TextDecoder that drops a leading BOM, so "\uFEFFcart"
  // would be read as "cart": refuse such names rather than misread them (routes cannot declare them either).
  if (LEADING_BOM.test(value)) {
    throw new DeclarationSyntaxError(header, `${header} names a key that begins with U+FEFF, which session-lanes does not support`);
  }
  if (DECIMAL.test(outsideStrings(value))) {
    throw new DeclarationSyntaxError(header, `${header} holds a decimal; a version is an integer from 0 to ${MAX_VERSION}`);
  }
  const seen = new Set<string>();
  return list.map((member, index) => {
    const [bare, params] = member;
    if (Array.isArray(bare)) throw new DeclarationSyntaxError(header, `${header} member ${index} is an inner list, not a string`);
    let key: string;
    if (typeof bare === 'string') key = bare;
    else if (bare instanceof DisplayString) key = bare.toString();
    else throw new DeclarationSyntaxError(header, `${header} member ${index} is not a string (key names are quoted strings)`);
    if (seen.has(key)) throw new DeclarationSyntaxError(header, `${header} names key ${JSON.stringify(key)} twice`);
    seen.add(key);
    const result: KeyVersion = { key };
    for (const [name, param] of params) {
      if (name !== 'v') throw new DeclarationSyntaxError(header, `${header} key ${JSON.stringify(key)} has unknown parameter "${name}" (only v is defined)`);
      if (typeof param !== 'number' || !Number.isInteger(param) || param < 0 || param > MAX_VERSION) {
        throw new DeclarationSyntaxError(header, `${header} key ${JSON.stringify(key)} has v=${String(param)}; a version is an integer from 0 to ${MAX_VERSION}`);
      }
      result.version = param;
    }
    return result;
  });
}

/** Parses an sf-string header (Session-Epoch, Idempotency-Key); null when absent. */
export function parseStringItem(header: string, value: string | null): string | null {
  if (value === null) return null;
  const plain = PLAIN_STRING_ITEM.exec(value);
  if (plain) return plain[1]!;
  let item;
  try {
    item = parseItem(value);
  } catch (error) {
    throw new DeclarationSyntaxError(header, `${header} is not a structured-field string: ${(error as Error).message}`);
  }
  const [bare, params] = item;
  if (typeof bare !== 'string') throw new DeclarationSyntaxError(header, `${header} must be a quoted string`);
  if (params.size > 0) throw new DeclarationSyntaxError(header, `${header} takes no parameters`);
  return bare;
}

export function serializeStringItem(value: string): string {
  return quotedPlain(value) ?? serializeItem(value);
}
