/**
 * What the direct-path differential tests (direct-unary.test.ts, direct-bidi.test.ts) share: the
 * three ways one grpc.Server is served (grpc-js alone, the direct paths over node:http2, berth's own
 * HTTP/2 server), gRPC message framing, and the helpers comparing raw answers.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { createInjectorWithHttp } from '../../../pkg/server/listen/h2-http.js';
import { serveGrpcConnection } from '../../../pkg/server/listen/h2/server.js';

export interface Listening {
  readonly port: number;
  readonly net: NetServer;
}

async function listening(net: NetServer): Promise<Listening> {
  net.listen(0, '127.0.0.1');
  await once(net, 'listening');
  return { port: (net.address() as AddressInfo).port, net };
}

/**
 * `server` on node:http2 through the injector; `take` decides per stream (the direct path under test,
 * or a function returning false: grpc-js alone).
 */
export function listenNode(server: grpc.Server, take: (s: ServerHttp2Stream, h: IncomingHttpHeaders) => boolean): Promise<Listening> {
  const http = (_req: unknown, res: { statusCode: number; end(s: string): void }): void => {
    res.statusCode = 404;
    res.end('no');
  };
  const { injector } = createInjectorWithHttp(server, grpc.ServerCredentials.createInsecure(), http as never, take);
  return listening(createNetServer((sock) => injector.injectConnection(sock)));
}

/** `server` through berth's own HTTP/2 server (pkg/server/listen/h2/server.ts). */
export function listenOwn(server: grpc.Server, maxReceiveBytes: number): Promise<Listening> {
  return listening(createNetServer((sock) => void serveGrpcConnection(server, sock, { maxReceiveBytes, maxConcurrentStreams: 1000 })));
}

/** A length-prefixed gRPC message; `declared` overrides the length in the prefix. */
export function frame(msg: string | Buffer, declared?: number): Buffer {
  const b = typeof msg === 'string' ? Buffer.from(msg) : msg;
  const f = Buffer.alloc(5 + b.length);
  f.writeUInt32BE(declared ?? b.length, 1);
  b.copy(f, 5);
  return f;
}

/** A message with the compressed flag, its payload compressed with `encoding` ("garbage": not inflatable). */
export function compressed(msg: string | Buffer, encoding: 'gzip' | 'deflate' | 'garbage'): Buffer {
  const b = typeof msg === 'string' ? Buffer.from(msg) : msg;
  const payload = encoding === 'gzip' ? gzipSync(b) : encoding === 'deflate' ? deflateSync(b) : Buffer.from('not compressed at all');
  const f = frame(payload);
  f[0] = 1;
  return f;
}

/** Headers without `date` (node:http2 adds it; grpc-go and berth's own server do not). */
export function strip(h: IncomingHttpHeaders | undefined): IncomingHttpHeaders | undefined {
  if (h === undefined) return undefined;
  const c = { ...h };
  delete c.date;
  return c;
}

/** What a client stream received. */
export interface Answer {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders | undefined;
}

/**
 * Collects `req`'s response headers, body and trailers until it closes. A stream error rejects with
 * `errors: 'reject'`; with 'ignore' what arrived before it (an RST_STREAM, say) is the answer.
 */
export function collectAnswer(req: ClientHttp2Stream, errors: 'reject' | 'ignore'): Promise<Answer> {
  let headers: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders | undefined;
  const chunks: Buffer[] = [];
  req.on('response', (h) => (headers = h));
  req.on('trailers', (h) => (trailers = h));
  req.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    req.on('error', (err) => {
      if (errors === 'reject') reject(err);
    });
    req.on('close', () => resolve({ headers, body: Buffer.concat(chunks), trailers }));
  });
}

/**
 * A client that resets its call: opens `path` on `port`, sends `body` (half-closed when `end`), resets
 * the stream once the handler has the call (`started()` grew), and waits until the server saw the
 * cancellation (`cancelled()` grew).
 */
export async function resetOnceStarted(port: number, path: string, body: Buffer, end: boolean, started: () => number, cancelled: () => number): Promise<void> {
  const before = cancelled();
  const s0 = started();
  const client = http2.connect(`http://127.0.0.1:${port}`);
  const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  req.on('error', () => {});
  if (end) req.end(body);
  else req.write(body);
  await until(() => started() > s0);
  req.close(http2.constants.NGHTTP2_CANCEL);
  await once(req, 'close');
  client.close();
  await until(() => cancelled() > before);
}

/** Closes the listeners and shuts `server` down. */
export function closeAll(server: grpc.Server, listeners: readonly Listening[]): void {
  for (const l of listeners) l.net.close();
  server.forceShutdown();
}

/** Runs `fn` against each listener in turn, then closes them all and shuts `server` down. */
export async function onEach(server: grpc.Server, listeners: readonly Listening[], fn: (port: number) => Promise<unknown>): Promise<void> {
  try {
    for (const l of listeners) await fn(l.port);
  } finally {
    closeAll(server, listeners);
  }
}

export async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail('condition not reached within 5 s');
    await new Promise((r) => setImmediate(r));
  }
}

/** The serializers of a test method over raw bytes; a request starting with "bad" does not decode. */
export function bytesMethod(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => {
      if (b.toString().startsWith('bad')) throw new Error('cannot decode');
      return Buffer.from(b);
    },
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  };
}
