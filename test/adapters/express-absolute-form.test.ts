import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, expect, it } from 'vitest';
import { sessionRoutes } from '../../src/server/adapters/express.js';
import { defineRoutes } from '../../src/routes/index.js';
import { createValidator, memoryStore } from '../../src/server/index.js';
import { idemKey } from '../support/session-http.js';

/**
 * An absolute-form request target (`POST http://host/cart HTTP/1.1`, RFC 9112
 * §3.2.2, what a request through a proxy carries) is routed by Express on its
 * path; sessionRoutes must match it the same way, not hand it to next().
 */

const routes = defineRoutes<{ cart: unknown }>()({ addToCart: { method: 'POST', path: '/api/cart', writes: ['cart'] } });
const validator = createValidator({ store: memoryStore() });
const app = express();
app.use(sessionRoutes(validator, routes, { addToCart: (_req, res) => void res.status(201).json({ added: true }) }));
app.use((_req, res) => void res.status(404).send('fell through'));
const server = createServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('routes an absolute-form request target by its path', async () => {
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const sent = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: `http://127.0.0.1:${port}/api/cart?from=proxy`, headers: { 'session-write': '"cart"', 'idempotency-key': idemKey(), 'content-type': 'application/json' } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    sent.on('error', reject);
    sent.end('{}');
  });
  expect(answer).toEqual({ status: 201, body: '{"added":true}' });
});
