import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createValidator } from '../../src/server/index.js';
import { canonicalJson, MAX_VALUE_DEPTH } from '../../src/server/canonical-json.js';
import type { SessionStore } from '../../src/server/store.js';
import { describeEachStore } from '../support/each-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

const SECRET = 'a test secret of at least 32 bytes, shared';

/** A body nested `depth` levels deep: legal JSON, 2 bytes per level. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** Values an attacker can send as a JSON body: deep, wide, huge numbers, lone surrogates, `__proto__` members. */
const hostileJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)),
  fc.integer({ min: 1, max: 3 * MAX_VALUE_DEPTH }).map(nested),
  fc.integer({ min: 1, max: 3 * MAX_VALUE_DEPTH }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.integer({ min: 100, max: 5_000 }).map((width) => `[${Array.from({ length: width }, (_, i) => i).join(',')}]`),
  fc.constantFrom('1e400', '-1e400', '[1e309]', '{"n":-1e999}', '1e308', '-0', '5e-324', '123456789012345678901234567890', '0.1e-400'),
  fc.constantFrom('"\\ud800"', '"\\udfff x"', '["\\udbff", "\\ud83d\\ude00"]', '{"\\ud800":1}'),
  fc.constantFrom('{"__proto__":{"admin":true}}', '{"__proto__":null,"constructor":{"prototype":1}}', '{"a":{"__proto__":[1]}}', '{"toString":1,"hasOwnProperty":2}'),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify({ __proto__: value, ['\ud800']: value } as never) ?? 'null'),
);

describeEachStore('hostile session values', (kind) => {
  let store: SessionStore;
  let server: TestServer;

  beforeAll(async () => {
    store = kind.open();
    const validator = createValidator({ store, secret: SECRET });
    server = await startServer({
      '/set': validator.route({ writes: ['value'] }, async (request, session) => {
        session.set('value', JSON.parse(await request.text()));
        return Response.json({ ok: true });
      }),
      '/get': validator.route({ reads: ['value'] }, async (_request, session) => new Response(JSON.stringify(session.get('value') ?? null))),
    });
  });
  afterAll(async () => {
    await server.close();
    await store.close();
    await kind.cleanup();
  });

  it(`refuses a 20 kB body nested 10,000 levels with 422 invalid-value and issues (a stack overflow, 500, before)`, async () => {
    const browser = new Browser(server.url);
    const answer = await browser.send('/set', { headers: { 'session-write': '"value"', 'idempotency-key': idemKey() }, body: nested(10_000) });
    expect(answer.status).toBe(422);
    const problem = answer.json();
    expect(problem.type).toBe('https://session-lanes.dev/problems/invalid-value');
    expect(problem.key).toBe('value');
    expect(problem.issues).toEqual([{ path: Array(MAX_VALUE_DEPTH).fill(0), message: expect.stringContaining(`deeper than ${MAX_VALUE_DEPTH} levels`) }]);
  });

  it('refuses a non-finite number (JSON 1e400) with 422 invalid-value naming its path', async () => {
    const browser = new Browser(server.url);
    const answer = await browser.send('/set', { headers: { 'session-write': '"value"', 'idempotency-key': idemKey() }, body: '{"price":[1,1e400]}' });
    expect(answer.status).toBe(422);
    expect(answer.json().issues).toEqual([{ path: ['price', 1], message: '$.price[1] is Infinity, which JSON cannot hold' }]);
  });

  it('never answers 5xx, and a value read back after a 2xx is the canonical JSON written (property)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileJson, async (body) => {
        const browser = new Browser(server.url);
        const written = await browser.send('/set', { headers: { 'session-write': '"value"', 'idempotency-key': idemKey() }, body });
        expect(written.status, written.text).toBeLessThan(500);
        if (written.status !== 200) {
          expect(written.status).toBe(422);
          expect(written.json().issues.length).toBeGreaterThan(0);
          return;
        }
        const read = await browser.send('/get', { method: 'GET' });
        expect(read.status).toBe(200);
        expect(canonicalJson(JSON.parse(read.text))).toBe(canonicalJson(JSON.parse(body)));
      }),
      { numRuns: kind.name === 'memory' ? 150 : 60 },
    );
  });
});
