/**
 * The Deno recipe of docs/frameworks.md, run by real Deno (test/server/runtimes.test.ts):
 * Deno.serve's `info` is the route's context. Prints {"port": N} once it listens.
 */
import { createValidator, memoryStore } from '../../src/server/index.js';

interface ServeHandlerInfo {
  remoteAddr: { hostname: string; port: number; transport: string };
}
declare const Deno: {
  serve(options: { port: number; hostname: string; onListen(address: { port: number }): void }, handler: (request: Request, info: ServeHandlerInfo) => Promise<Response>): unknown;
};

const validator = createValidator({ store: memoryStore(), sessionId: (request, info: ServeHandlerInfo) => request.headers.get('x-user') ?? `visitor@${info.remoteAddr.hostname}` });

const addToCart = validator.route({ writes: ['cart'] }, async (_request, session, info: ServeHandlerInfo, sku: string) => {
  session.set('cart', [...((session.get('cart') as string[] | undefined) ?? []), sku]);
  return Response.json({ cart: session.get('cart'), from: info.remoteAddr.hostname });
});
const pattern = new URLPattern({ pathname: '/api/cart/:sku' });

Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(JSON.stringify({ port })) }, (request, info) => {
  const match = pattern.exec(request.url);
  return match && request.method === 'POST' ? addToCart(request, info, match.pathname.groups.sku!) : Promise.resolve(new Response('not found', { status: 404 }));
});
