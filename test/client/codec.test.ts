import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseEpoch, parseVersions, PROBLEM_BASE, isProblem, serializeKey, serializeMembers, staleKeys, type Member } from '../../src/client/codec.js';
import { MAX_VERSION } from '../../src/protocol/headers.js';
import { PROBLEM } from '../../src/protocol/problems.js';
import { problemSchema, staleProblemSchema } from '../../src/protocol/schemas.js';
import { parseKeyVersions, parseStringItem, serializeKeyVersions, serializeStringItem, type KeyVersion } from '../../src/protocol/versions.js';

// Keys: printable ASCII with the characters that need escaping, and any Unicode (display strings).
const key = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', '"', '\\', ' ', '%', '~', ';', ',', '=') , minLength: 1 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1 }),
  fc.string({ unit: 'binary', minLength: 1 }),
  fc.string({ unit: 'grapheme', minLength: 1 }),
);
const version = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(MAX_VERSION), fc.integer({ min: 0, max: MAX_VERSION }));
const members = (withVersion: boolean) =>
  fc.uniqueArray(fc.tuple(key, withVersion ? version : fc.option(version, { nil: undefined })), { selector: ([k]) => k, maxLength: 8 });

// structured-headers' parser drops a leading U+FEFF from a display string (its TextDecoder strips a BOM), so
// the server refuses key names that begin with it (a 400, and route() refuses to declare them): left out here.
const serverSafe = (list: readonly Member[]) => list.every(([k]) => !k.startsWith('\uFEFF'));

const toKeyVersions = (list: readonly Member[]): KeyVersion[] => list.map(([k, v]) => (v === undefined ? { key: k } : { key: k, version: v }));
const serverParse = (header: string, value: string) => {
  try {
    return parseKeyVersions(header, value);
  } catch {
    return undefined;
  }
};

describe('Session-Read / Session-Write: what the client writes, structured-headers reads back identically', () => {
  test('round trip through the server parser', () => {
    fc.assert(
      fc.property(members(false).filter(serverSafe), (list) => {
        expect(parseKeyVersions('session-write', serializeMembers(list))).toEqual(toKeyVersions(list));
      }),
      { numRuns: 2000 },
    );
  });

  test('byte for byte what the server serializer writes', () => {
    fc.assert(
      fc.property(members(false).filter(serverSafe), (list) => {
        expect(serializeMembers(list)).toBe(serializeKeyVersions(toKeyVersions(list)));
      }),
      { numRuns: 2000 },
    );
  });

  test('escapes and display strings', () => {
    expect(serializeKey('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(serializeKey('café')).toBe('%"caf%c3%a9"');
    expect(serializeKey('50%"')).toBe('"50%\\""');
    expect(serializeKey('50%é')).toBe('%"50%25%c3%a9"');
    expect(serializeMembers([['cart', 12], ['prefs']])).toBe('"cart";v=12, "prefs"');
  });
});

describe('Session-Versions: what the server writes, the client reads identically', () => {
  test('round trip from the server serializer', () => {
    fc.assert(
      fc.property(members(true).filter(serverSafe), (list) => {
        expect(parseVersions(serializeKeyVersions(toKeyVersions(list)))).toEqual(new Map(list.map(([k, v]) => [k, v!])));
      }),
      { numRuns: 2000 },
    );
  });

  // Fragments of valid and invalid syntax: whatever the client accepts, the server's parser reads the same.
  const fragment = fc.constantFrom('"a"', '"b"', '%"c%c3%a9"', '%"%C3%A9"', '%"%ff"', '"\\q"', '"\\""', ';v=1', ';v=007', ';v=-1', ';v=1.5', ';v', ';v="1"', ';w=1', ';v=1;v=2', ', ', ',', ' ', '\t', '"', 'tok', '1', '(', ')', ';v=1000000000000000', '');
  test('anything the client accepts, structured-headers reads identically', () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 10 }).map((parts) => parts.join('')), (header) => {
        const mine = parseVersions(header);
        if (mine === undefined || mine === null) return;
        const theirs = serverParse('session-versions', header);
        expect(theirs).toBeDefined();
        expect(theirs!.every((member) => member.version !== undefined)).toBe(true);
        expect(new Map(theirs!.map((member) => [member.key, member.version]))).toEqual(mine);
      }),
      { numRuns: 5000 },
    );
  });

  // structured-headers 2.1 writes %1 here; src/protocol serialises display strings itself.
  test('the server pads %xx for bytes below 0x10, as the client does', () => {
    expect(serializeKeyVersions([{ key: 'a\u0001b', version: 1 }])).toBe('%"a%01b";v=1');
  });

  test('absent, empty and malformed', () => {
    expect(parseVersions(null)).toBeNull();
    expect(parseVersions('')).toEqual(new Map());
    expect(parseVersions('"a";v=1, "a";v=2')).toBeUndefined();
    expect(parseVersions('"a"')).toBeUndefined();
    expect(parseVersions('"a";v=1,')).toBeUndefined();
    expect(parseVersions('  "a";v=1 ,\t"b";v=2  ')).toEqual(new Map([['a', 1], ['b', 2]]));
  });

  test('a display string of invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short) or uppercase hex is malformed; a BOM is kept', () => {
    for (const bytes of ['%80', '%c0%af', '%ed%a0%80', '%f4%90%80%80', '%e2%82', '%C3%A9']) expect(parseVersions(`%"${bytes}";v=1`)).toBeUndefined();
    expect(parseVersions('%"%ef%bb%bfa%c3%a9%f0%9f%98%80";v=1')).toEqual(new Map([['\uFEFFa\u00e9\u{1F600}', 1]]));
  });
});

