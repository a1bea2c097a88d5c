import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener, type FetchHandler } from '../../src/server/adapters/node.js';

export interface TestServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1, routing by "METHOD /path" (or "/path" for any method). */
export async function startServer(routes: Record<string, FetchHandler>): Promise<TestServer> {
  const dispatch: FetchHandler = (request) => {
    const { pathname } = new URL(request.url);
    const handler = routes[`${request.method} ${pathname}`] ?? routes[pathname];
    return handler ? handler(request) : new Response('not found', { status: 404 });
  };
  const server: Server = createServer(toNodeListener(dispatch));
  // Many concurrent requests in a test: keep connections plentiful and alive.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
