/**
 * Tabs in one Node process, for the cross-tab parts' unit tests: a Web Locks
 * manager shared by every tab (FIFO per name, shared and exclusive modes,
 * ifAvailable, signal, query) that can close a tab — releasing what it holds,
 * as a browser does — and a BroadcastChannel hub that delivers asynchronously
 * to every other tab.
 */
import type { Channel } from '../../src/client/shared-cache.js';

interface Request {
  name: string;
  mode: LockMode;
  tab: string;
  grant: () => void;
}

export function fakeBrowser() {
  let held: Request[] = [];
  let pending: Request[] = [];
  let channels: { tab: string; channel: Channel }[] = [];
  const conflicts = (a: Request, b: Request) => a.name === b.name && (a.mode === 'exclusive' || b.mode === 'exclusive');
  const pump = () => {
    for (const request of [...pending]) {
      const earlier = pending.slice(0, pending.indexOf(request));
      if (held.some((other) => conflicts(request, other)) || earlier.some((other) => other.name === request.name)) continue;
      pending = pending.filter((other) => other !== request);
      held.push(request);
      request.grant();
    }
  };

  function locks(tab: string): LockManager {
    return {
      async query() {
        const info = (request: Request) => ({ name: request.name, mode: request.mode, clientId: request.tab });
        return { held: held.map(info), pending: pending.map(info) };
      },
      request(name: string, ...args: unknown[]): Promise<unknown> {
        const callback = args.pop() as (lock: Lock | null) => unknown;
        const options = (args[0] ?? {}) as LockOptions;
        return new Promise((resolve, reject) => {
          const request: Request = {
            name,
            mode: options.mode ?? 'exclusive',
            tab,
            grant: () => {
              options.signal?.removeEventListener('abort', abort);
              Promise.resolve()
                .then(() => callback({ name, mode: request.mode }))
                .then(resolve, reject)
                .finally(() => {
                  held = held.filter((other) => other !== request);
                  pump();
                });
            },
          };
          const abort = () => {
            pending = pending.filter((other) => other !== request);
            reject(options.signal!.reason);
          };
          if (options.signal?.aborted) return reject(options.signal.reason);
          if (options.ifAvailable && (held.some((other) => conflicts(request, other)) || pending.some((other) => other.name === name))) {
            return void Promise.resolve(callback(null)).then(resolve, reject);
          }
          options.signal?.addEventListener('abort', abort, { once: true });
          pending.push(request);
          pump();
        });
      },
    } as LockManager;
  }

  return {
    locks,
    channel(tab: string): Channel {
      const channel: Channel = {
        onmessage: null,
        postMessage: (data) => {
          for (const other of channels) if (other.channel !== channel) setTimeout(() => other.channel.onmessage?.({ data } as MessageEvent));
        },
      };
      channels.push({ tab, channel });
      return channel;
    },
    /** The tab is gone: its locks are free (its callbacks never settle), it hears nothing more. */
    close(tab: string) {
      held = held.filter((request) => request.tab !== tab);
      pending = pending.filter((request) => request.tab !== tab);
      channels = channels.filter((other) => other.tab !== tab);
      pump();
    },
    held: () => held.map((request) => request.name),
  };
}
