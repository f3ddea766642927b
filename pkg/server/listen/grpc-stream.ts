/**
 * The HTTP/2 stream operations the direct gRPC call paths (direct-unary.ts, direct-bidi.ts) use, so
 * the same call code runs over node:http2's ServerHttp2Stream ({@link nodeGrpcStream}) and over the
 * gRPC HTTP/2 server's own streams (h2/grpc-stream.ts). Only what a gRPC answer needs: headers, DATA,
 * trailers (or a trailers-only answer), read-side pause, and the request's data/end/close events.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';

export type OutHeaders = OutgoingHttpHeaders;

export interface GrpcStream {
  /** The connection's socket (peer address, TLS identity); undefined once it is gone. */
  readonly socket: Socket | undefined;
  readonly headersSent: boolean;
  /** Closed or destroyed: nothing more can be sent. */
  readonly gone: boolean;
  /** A whole unary answer in one go: headers, DATA, trailers. */
  respondAll(headers: OutHeaders, data: Buffer, trailers: OutHeaders): void;
  /** Response headers; the stream stays open for DATA and trailers. */
  sendHeaders(headers: OutHeaders): void;
  /** DATA; `cb` runs once it is handed to the connection (with an error if it could not be). */
  write(data: Buffer, cb: (err?: Error | null) => void): void;
  /** Trailers after every DATA written; `sent` runs once they are out. */
  endWithTrailers(trailers: OutHeaders, sent?: () => void): void;
  /** An answer that is only a status (HEADERS with END_STREAM). */
  trailersOnly(headers: OutHeaders): void;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  onData(fn: (chunk: Buffer) => void): void;
  /** The client's END_STREAM. */
  onEnd(fn: () => void): void;
  /** The stream is over (answered, reset, or the connection went away). */
  onClose(fn: () => void): void;
}

/** What both stream kinds (node:http2's and berth's own) offer for the read side of a request. */
interface ReadSide {
  pause(): unknown;
  resume(): unknown;
  isPaused(): boolean;
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  once(event: 'close', fn: () => void): unknown;
}

/** The read-side half of a GrpcStream, delegated to the underlying stream. */
export abstract class GrpcStreamBase<S extends ReadSide> {
  protected readonly s: S;

  constructor(s: S) {
    this.s = s;
  }

  pause(): void {
    this.s.pause();
  }
  resume(): void {
    this.s.resume();
  }
  isPaused(): boolean {
    return this.s.isPaused();
  }
  onData(fn: (chunk: Buffer) => void): void {
    this.s.on('data', fn);
  }
  onEnd(fn: () => void): void {
    this.s.on('end', fn);
  }
  onClose(fn: () => void): void {
    this.s.once('close', fn);
  }
}

/** A GrpcStream over node:http2 (a class: per-instance accessors would defeat V8's inline caches). */
class NodeGrpcStream extends GrpcStreamBase<ServerHttp2Stream> implements GrpcStream {
  constructor(s: ServerHttp2Stream) {
    super(s);
    s.on('error', () => {}); // a reset stream errors; 'close' does the cleanup
  }

  get socket(): Socket | undefined {
    return this.s.session?.socket as Socket | undefined;
  }
  get headersSent(): boolean {
    return this.s.headersSent;
  }
  get gone(): boolean {
    return this.s.destroyed || this.s.closed;
  }
  respondAll(headers: OutHeaders, data: Buffer, trailers: OutHeaders): void {
    const s = this.s;
    s.respond(headers, { waitForTrailers: true });
    s.once('wantTrailers', () => s.sendTrailers(trailers));
    s.end(data);
  }
  sendHeaders(headers: OutHeaders): void {
    this.s.respond(headers, { waitForTrailers: true });
  }
  write(data: Buffer, cb: (err?: Error | null) => void): void {
    this.s.write(data, cb);
  }
  endWithTrailers(trailers: OutHeaders, sent?: () => void): void {
    const s = this.s;
    s.once('wantTrailers', () => {
      s.sendTrailers(trailers);
      sent?.();
    });
    s.end();
  }
  trailersOnly(headers: OutHeaders): void {
    this.s.respond(headers, { endStream: true });
  }
}

/** A GrpcStream over node:http2. */
export function nodeGrpcStream(s: ServerHttp2Stream): GrpcStream {
  return new NodeGrpcStream(s);
}
