/**
 * gRPC over the HTTP/2 connection of connection.ts (docs/grpc-h2.md): each request stream is served
 * by the direct call paths (../direct-unary.ts, ../direct-bidi.ts) through the recorded handlers of a
 * grpc.Server, the same handlers and layers grpc-js would call. Streams are given to those paths as
 * {@link GrpcStream}s whose header objects are HPACK-encoded here (literals without indexing; the
 * fixed header sets of every answer are encoded once).
 *
 * Compressed requests (grpc-encoding gzip or deflate) are decompressed by the direct paths as grpc-js
 * does; a method not recorded is UNIMPLEMENTED, as in grpc-js.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { status, type Server } from '@grpc/grpc-js';
import { OK_HEADERS, OK_TRAILERS, trailersOnly } from '../direct-call.js';
import { serveDirectBidi } from '../direct-bidi.js';
import { serveDirectUnary } from '../direct-unary.js';
import { GrpcStreamBase, type GrpcStream, type OutHeaders } from '../grpc-stream.js';
import { H2Connection, type H2Stream } from './connection.js';
import { encodeHeaders } from './hpack.js';

export interface GrpcH2Options {
  /** grpc.max_receive_message_length of the grpc.Server (-1: unlimited). */
  readonly maxReceiveBytes: number;
  readonly maxConcurrentStreams: number;
}

/** Serves gRPC on `socket` (bytes already read from it in `head`) until either side closes. */
export function serveGrpcConnection(server: Server, socket: Duplex, o: GrpcH2Options, head?: Buffer): H2Connection {
  // Small frames must leave at once (node:http2 does the same on the sockets it drives).
  if ('setNoDelay' in socket) (socket as Socket).setNoDelay(true);
  const sock = 'remoteAddress' in socket ? (socket as Socket) : undefined;
  const opts = { maxReceiveBytes: o.maxReceiveBytes, paths: 'all' as const };
  return new H2Connection(
    socket,
    {
      maxConcurrentStreams: o.maxConcurrentStreams,
      onStream: (stream, list) => {
        const headers = toIncoming(list);
        const gs = new OwnGrpcStream(stream, sock);
        if (serveDirectUnary(server, gs, headers, opts) || serveDirectBidi(server, gs, headers, opts)) return;
        trailersOnly(gs, { code: status.UNIMPLEMENTED, details: `The server does not implement the method ${String(headers[':path'] ?? '')}` });
        gs.onEnd(() => {});
      },
    },
    head,
  );
}

/** node:http2's shape of request headers: repeated names joined with ", " (cookie: "; "). */
function toIncoming(list: readonly string[]): IncomingHttpHeaders {
  const h: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const prev = h[name];
    h[name] = prev === undefined ? value : `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return h;
}

/** The HPACK block of a header object (pseudo-headers first, RFC 9113 §8.3; repeated values as repeated fields). */
function encode(headers: OutHeaders): Buffer {
  const list: [string, string][] = [];
  for (const pseudo of [true, false]) {
    for (const [name, v] of Object.entries(headers)) {
      if (name.startsWith(':') !== pseudo || v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) list.push([name.toLowerCase(), String(one)]);
      else list.push([name.toLowerCase(), String(v)]);
    }
  }
  return encodeHeaders(list);
}

/** The header sets every answer of the direct paths uses, encoded once. */
const FIXED = new Map<OutHeaders, Buffer>([
  [OK_HEADERS, encode(OK_HEADERS)],
  [OK_TRAILERS, encode(OK_TRAILERS)],
]);

function headerBlock(headers: OutHeaders): Buffer {
  return FIXED.get(headers) ?? encode(headers);
}

/**
 * A GrpcStream over one of this server's streams. A class, not an object literal with getters: each
 * literal's accessors are new closures, which kept V8's inline caches at every call site missing
 * (A/B in docs/benchmarks.md, session 8).
 */
class OwnGrpcStream extends GrpcStreamBase<H2Stream> implements GrpcStream {
  readonly socket: Socket | undefined;

  constructor(s: H2Stream, socket: Socket | undefined) {
    super(s);
    this.socket = socket;
  }

  get headersSent(): boolean {
    return this.s.headersSent;
  }
  get gone(): boolean {
    return this.s.closed;
  }
  respondAll(headers: OutHeaders, data: Buffer, trailers: OutHeaders): void {
    this.s.respond(headerBlock(headers));
    this.s.write(data);
    this.s.end(headerBlock(trailers));
  }
  sendHeaders(headers: OutHeaders): void {
    this.s.respond(headerBlock(headers));
  }
  write(data: Buffer, cb: (err?: Error | null) => void): void {
    if (this.s.closed) return void cb(new Error('stream closed'));
    this.s.write(data, cb);
  }
  endWithTrailers(trailers: OutHeaders, sent?: () => void): void {
    this.s.end(headerBlock(trailers), sent);
  }
  trailersOnly(headers: OutHeaders): void {
    this.s.respond(headerBlock(headers), true);
  }
}
