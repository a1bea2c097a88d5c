import { connect } from 'node:net';
import fc from 'fast-check';
import { parseList } from 'structured-headers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { countingStore } from '../support/counting-store.js';
import { startServer, type TestServer } from '../support/server.js';
import { Browser, idemKey } from '../support/session-http.js';

const ROUTE_KEYS = ['cart', 'prefs'];
const SESSION_HEADERS = ['session-read', 'session-write', 'session-epoch', 'idempotency-key'];
const counting = countingStore(memoryStore());
let server: TestServer;
let browser: Browser;
let sessionId: string;
let handlerRuns = 0;

beforeAll(async () => {
  const validator = createValidator({ store: counting.store });
  server = await startServer({
    '/cart': validator.route({ reads: ['prefs'], writes: ['cart'] }, async (_request, session) => {
      handlerRuns++;
      session.set('cart', ['changed']);
      return Response.json({ ok: true });
    }),
  });
  browser = new Browser(server.url);
  const created = await browser.send('/cart', { headers: { 'session-write': '"cart"', 'idempotency-key': idemKey() } });
  expect(created.status).toBe(200);
  sessionId = browser.cookie!.split('=')[1]!;
});
afterAll(() => server.close());

async function snapshot() {
  const { session, entries } = await counting.store.begin({ sessionId, keys: ROUTE_KEYS, now: Date.now() });
  return JSON.stringify({ session, entries: [...entries] });
}

// --- arbitraries that are malformed by construction ---

