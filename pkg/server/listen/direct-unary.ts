/**
 * A direct HTTP/2 path for the hot unary gRPC methods (the KV service): the stream is answered here
 * instead of by grpc-js's call machinery, calling the same recorded handler the JSON gateway calls
 * (gateway/unary-registry.ts: metrics observers, learner gate, auth gate and the service, in that
 * order) with the method's own (de)serializers (byte counting included).
 *
 * Why: profiles of put/range load showed grpc-js's per-call work (channelz, interceptor objects,
 * metadata conversions) as a large share of the event loop, and its unary response takes three
 * event-loop turns (headers + message; then, from the write callback, end(); then, from
 * 'wantTrailers', the trailers). Here the headers, the message and the trailers are handed to HTTP/2
 * in one turn. Measured numbers are in docs/benchmarks.md ("Session 5 changes").
 *
 * What a client sees is what grpc-js sends, by construction and by test
 * (test/server/listen/direct-unary.test.ts runs every case against both paths):
 * - OK: headers `:status 200`, `content-type application/grpc+proto`, `grpc-accept-encoding
 *   identity,deflate,gzip`, `grpc-encoding identity`; one length-prefixed message; trailers
 *   `grpc-status 0`, `grpc-message OK`.
 * - An error: a trailers-only response (`grpc-status`, URI-encoded `grpc-message`, the error's
 *   metadata); the handler's ServiceError maps as grpc-js's serverErrorToStatus does.
 * - `grpc-timeout`: DEADLINE_EXCEEDED "Deadline exceeded" at the deadline (the call is cancelled);
 *   an unparsable value: INTERNAL `Invalid grpc-timeout value "<v>"`.
 * - A message above the receive limit: RESOURCE_EXHAUSTED `Received message larger than max (<n> vs
 *   <max>)`; no message: UNIMPLEMENTED `Received no request message for server streaming method
 *   <path>`; two: `Received a second request message for server streaming method <path>`; bytes that
 *   do not decode: INTERNAL "Error deserializing request"; a throwing handler: UNKNOWN "Unknown error".
 * - The client resetting the stream cancels the call (`cancelled` true, 'cancelled' emitted).
 * - A message with the compressed flag is inflated per `grpc-encoding` as grpc-js does (gzip, deflate;
 *   direct-call.ts messageBytes).
 * Streams this path does not take (other methods, a method not recorded) go to grpc-js untouched.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status, type Server, type ServiceError } from '@grpc/grpc-js';
import { recordedUnary } from '../gateway/unary-registry.js';
import {
  DEADLINE_EXCEEDED,
  OK_HEADERS,
  OK_TRAILERS,
  badTimeout,
  callMetadata,
  directPath,
  messageBytes,
  requestEncoding,
  statusOfError,
  timeoutMs,
  tooLarge,
  trailersOnly,
  CallView,
  type CallStatus,
  type DirectOptions,
} from './direct-call.js';
import { nodeGrpcStream, type GrpcStream } from './grpc-stream.js';

/** The KV service's methods: the ones under load. */
export const DIRECT_UNARY_PATHS: ReadonlySet<string> = new Set([
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/DeleteRange',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.KV/Compact',
]);

export type DirectUnaryOptions = DirectOptions;

/**
 * Takes `stream` when its method is one of the direct paths and is recorded on `server`; returns
 * false (touching nothing) otherwise, so the caller hands it to grpc-js.
 */
export function serveDirectUnary(server: Server, stream: ServerHttp2Stream | GrpcStream, headers: IncomingHttpHeaders, o: DirectUnaryOptions): boolean {
  const path = directPath(headers, o, DIRECT_UNARY_PATHS);
  if (path === undefined) return false;
  const rec = recordedUnary(server, path);
  if (rec === undefined) return false;
  new DirectCall('respond' in stream ? nodeGrpcStream(stream) : stream, headers, path, rec, o.maxReceiveBytes).start();
  return true;
}

type Recorded = NonNullable<ReturnType<typeof recordedUnary>>;

/** The call object handlers see: the part of grpc-js's ServerUnaryCall that berth's layers use. */
class UnaryCallView extends CallView {
  request: unknown = undefined;
  sendMetadata(): void {}
}

class DirectCall {
  deadline = Infinity;
  readonly host: string;
  #timer: NodeJS.Timeout | undefined;
  #done = false;
  #chunks: Buffer[] = [];
  #size = 0;
  /** Offset of the next message's length prefix not yet checked against the limit. */
  #nextPrefix = 0;
  readonly #view: UnaryCallView;
  readonly #encoding: string;

