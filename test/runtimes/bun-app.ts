/**
 * The Bun recipe of docs/frameworks.md, run by real Bun (test/server/runtimes.test.ts):
 * Bun.serve's routes hand `request.params` on as the route's context.
 * Prints {"port": N} once it listens.
 */
import { createValidator, memoryStore } from '../../src/server/index.js';

declare const Bun: {
  serve(options: { port: number; hostname: string; routes: Record<string, Record<string, (request: Request & { params: Record<string, string> }, server: unknown) => Promise<Response>>> }): { port: number };
};

const validator = createValidator({ store: memoryStore() });

const addToCart = validator.route({ writes: ['cart'] }, async (request, session, params: { sku: string }) => {
  const { quantity } = (await request.json()) as { quantity: number };
  session.set('cart', [...((session.get('cart') as unknown[] | undefined) ?? []), { sku: params.sku, quantity }]);
  return Response.json({ cart: session.get('cart') });
});
const showCart = validator.route({ reads: ['cart'] }, async (_request, session, server: unknown) =>
  Response.json({ cart: session.get('cart') ?? [], server: typeof server === 'object' && server !== null && 'upgrade' in server }),
);

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  routes: {
    '/api/cart/:sku': { POST: (request) => addToCart(request, request.params as { sku: string }) },
    '/api/cart': { GET: (request, bunServer) => showCart(request, bunServer) },
  },
});
console.log(JSON.stringify({ port: server.port }));
