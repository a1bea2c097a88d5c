import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pathAndQuery, requestFingerprint } from '../../src/server/request-body.js';

/**
 * A request's fingerprint reads the path and query off its URL without the
 * URL parser when the URL is written as the parser writes it. This checks
 * the shortcut against the parser, on and around its edges, and the
 * fingerprint against the formula records already stored were made with.
 */

describe('the path and query of a request URL', () => {
  const general = (url: string) => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };

  it('is what the URL parser gives, for URLs written as it writes them and for others', () => {
    const edges = [
      'http://127.0.0.1:3000/counter',
      'https://example.com/a/b?x=1&y=2',
      'http://h/p?',
      'http://h/p?a\'b',
      "http://h/it's",
      'http://h/a/../b',
      'http://h/a/./b',
      'http://h/a/%2e%2e/b',
      'http://h/a/..',
      'http://h/a/b.c/..d',
      'http://h/p#frag',
      'http://h/p?q#frag',
      'http://h?x=/y',
      'http://h#x/y',
      'http://h\\x/y',
      'http:///p',
      'http://h/a b',
      'http://h/a%20b',
      'http://h/ä',
      'http://h/a|b',
      'http://h/a^b?c`d',
      'HTTP://h/p',
      'http://user:pw@h/p',
      'http://h/p?x=1/../2',
      'ftp://h/p',
    ];
    for (const url of edges) expect(pathAndQuery(url), url).toBe(general(url));
    const part = fc.constantFrom('/', '.', '..', '?', '#', '%', '%2e', "'", 'a', 'Z', '0', '-', '_', '~', ':', '@', '&', '=', '+', ' ', '\\', '|', 'é', '`', '{');
    fc.assert(
      fc.property(fc.constantFrom('http://h', 'https://h:8443', 'http://127.0.0.1:3000'), fc.array(part, { maxLength: 10 }), (origin, parts) => {
        const url = `${origin}/${parts.join('')}`;
        expect(pathAndQuery(url)).toBe(general(url));
      }),
      { numRuns: 10000 },
    );
  });
});

describe('a request fingerprint', () => {
  it('is SHA-256 of method, path and query, and body, as records already stored hold it', () => {
    fc.assert(
      fc.property(fc.constantFrom('POST', 'PUT', 'DELETE'), fc.constantFrom('/cart', '/a/../b?x=1', "/it's?q='", '/é/%41'), fc.uint8Array({ maxLength: 64 }), (method, target, body) => {
        const request = new Request(`http://127.0.0.1:3000${target}`, { method });
        const url = new URL(request.url);
        const expected = createHash('sha256').update(`${method}\n${url.pathname}${url.search}\n`).update(body).digest('hex');
        expect(requestFingerprint(request, body)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
