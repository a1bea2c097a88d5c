import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toNodeListener, type FetchHandler } from '../../src/server/adapters/node.js';

/** A self-signed certificate for localhost, 127.0.0.1 and *.site.localhost, made by openssl for this run. */
export interface SelfSigned {
  readonly key: string;
  readonly cert: string;
}

export function selfSignedCertificate(): SelfSigned {
  const dir = mkdtempSync(join(tmpdir(), 'sl-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,DNS:*.site.localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface HttpsTestServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A real HTTPS server on 127.0.0.1 (Node's TLS, the Node adapter), routing by "METHOD /path" or "/path". */
export async function startHttpsServer(tls: SelfSigned, routes: Record<string, FetchHandler>, host = '127.0.0.1'): Promise<HttpsTestServer> {
  const dispatch: FetchHandler = (request) => {
    const { pathname } = new URL(request.url);
    const handler = routes[`${request.method} ${pathname}`] ?? routes[pathname];
    return handler ? handler(request) : new Response('not found', { status: 404 });
  };
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, toNodeListener(dispatch));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** One request over TLS, trusting only `tls.cert` (no verification turned off). */
export function httpsFetch(tls: SelfSigned, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const sent = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca: tls.cert }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
        }
        resolve({ status: response.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(init.body);
  });
}
