/**
 * Issue 20 §4: the Node adapters take the scheme from the connection (TLS or
 * not) or, with `cookie.trustProxy`, from `X-Forwarded-Proto` — never from an
 * absolute-form request target. Before the fix, `POST https://host/cart
 * HTTP/1.1` sent over plain TCP got a `Secure` `__Host-` cookie (and a
 * request whose scheme the client chose). Raw sockets: no HTTP client sends
 * absolute-form to an origin on its own.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import express from 'express';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { expressRoute } from '../../src/server/adapters/express.js';
import { toNodeListener } from '../../src/server/adapters/node.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import type { CookieOptions } from '../../src/server/session-cookie.js';
import { selfSignedCertificate, type SelfSigned } from '../support/https-server.js';
import { idemKey } from '../support/session-http.js';

let tls: SelfSigned;
beforeAll(() => {
  tls = selfSignedCertificate();
});

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** The route under both adapters: the answer carries the URL the handler saw. */
function handler(cookie: CookieOptions) {
  const validator = createValidator({ store: memoryStore(), cookie, onEvent: () => {} });
  return validator.route({ writes: ['cart'] }, (request, session) => {
    session.set('cart', ['x']);
    return Response.json({ url: request.url });
  });
}

async function listen(adapter: 'node' | 'express', secure: boolean, cookie: CookieOptions = {}): Promise<number> {
  const route = handler(cookie);
  let listener: Parameters<typeof createHttpServer>[1];
  if (adapter === 'node') listener = toNodeListener(route);
  else {
    const app = express();
    app.post('/cart', expressRoute(route));
    listener = app;
  }
  server = secure ? createHttpsServer({ key: tls.key, cert: tls.cert }, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** One request as raw bytes, over TCP or TLS; the answer's status line, Set-Cookie lines and body. */
function raw(port: number, secure: boolean, target: string, headers: Record<string, string> = {}): Promise<{ status: number; setCookie: string[]; body: string }> {
  const body = '{}';
  const lines = [
    `POST ${target} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Session-Write: "cart"',
    `Idempotency-Key: ${idemKey()}`,
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return new Promise((resolve, reject) => {
    const socket: Socket = secure ? tlsConnect({ port, host: '127.0.0.1', ca: tls.cert, servername: 'localhost' }) : tcpConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on(secure ? 'secureConnect' : 'connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', rest = ''] = text.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      const setCookie = head.split('\r\n').filter((line) => /^set-cookie:/i.test(line)).map((line) => line.slice(line.indexOf(':') + 1).trim());
      resolve({ status, setCookie, body: rest });
    });
  });
}

for (const adapter of ['node', 'express'] as const) {
  it(`${adapter}: an absolute-form https:// target over plain TCP gets no Secure cookie, and the handler sees http`, async () => {
    const port = await listen(adapter, false);
    const answer = await raw(port, false, `https://127.0.0.1:${port}/cart`);
    expect(answer.status).toBe(200);
    expect(answer.setCookie).toEqual([expect.stringMatching(/^sl_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)]);
    expect(answer.body).toContain(`"url":"http://127.0.0.1:${port}/cart"`);
    // Origin-form over TCP, for comparison: the same.
    expect((await raw(port, false, '/cart')).setCookie).toEqual([expect.stringMatching(/^sl_session=.*; SameSite=Lax$/)]);
  });

  it(`${adapter}: over TLS the cookie is Secure and __Host-, whatever scheme an absolute-form target names`, async () => {
    const port = await listen(adapter, true);
    for (const target of ['/cart', `http://127.0.0.1:${port}/cart`, `https://127.0.0.1:${port}/cart`]) {
      const answer = await raw(port, true, target);
      expect(answer.status, target).toBe(200);
      expect(answer.setCookie, target).toEqual([expect.stringMatching(/^__Host-sl_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/)]);
    }
  });

  it(`${adapter}: X-Forwarded-Proto makes it Secure only with trustProxy, in origin-form and absolute-form alike`, async () => {
    const port = await listen(adapter, false, { trustProxy: true });
    for (const target of ['/cart', `http://127.0.0.1:${port}/cart`]) {
      expect((await raw(port, false, target, { 'X-Forwarded-Proto': 'https' })).setCookie, target).toEqual([expect.stringMatching(/^__Host-sl_session=.*; Secure$/)]);
      expect((await raw(port, false, target, { 'X-Forwarded-Proto': 'http' })).setCookie, target).toEqual([expect.stringMatching(/^sl_session=.*; SameSite=Lax$/)]);
    }
    await new Promise((resolve) => {
      server!.closeAllConnections();
      server!.close(resolve);
    });
    const untrusted = await listen(adapter, false);
    expect((await raw(untrusted, false, `https://127.0.0.1:${untrusted}/cart`, { 'X-Forwarded-Proto': 'https' })).setCookie).toEqual([expect.stringMatching(/^sl_session=.*; SameSite=Lax$/)]);
  });
}