describe('Session-Epoch', () => {
  test('what the server writes, the client reads identically', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii' }).filter((s) => /^[ -~]*$/.test(s)), (epoch) => {
        expect(parseEpoch(serializeStringItem(epoch))).toBe(epoch);
      }),
      { numRuns: 2000 },
    );
  });

  const fragment = fc.constantFrom('"', 'a', '\\"', '\\\\', '\\x', ' ', '%', ';p=1', 'é', '\t', 'tok');
  test('anything the client accepts, structured-headers reads identically', () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 8 }).map((parts) => parts.join('')), (header) => {
        const mine = parseEpoch(header);
        if (mine === undefined || mine === null) return;
        expect(parseStringItem('session-epoch', header)).toBe(mine);
      }),
      { numRuns: 5000 },
    );
  });

  test('absent and malformed', () => {
    expect(parseEpoch(null)).toBeNull();
    expect(parseEpoch('""')).toBe('');
    expect(parseEpoch('abc')).toBeUndefined();
    expect(parseEpoch('%"abc"')).toBeUndefined();
    expect(parseEpoch('"a";p=1')).toBeUndefined();
  });
});

describe('problem bodies: what zod rejects, the client rejects too', () => {
  // Bodies come from response.json(), so the domain is JSON values: valid stale bodies with at most one
  // member broken (replaced, removed, or one key state spoiled), plus arbitrary JSON.
  const validState = fc.record({ version, value: fc.jsonValue() }, { requiredKeys: ['version'] });
  const badVersion = fc.oneof(fc.constantFrom(-1, 1.5, MAX_VERSION + 1, '1', null), fc.double(), fc.jsonValue());
  const validBody = fc.record(
    {
      type: fc.constant(PROBLEM.stale.type as string),
      title: fc.string(),
      status: fc.constant(412),
      detail: fc.string(),
      keys: fc.dictionary(fc.string(), validState, { maxKeys: 4 }),
      extra: fc.jsonValue(),
    },
    { requiredKeys: ['type', 'title', 'status', 'keys'] },
  );
  const member = fc.constantFrom('type', 'title', 'status', 'detail', 'keys');
  const body = fc.oneof(
    validBody,
    fc.tuple(validBody, member, fc.oneof(fc.jsonValue(), fc.constantFrom(410, 400, 600, 412.5, PROBLEM.sessionEnded.type, 'about:blank'))).map(([b, m, v]) => ({ ...b, [m]: v })),
    fc.tuple(validBody, member).map(([b, m]) => {
      const copy: Record<string, unknown> = { ...b };
      delete copy[m];
      return copy;
    }),
    fc.tuple(validBody, fc.string(), fc.oneof(badVersion.map((v) => ({ version: v })), fc.jsonValue())).map(([b, k, state]) => ({ ...b, keys: { ...b.keys, [k]: state } })),
    fc.tuple(validBody, fc.array(validState)).map(([b, list]) => ({ ...b, keys: list })),
    fc.jsonValue(),
  );

  test('staleKeys agrees with staleProblemSchema', () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (value) => {
        const json = JSON.parse(JSON.stringify(value)) as unknown;
        const zod = staleProblemSchema.safeParse(json);
        const mine = staleKeys(json);
        // What zod rejects, the client rejects too.
        if (!zod.success) expect(mine).toBeUndefined();
        // zod's record skips a key named "__proto__" without checking its state; the client checks it (a stricter
        // answer is fine), so agreement on acceptance is asserted only without such a key.
        else if (!Object.hasOwn((json as { keys: object }).keys, '__proto__')) {
          expect(mine).toBeDefined();
          accepted++;
          expect(Object.keys(mine!)).toEqual(Object.keys(zod.data.keys));
        }
      }),
      { numRuns: 5000 },
    );
    // The generator must reach valid bodies too, or agreement proves little.
    expect(accepted).toBeGreaterThan(20);
  });

  test('isProblem agrees with problemSchema', () => {
    fc.assert(
      fc.property(body, (value) => {
        const json = JSON.parse(JSON.stringify(value)) as unknown;
        expect(isProblem(json)).toBe(problemSchema.safeParse(json).success);
      }),
      { numRuns: 5000 },
    );
  });

  test('every problem type of the protocol is PROBLEM_BASE + its name', () => {
    for (const problem of Object.values(PROBLEM)) expect(problem.type.startsWith(PROBLEM_BASE)).toBe(true);
    // The names the client acts on exist in the protocol.
    const names = Object.values(PROBLEM).map((problem) => problem.type.slice(PROBLEM_BASE.length));
    for (const name of ['stale', 'in-progress', 'store-unavailable', 'session-ended', 'invalid-value', 'handler-failed']) expect(names).toContain(name);
  });
});