const sfString = (key: string) => `"${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const printable = fc.string({ unit: fc.constantFrom(...' !#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~"'.split('')), maxLength: 12 });
const routeKey = fc.constantFrom(...ROUTE_KEYS);
const outsideKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'CART', 'cart ', ''),
  printable.filter((key) => !ROUTE_KEYS.includes(key)),
);
const notAString = fc.constantFrom('cart', '42', '-1', '4.5', '?1', ':Y2FydA==:', '("cart")', '@1700000000', 'cart;v=1');
const badVersion = fc.oneof(
  fc.integer({ min: -1_000_000, max: -1 }).map(String),
  fc.constantFrom('1.5', '0.0', '"1"', '?1', 'one', ':AQ==:', '1000000000000000', '99999999999999999999', '-0.5', '1e3', ''),
);
const params = fc.oneof(fc.constant(''), fc.nat({ max: 99 }).map((v) => `;v=${v}`));

/** A Session-Read/Session-Write value that must be refused: [value, which kind of fault]. */
const badDeclaration = fc.oneof(
  fc.tuple(notAString, params).map(([member, p]) => `${member}${p}`),
  fc.tuple(routeKey, fc.constantFrom('w', 'version', 'x', 'v2', 'V'), fc.nat()).map(([key, name, n]) => `${sfString(key)};${name}=${n}`),
  fc.tuple(routeKey, badVersion).map(([key, v]) => `${sfString(key)};v=${v}`),
  fc.tuple(routeKey, params, params).map(([key, a, b]) => `${sfString(key)}${a}, ${sfString(key)}${b}`),
  fc.tuple(outsideKey, params).map(([key, p]) => `${sfString(key)}${p}`),
  // Thousands of keys, kept under Node's 16 KiB header limit so that they reach the validator.
  fc.integer({ min: 1000, max: 2000 }).map((count) => Array.from({ length: count }, (_, i) => `"${i}"`).join(',')),
  fc.constantFrom('%"caf%c3"', '%"%zz"', '%"CAF%C3%A9"', '"cart', 'cart"', '"cart",', ',', '"a" "b"', '"\\x"', '"cart";', '"cart";v'),
  printable.filter((text) => {
    try {
      parseList(text);
      return false;
    } catch {
      return true;
    }
  }),
);
const badIdempotencyKey = fc.oneof(
  fc.string({ maxLength: 15 }).filter((s) => /^[\x20-\x7e]*$/.test(s)).map(sfString),
  fc.integer({ min: 256, max: 2000 }).map((n) => sfString('k'.repeat(n))),
  fc.constantFrom('abcdefghijklmnopqrstuvwxyz', '"abcdefghijklmnopqrstuvwxyz";x=1', '12345678901234567890', '("abcdefghijklmnopqrstuvwxyz")', ':YWJjZGVmZ2hpamtsbW5vcHFyc3Q=:'),
);
const badEpoch = fc.constantFrom('epoch', '1', '"unterminated', '("a")', '"a";p=1', '"a", "b"', '?0');

/** A request whose session headers hold exactly one fault, named by the header it is in. */
const badRequest = fc.oneof(
  badDeclaration.map((value) => ({ header: 'session-write', headers: { 'session-write': value, 'idempotency-key': idemKey() } })),
  badDeclaration.map((value) => ({ header: 'session-read', headers: { 'session-read': value, 'session-write': '"cart"', 'idempotency-key': idemKey() } })),
  badIdempotencyKey.map((value) => ({ header: 'idempotency-key', headers: { 'session-write': '"cart"', 'idempotency-key': value } })),
  badEpoch.map((value) => ({ header: 'session-epoch', headers: { 'session-write': '"cart"', 'session-epoch': value, 'idempotency-key': idemKey() } })),
);

describe('malformed session headers (property-based)', () => {
  it('answers every malformed header with a 400 problem that names it, and leaves the store unchanged', async () => {
    const before = await snapshot();
    counting.reset();
    handlerRuns = 0;
    await fc.assert(
      fc.asyncProperty(badRequest, async ({ header, headers }) => {
        const answer = await browser.send('/cart', { headers });
        expect(answer.status).toBe(400);
        expect(answer.response.headers.get('content-type')).toBe('application/problem+json');
        const problem = answer.json();
        expect(problem.type).toBe('https://session-lanes.dev/problems/invalid-declaration');
        expect(problem.header).toBe(header);
        expect(problem.detail.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
    expect(handlerRuns).toBe(0);
    expect(counting.calls.commit + counting.calls.release).toBe(0);
    expect(await snapshot()).toBe(before);
  });

  it('never answers 5xx to any combination of session headers, well-formed or not', async () => {
    const anyValue = fc.oneof(badDeclaration, printable, fc.tuple(routeKey, params).map(([key, p]) => `${sfString(key)}${p}`));
    await fc.assert(
      fc.asyncProperty(
        fc.record({ 'session-read': anyValue, 'session-write': anyValue, 'session-epoch': fc.oneof(badEpoch, printable.map(sfString)), 'idempotency-key': fc.oneof(badIdempotencyKey, fc.constant(idemKey())) }, { requiredKeys: [] }),
        async (headers) => {
          const answer = await browser.send('/cart', { headers: headers as Record<string, string> });
          expect(answer.status).toBeLessThan(500);
          // 431 is Node's own (headers over 16 KiB), before any application code.
          if (answer.status >= 400 && answer.status !== 431) expect(answer.response.headers.get('content-type')).toBe('application/problem+json');
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Sends raw bytes over a socket and reads the status line of the answer. */
function rawRequest(port: number, head: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    socket.end(head);
  });
}

describe('malformed session headers over raw sockets', () => {
  it('answers 400, never 5xx, to arbitrary bytes in session headers, and leaves the store unchanged', async () => {
    const before = await snapshot();
    counting.reset();
    handlerRuns = 0;
    const port = Number(new URL(server.url).port);
    const byte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x0d && b !== 0x0a);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SESSION_HEADERS), fc.array(byte, { minLength: 1, maxLength: 64 }), async (header, bytes) => {
        const value = Buffer.from(bytes);
        const writeHeaders = header === 'session-write' ? [] : [Buffer.from('Session-Write: "cart"\r\n')];
        const keyHeader = header === 'idempotency-key' ? [] : [Buffer.from(`Idempotency-Key: ${idemKey()}\r\n`)];
        const head = Buffer.concat([
          Buffer.from(`POST /cart HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${browser.cookie}\r\nConnection: close\r\nContent-Length: 0\r\n`),
          ...writeHeaders,
          ...keyHeader,
          Buffer.from(`${header}: `),
          value,
          Buffer.from('\r\n\r\n'),
        ]);
        const { status, text } = await rawRequest(port, head);
        // Node's parser refuses some bytes (control characters) itself with a bare 400; the rest reach the validator.
        if (status === 400 && text.includes('problem+json')) expect(text).toContain(`"header":"${header}"`);
        else if (status !== 400) {
          // Bytes that form a well-formed value (say a valid key) are served normally; never a 5xx.
          expect(status).toBeLessThan(500);
          expect(status).not.toBe(0);
        }
      }),
      { numRuns: 300 },
    );
    // Whatever got through was at worst a valid write of ['changed']; the session and its epoch are intact.
    const after = JSON.parse(await snapshot());
    expect(after.session).toEqual(JSON.parse(before).session);
  });

  it('leaves to Node what its parser refuses first: oversized headers get 431 before any application code', async () => {
    const port = Number(new URL(server.url).port);
    const huge = `"${'k'.repeat(20_000)}"`;
    const { status } = await rawRequest(port, Buffer.from(`POST /cart HTTP/1.1\r\nHost: x\r\nConnection: close\r\nSession-Write: ${huge}\r\n\r\n`));
    expect(status).toBe(431);
  });
});
