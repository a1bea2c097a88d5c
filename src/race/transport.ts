import { Agent, request as http1Request } from 'node:http';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { WireRequest } from './template.js';

/** What the Node driver keeps of an answer. */
export interface WireAnswer {
  readonly status: number;
  readonly setCookies: readonly string[];
  readonly body: string;
}

/** One HTTP client: one keep-alive connection (HTTP/1.1) or one HTTP/2 session, reused for every request. */
export interface Transport {
  send(request: WireRequest, signal: AbortSignal): Promise<WireAnswer>;
  close(): void;
}

export type TransportKind = 'http1' | 'http2';

function setCookiesOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Keep-alive HTTP/1.1, one socket: this client's requests go one after another on one connection, as a tab's would. */
export function http1Transport(target: string): Transport {
  const secure = new URL(target).protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new Agent({ keepAlive: true, maxSockets: 1 });
  const send = secure ? httpsRequest : http1Request;
  return {
    send: (wire, signal) =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...wire.headers };
        if (wire.body !== undefined) headers['content-length'] = String(Buffer.byteLength(wire.body));
        const outgoing = send(wire.url, { method: wire.method, headers, agent, signal }, (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, setCookies: setCookiesOf(incoming.headers['set-cookie']), body: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', reject);
        });
        outgoing.on('error', reject);
        outgoing.end(wire.body);
      }),
    close: () => agent.destroy(),
  };
}

/** HTTP/2 (h2c over http:, h2 over https:): one session, requests multiplexed on it. */
export function http2Transport(target: string): Transport {
  let session: ClientHttp2Session | undefined;
  const open = () => {
    if (session === undefined || session.closed || session.destroyed) {
      session = connect(new URL(target).origin);
      session.on('error', () => {}); // each stream reports its own failure
    }
    return session;
  };
  return {
    send: (wire, signal) =>
      new Promise((resolve, reject) => {
        const url = new URL(wire.url);
        const stream = open().request(
          { ...wire.headers, [constants.HTTP2_HEADER_METHOD]: wire.method, [constants.HTTP2_HEADER_PATH]: `${url.pathname}${url.search}` },
          { signal },
        );
        let status = 0;
        let setCookies: string[] = [];
        const chunks: Buffer[] = [];
        stream.on('response', (headers) => {
          status = Number(headers[constants.HTTP2_HEADER_STATUS]);
          setCookies = setCookiesOf(headers['set-cookie']);
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve({ status, setCookies, body: Buffer.concat(chunks).toString('utf8') }));
        stream.on('error', reject);
        stream.end(wire.body);
      }),
    close: () => session?.close(),
  };
}

export function createTransport(kind: TransportKind, target: string): Transport {
  return kind === 'http2' ? http2Transport(target) : http1Transport(target);
}