  constructor(
    readonly stream: GrpcStream,
    headers: IncomingHttpHeaders,
    readonly path: string,
    readonly rec: Recorded,
    readonly max: number,
  ) {
    this.host = headers[':authority'] ?? headers.host ?? '';
    this.#encoding = requestEncoding(headers);
    this.#view = new UnaryCallView(callMetadata(headers), this);
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') this.#deadline(timeout);
  }

  start(): void {
    const s = this.stream;
    s.onClose(() => {
      if (!this.#done) this.#cancel();
    });
    if (this.#done) return;
    s.onData((d: Buffer) => this.#data(d));
    s.onEnd(() => this.#end());
  }

  #deadline(value: string): void {
    const ms = timeoutMs(value);
    if (ms === undefined) {
      this.#fail(badTimeout(value));
      return;
    }
    this.deadline = Date.now() + ms;
    this.#timer = setTimeout(() => {
      this.#fail(DEADLINE_EXCEEDED);
      this.#cancel();
    }, ms);
  }

  #data(d: Buffer): void {
    if (this.#done) return;
    this.#chunks.push(d);
    this.#size += d.length;
    // Each length prefix is checked as soon as it is in, like grpc-js's stream decoder.
    while (this.#size - this.#nextPrefix >= 5) {
      const len = this.#readUInt32(this.#nextPrefix + 1);
      if (this.max !== -1 && len > this.max) {
        this.#fail(tooLarge(len, this.max));
        return;
      }
      this.#nextPrefix += 5 + len;
    }
  }

  /** A big-endian uint32 at `offset` of the bytes received so far, which may span chunks. */
  #readUInt32(offset: number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) v = v * 256 + this.#byteAt(offset + i);
    return v;
  }

  #byteAt(offset: number): number {
    let at = offset;
    for (const c of this.#chunks) {
      if (at < c.length) return c[at] as number;
      at -= c.length;
    }
    throw new RangeError('offset beyond the received bytes');
  }

  #end(): void {
    if (this.#done) return;
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    this.#chunks = [];
    if (all.length < 5 || all.length < 5 + all.readUInt32BE(1)) {
      this.#fail({ code: status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${this.path}` });
      return;
    }
    const len = all.readUInt32BE(1);
    if (all.length >= 5 + len + 5 && all.length >= 10 + len + all.readUInt32BE(len + 6)) {
      this.#fail({ code: status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${this.path}` });
      return;
    }
    const bytes = messageBytes(all[0] as number, all.subarray(5, 5 + len), this.#encoding, this.max);
    if (!Buffer.isBuffer(bytes)) {
      this.#fail(bytes);
      return;
    }
    let request: unknown;
    try {
      request = this.rec.deserialize(bytes);
    } catch {
      this.#fail({ code: status.INTERNAL, details: 'Error deserializing request' });
      return;
    }
    this.#view.request = request;
    try {
      this.rec.handler(this.#view, (err: ServiceError | null, value?: unknown) => this.#respond(err, value));
    } catch {
      this.#fail({ code: status.UNKNOWN, details: 'Unknown error' });
    }
  }

  #respond(err: ServiceError | null | undefined, value: unknown): void {
    if (err !== null && err !== undefined) {
      this.#fail(statusOfError(err));
      return;
    }
    if (this.#finish()) return;
    let payload: Buffer;
    try {
      payload = this.rec.serialize(value);
    } catch {
      trailersOnly(this.stream, { code: status.INTERNAL, details: 'Error serializing response' });
      return;
    }
    const frame = Buffer.allocUnsafe(5 + payload.length);
    frame[0] = 0;
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    this.stream.respondAll(OK_HEADERS, frame, OK_TRAILERS);
  }

  /** Answers with an error status unless already answered or gone. */
  #fail(st: CallStatus): void {
    if (this.#finish()) return;
    trailersOnly(this.stream, st);
  }

  /** Marks the call answered; true when it already was, or when the stream cannot take an answer. */
  #finish(): boolean {
    if (this.#done) return true;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    return this.stream.gone || this.stream.headersSent;
  }

  /** The client went away, or the deadline passed: nothing more is sent; the handler is told. */
  #cancel(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const v = this.#view;
    if (v.cancelled) return;
    v.cancelled = true;
    process.nextTick(() => v.emit('cancelled', 'cancelled'));
  }
}
