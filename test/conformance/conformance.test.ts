/**
 * Our validator passes every conformance vector, on every store, over real
 * HTTP on 127.0.0.1: the vectors are what another server is proven with, so
 * they must hold for ours first. Also: the runner fails where a server breaks
 * the protocol (a server that drops a header), so a green run means something.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadVectors } from '../../src/race/conformance/load.js';
import { formatConformanceReport, runConformance, runVector } from '../../src/race/conformance/runner.js';
import { describeEachStore } from '../support/each-store.js';
import { startConformanceServer, type ConformanceServer } from './app.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const vectors = loadVectors();

describeEachStore('conformance vectors', (kind) => {
  let server: ConformanceServer;
  beforeAll(async () => {
    server = await startConformanceServer(kind.open());
  });
  afterAll(async () => {
    await server.close();
    await kind.cleanup();
  });

  it(`passes all ${vectors.length} vectors`, async () => {
    const report = await runConformance(vectors, { baseUrl: server.url });
    expect(report.failed, formatConformanceReport(report)).toBe(0);
    expect(report.passed).toBe(vectors.length);
  }, 60_000);
});

it('fails a server that leaves out Session-Versions', async () => {
  const inner = await startConformanceServer((await import('../../src/server/stores/memory.js')).memoryStore());
  // A proxy that drops one header: the vectors that check it must fail.
  const proxy = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== 'host' && name !== 'connection')) as Record<string, string>;
    const answer = await fetch(new URL(request.url!, inner.url), { method: request.method!, headers, body: chunks.length ? Buffer.concat(chunks) : null });
    const outHeaders: [string, string][] = [];
    answer.headers.forEach((value, name) => {
      if (name !== 'session-versions' && name !== 'set-cookie' && name !== 'content-length' && name !== 'content-encoding') outHeaders.push([name, value]);
    });
    for (const cookie of answer.headers.getSetCookie()) outHeaders.push(['set-cookie', cookie]);
    response.writeHead(answer.status, outHeaders.flat());
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const result = await runVector(vectors.find((vector) => vector.id === 'commit-current-base')!, { baseUrl: url });
    expect(result.outcome).toBe('failed');
    expect(result.failures?.join('\n')).toContain('header session-versions');
  } finally {
    proxy.close();
    await inner.close();
  }
});
