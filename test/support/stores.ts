import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { describe, it } from 'vitest';

/**
 * Where the shared test servers are, and whether tests may skip when they
 * are missing: in CI (CI=true) or with SESSION_LANES_REQUIRE_STORES=1 a
 * missing server fails the run; on a laptop without them the tests skip
 * with a message that says how to run them.
 */
export const REDIS_URL = process.env.SESSION_LANES_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.SESSION_LANES_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const STORES_REQUIRED = process.env.CI === 'true' || process.env.SESSION_LANES_REQUIRE_STORES === '1';

/** A random name part, so that test files running in parallel never share keys or tables. */
export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** Resolves null when host:port accepts a TCP connection, else the reason it did not. */
export function tcpUnreachable(url: string, timeoutMs = 2_000): Promise<string | null> {
  const { hostname, port } = new URL(url);
  const defaultPort = url.startsWith('redis') ? 6379 : 5432;
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (error) => done(error.message));
  });
}

/**
 * `describe` for tests that need a server: runs them when it is reachable;
 * otherwise fails (stores required) or skips them with a clear message.
 */
export function describeWithServer(name: string, server: string, unreachable: string | null, body: () => void): void {
  if (unreachable === null) {
    describe(name, body);
    return;
  }
  const why = `${server} is not reachable (${unreachable})`;
  if (STORES_REQUIRED) {
    describe(name, () => {
      it(`needs ${server}`, () => {
        throw new Error(`${why}; CI=true or SESSION_LANES_REQUIRE_STORES=1 requires it (.ci/services.sh starts it)`);
      });
    });
    return;
  }
  console.warn(`[session-lanes] skipping "${name}": ${why}. Start it (see .ci/services.sh), or set SESSION_LANES_REQUIRE_STORES=1 to fail instead.`);
  describe.skip(`${name} (skipped: ${why})`, body);
}
