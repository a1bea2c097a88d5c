import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

/**
 * Private, disposable Redis and PostgreSQL servers on free ports, for tests
 * that stop or break a server. The shared servers on 6379 and 5432 are used
 * by other test files at the same time: never touch them here.
 */

const run = promisify(execFile);
const PG_BIN = process.env.SESSION_LANES_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** A client of the test's own, for setup and checks. */
  readonly admin: Redis;
  stop(): Promise<void>;
}

/** Starts `redis-server` in the foreground as our child process, with extra arguments. */
export async function startRedis(extra: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sl-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'redis.log'), ...extra],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: true });
  admin.on('error', () => {});
  await until(`redis-server on port ${port}`, async () => (await admin.ping()) === 'PONG');
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    admin,
    async stop() {
      admin.disconnect();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivatePostgres {
  readonly port: number;
  readonly url: string;
  /** pg_ctl stop -m immediate: the server goes away at once, like a crash. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and deletes it. */
  destroy(): Promise<void>;
}

/** A throwaway PostgreSQL cluster (initdb, trust auth), run as the `postgres` user: it refuses to run as root. */
export async function startPostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sl-pg-'));
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) chownSync(dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
  const data = join(dir, 'data');
  const exec = (binary: string, args: string[]) =>
    asPostgres ? run('su', ['postgres', '-s', '/bin/sh', '-c', [join(PG_BIN, binary), ...args].map(shellQuote).join(' ')]) : run(join(PG_BIN, binary), args);
  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = async () => {
    await exec('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', options, 'start']);
  };
  const stop = async (mode: 'immediate' | 'fast') => {
    await exec('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  };
  await start();
  let running = true;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async crash() {
      await stop('immediate');
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      if (running) await stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export { until };

export interface PrivateRedisCluster {
  /** The nodes, each a master holding a third of the 16384 slots. */
  readonly nodes: readonly PrivateRedis[];
  /** `{ host, port }` of every node, as ioredis's `Cluster` takes them. */
  readonly startupNodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** A throwaway Redis Cluster of `size` masters (no replicas), made with `redis-cli --cluster create`. */
export async function startRedisCluster(size = 3): Promise<PrivateRedisCluster> {
  const nodes = await Promise.all(Array.from({ length: size }, () => startRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '5000'])));
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const node of nodes) {
      await until(`cluster state ok on port ${node.port}`, async () => /cluster_state:ok/.test(String(await node.admin.call('CLUSTER', 'INFO'))), 20_000);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), stop };
}
