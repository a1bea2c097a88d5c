import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a real server that can cut a connection the way a
 * network does mid-call: `cutReplies(n)` lets the next n requests reach the
 * server (so they are applied) and closes the client's connection instead of
 * passing on each one's reply. The client sees a lost connection and cannot
 * know that its call ran.
 */
export interface CuttingProxy {
  readonly port: number;
  /** Replies cut so far. */
  readonly cut: number;
  cutReplies(count: number): void;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  let toCut = 0;
  let cut = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    // A reply that arrives while a cut is due is dropped, and both sides closed.
    let cutting = false;
    client.on('data', (chunk) => {
      if (toCut > 0 && !cutting) {
        cutting = true;
        toCut -= 1;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (cutting) {
        cut += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get cut() {
      return cut;
    },
    cutReplies(count) {
      toCut = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
