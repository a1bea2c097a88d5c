import fc from 'fast-check';
import { parseItem, parseList, serializeItem, serializeList, DisplayString } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { MAX_VERSION } from '../../src/protocol/headers.js';
import { DeclarationSyntaxError, parseKeyVersions, parseStringItem, serializeKeyVersions, serializeStringItem } from '../../src/protocol/versions.js';

/**
 * The validator reads and writes the common shape of its session headers
 * without the general structured-field parser and serialiser. These check
 * the shortcuts against them over values made to sit on and around the
 * shortcuts' edges.
 */

/** What parseKeyVersions must give: the general parser's reading, or its refusal. */
function generalKeyVersions(value: string): { key: string; version?: number }[] | 'refused' {
  try {
    const list = parseList(value);
    const keys = new Set<string>();
    return list.map(([bare, params]) => {
      const key = typeof bare === 'string' ? bare : bare instanceof DisplayString ? bare.toString() : null;
      if (key === null || keys.has(key)) throw new Error('not a key');
      keys.add(key);
      if ([...params.keys()].some((name) => name !== 'v')) throw new Error('other parameter');
      const version = params.get('v');
      if (version === undefined) return { key };
      if (typeof version !== 'number' || !Number.isInteger(version) || version < 0 || version > MAX_VERSION || /[0-9]\.[0-9]/.test(value)) throw new Error('bad version');
      return { key, version };
    });
  } catch {
    return 'refused';
  }
}

function read(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    if (error instanceof DeclarationSyntaxError) return 'refused';
    throw error;
  }
}

// Characters on both sides of what a plain sf-string holds, and the pieces of a list.
const piece = fc.constantFrom('"', '\\', ',', ' ', '\t', ';', 'v', '=', '1', '0', '9', '.', '-', 'a', 'Z', '%', '~', '\u007f', 'é', ';v=', ', ', '"a"', '"b";v=3');
const headerValue = fc.oneof(
  fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')),
  fc
    .array(fc.record({ key: fc.stringMatching(/^[a-c "\\]{0,3}$/), version: fc.option(fc.constantFrom(0, 1, 7, MAX_VERSION, MAX_VERSION + 1, 10 ** 15 - 1), { nil: undefined }), zeros: fc.boolean() }), { minLength: 1, maxLength: 3 })
    .chain((members) =>
      fc.constantFrom(', ', ',', ' ,\t', ' , ').map((separator) =>
        members.map(({ key, version, zeros }) => `"${key}"${version === undefined ? '' : `;v=${zeros ? '00' : ''}${version}`}`).join(separator),
      ),
    ),
);

describe('plain session headers', () => {
  it('read as the general parser reads them, and refused where it refuses them', () => {
    const edges = ['"cart"', '"cart";v=0', '"cart";v=007', '"a", "b";v=2', '"a","b"', '"a" ,\t"b"', '"a", "a"', '"a",', ', "a"', '"a";v=1;v=2', `"a";v=${MAX_VERSION}`, `"a";v=${MAX_VERSION + 1}`, '"a";v=1.0', '"a";v=-1', '""', '"a\\"b"', ' "a"', '"a" '];
    for (const value of edges) expect(read(() => parseKeyVersions('session-write', value)), value).toEqual(generalKeyVersions(value));
    fc.assert(
      fc.property(headerValue, (value) => {
        expect(read(() => parseKeyVersions('session-write', value))).toEqual(generalKeyVersions(value));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a string item as the general parser does', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }).map((parts) => parts.join('')), (value) => {
        let expected: unknown;
        try {
          const [bare, params] = parseItem(value);
          expected = typeof bare === 'string' && params.size === 0 ? bare : 'refused';
        } catch {
          expected = 'refused';
        }
        expect(read(() => parseStringItem('idempotency-key', value))).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('writes keys and strings as the general serialiser does', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{0,6}$/), fc.option(fc.nat(MAX_VERSION), { nil: undefined }), (key, version) => {
        const params = new Map(version === undefined ? [] : [['v', version]]);
        expect(serializeKeyVersions([version === undefined ? { key } : { key, version }])).toBe(serializeList([[key, params]]));
        expect(serializeStringItem(key)).toBe(serializeItem(key));
      }),
      { numRuns: 5000 },
    );
  });
});
