/**
 * A TCP proxy on 127.0.0.1 that we control, to break connections the way
 * networks do: it cuts a connection as a request goes in (before the commit)
 * or as its answer comes back (after the commit), delays answers, and can cut
 * every connection at once and refuse new ones for a while (a store that
 * flaps). Loopback only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ProxyFaults {
  /** Chance, per chunk from the client, to cut the connection instead of forwarding it. */
  cutRequest?: number;
  /** Chance, per chunk from the server, to cut the connection instead of forwarding it. */
  cutAnswer?: number;
  /** Chance, per chunk from the server, to hold it back for up to `slowMs`. */
  slow?: number;
  slowMs?: number;
}

export interface Proxy {
  readonly port: number;
  readonly faults: { requestCuts: number; answerCuts: number; slowed: number; flaps: number; flapCuts: number };
  /** Until when (ms since the epoch) the last flap refuses connections. */
  readonly downUntil: number;
  /** Cuts every open connection and refuses new ones for `downMs`. */
  flap(downMs: number): void;
  /** The same, as the next answer comes back from the server (dropped): a call that ran, whose caller cannot know it. */
  flapOnNextAnswer(downMs: number): void;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }, faults: ProxyFaults = {}): Promise<Proxy> {
  const open = new Set<Socket>();
  const counts = { requestCuts: 0, answerCuts: 0, slowed: 0, flaps: 0, flapCuts: 0 };
  let downUntil = 0;
  let flapOnAnswer: number | null = null;
  const server: Server = createServer((client) => {
    if (Date.now() < downUntil) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    open.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => (open.delete(client), upstream.destroy()));
    upstream.on('close', () => (open.delete(upstream), client.destroy()));
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('data', (chunk) => {
      if (Math.random() < (faults.cutRequest ?? 0)) {
        counts.requestCuts++;
        return cut();
      }
      upstream.write(chunk);
    });
    // Answers keep their order: a held-back chunk holds back those after it.
    let answers = Promise.resolve();
    upstream.on('data', (chunk) => {
      if (flapOnAnswer !== null) {
        const downMs = flapOnAnswer;
        flapOnAnswer = null;
        return flap(downMs);
      }
      const slow = Math.random() < (faults.slow ?? 0);
      if (slow) counts.slowed++;
      const delay = slow ? Math.random() * (faults.slowMs ?? 50) : 0;
      answers = answers.then(async () => {
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        if (client.destroyed) return;
        if (Math.random() < (faults.cutAnswer ?? 0)) {
          counts.answerCuts++;
          return cut();
        }
        client.write(chunk);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address');
  function flap(downMs: number): void {
    counts.flaps++;
    downUntil = Date.now() + downMs;
    counts.flapCuts += open.size / 2; // a connection is a pair of sockets
    for (const socket of open) socket.destroy();
  }
  return {
    port: address.port,
    faults: counts,
    get downUntil() {
      return downUntil;
    },
    flap,
    flapOnNextAnswer(downMs) {
      flapOnAnswer = downMs;
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
