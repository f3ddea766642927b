/**
 * gRPC over the HTTP/2 connection of connection.ts (docs/grpc-h2.md): each request stream is served
 * by the direct call paths (../direct-unary.ts, ../direct-bidi.ts) through the recorded handlers of a
 * grpc.Server, the same handlers and layers grpc-js would call. Streams are given to those paths as
 * {@link GrpcStream}s whose header objects are HPACK-encoded here (literals without indexing; the
 * fixed header sets of every answer are encoded once).
 *
 * Not served yet (answered with a status, never silently dropped): server-streaming methods
 * (Maintenance.Snapshot, Election.Observe) — UNIMPLEMENTED; requests compressed with grpc-encoding
 * other than identity — UNIMPLEMENTED, as grpc-js answers an encoding it does not support. Until
 * those are served, a member does not route connections here by default (see docs/grpc-h2.md).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { status, type Server } from '@grpc/grpc-js';
import { OK_HEADERS, OK_TRAILERS, trailersOnly } from '../direct-call.js';
import { serveDirectBidi } from '../direct-bidi.js';
import { serveDirectUnary } from '../direct-unary.js';
import type { GrpcStream, OutHeaders } from '../grpc-stream.js';
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
  return new H2Connection(
    socket,
    {
      maxConcurrentStreams: o.maxConcurrentStreams,
      onStream: (stream, list) => {
        const headers = toIncoming(list);
        const gs = grpcStream(stream, socket);
        const opts = { maxReceiveBytes: o.maxReceiveBytes, paths: 'all' as const };
        if (serveDirectUnary(server, gs, headers, opts) || serveDirectBidi(server, gs, headers, opts)) return;
        const path = String(headers[':path'] ?? '');
        const enc = headers['grpc-encoding'];
        const details =
          enc !== undefined && enc !== 'identity'
            ? `Received message compressed with unsupported encoding "${String(enc)}"`
            : `The server does not implement the method ${path}`;
        trailersOnly(gs, { code: status.UNIMPLEMENTED, details });
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

function grpcStream(s: H2Stream, socket: Duplex): GrpcStream {
  return {
    get socket() {
      return 'remoteAddress' in socket ? (socket as Socket) : undefined;
    },
    get headersSent() {
      return s.headersSent;
    },
    get gone() {
      return s.closed;
    },
    respondAll(headers, data, trailers) {
      s.respond(headerBlock(headers));
      s.write(data);
      s.end(headerBlock(trailers));
    },
    sendHeaders(headers) {
      s.respond(headerBlock(headers));
    },
    write(data, cb) {
      if (s.closed) return void cb(new Error('stream closed'));
      s.write(data, () => cb());
    },
    endWithTrailers(trailers, sent) {
      s.end(headerBlock(trailers), sent);
    },
    trailersOnly(headers) {
      s.respond(headerBlock(headers), true);
    },
    pause: () => s.pause(),
    resume: () => s.resume(),
    isPaused: () => s.isPaused(),
    onData: (fn) => void s.on('data', fn),
    onEnd: (fn) => void s.on('end', fn),
    onClose: (fn) => void s.once('close', fn),
  };
}
