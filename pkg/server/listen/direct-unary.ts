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
 * Streams this path does not take (other methods, a compressed request, a method not recorded) go to
 * grpc-js untouched.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { TLSSocket } from 'node:tls';
import { Metadata, status, type Server, type ServiceError } from '@grpc/grpc-js';
import { recordedUnary } from '../gateway/unary-registry.js';

/** The KV service's methods: the ones under load. */
export const DIRECT_UNARY_PATHS: ReadonlySet<string> = new Set([
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/DeleteRange',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.KV/Compact',
]);

export interface DirectUnaryOptions {
  /** grpc.max_receive_message_length of the grpc.Server (-1: unlimited). */
  readonly maxReceiveBytes: number;
  readonly paths?: ReadonlySet<string>;
}

const OK_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };
/** Headers grpc-js keeps out of the metadata a handler sees. */
const NOT_METADATA = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];
const DEADLINE = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Takes `stream` when its method is one of the direct paths and is recorded on `server`; returns
 * false (touching nothing) otherwise, so the caller hands it to grpc-js.
 */
export function serveDirectUnary(server: Server, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, o: DirectUnaryOptions): boolean {
  const path = headers[':path'];
  if (typeof path !== 'string' || !(o.paths ?? DIRECT_UNARY_PATHS).has(path)) return false;
  const enc = headers['grpc-encoding'];
  if (enc !== undefined && enc !== 'identity') return false;
  const rec = recordedUnary(server, path);
  if (rec === undefined) return false;
  new DirectCall(stream, headers, path, rec, o.maxReceiveBytes).start();
  return true;
}

type Recorded = NonNullable<ReturnType<typeof recordedUnary>>;

/** The call object handlers see: the part of grpc-js's ServerUnaryCall that berth's layers use. */
class UnaryCallView extends EventEmitter {
  cancelled = false;
  request: unknown = undefined;
  readonly #owner: DirectCall;
  constructor(
    readonly metadata: Metadata,
    owner: DirectCall,
  ) {
    super();
    this.#owner = owner;
  }
  getPeer(): string {
    return this.#owner.peer();
  }
  getDeadline(): number {
    return this.#owner.deadline;
  }
  getPath(): string {
    return this.#owner.path;
  }
  getHost(): string {
    return this.#owner.host;
  }
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: unknown } {
    return this.#owner.authContext();
  }
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

  constructor(
    readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    readonly path: string,
    readonly rec: Recorded,
    readonly max: number,
  ) {
    this.host = headers[':authority'] ?? headers.host ?? '';
    const md = Metadata.fromHttp2Headers(headers);
    for (const h of NOT_METADATA) md.remove(h);
    this.#view = new UnaryCallView(md, this);
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') this.#deadline(timeout);
  }

  start(): void {
    const s = this.stream;
    s.on('error', () => {}); // a reset stream errors; 'close' does the cleanup
    s.once('close', () => {
      if (!this.#done) this.#cancel();
    });
    if (this.#done) return;
    s.on('data', (d: Buffer) => this.#data(d));
    s.on('end', () => this.#end());
  }

  peer(): string {
    const sock = this.stream.session?.socket;
    if (sock?.remoteAddress === undefined) return 'unknown';
    return sock.remotePort !== undefined ? `${sock.remoteAddress}:${String(sock.remotePort)}` : sock.remoteAddress;
  }

  authContext(): { transportSecurityType?: string; sslPeerCertificate?: unknown } {
    const sock = this.stream.session?.socket;
    if (!(sock instanceof TLSSocket) || !sock.authorized) return {};
    const cert = sock.getPeerCertificate();
    return { transportSecurityType: 'ssl', sslPeerCertificate: cert.raw !== undefined ? cert : undefined };
  }

  #deadline(value: string): void {
    const m = DEADLINE.exec(value);
    if (m === null) {
      this.#fail(status.INTERNAL, `Invalid grpc-timeout value "${value}"`);
      return;
    }
    const ms = (Number(m[1]) * (UNIT_MS[m[2] as string] as number)) | 0;
    this.deadline = Date.now() + ms;
    this.#timer = setTimeout(() => {
      this.#fail(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
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
        this.#fail(status.RESOURCE_EXHAUSTED, `Received message larger than max (${String(len)} vs ${String(this.max)})`);
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
      this.#fail(status.UNIMPLEMENTED, `Received no request message for server streaming method ${this.path}`);
      return;
    }
    const len = all.readUInt32BE(1);
    if (all.length >= 5 + len + 5 && all.length >= 10 + len + all.readUInt32BE(len + 6)) {
      this.#fail(status.UNIMPLEMENTED, `Received a second request message for server streaming method ${this.path}`);
      return;
    }
    let request: unknown;
    try {
      request = this.rec.deserialize(all.subarray(5, 5 + len));
    } catch {
      this.#fail(status.INTERNAL, 'Error deserializing request');
      return;
    }
    this.#view.request = request;
    try {
      this.rec.handler(this.#view, (err: ServiceError | null, value?: unknown) => this.#respond(err, value));
    } catch {
      this.#fail(status.UNKNOWN, 'Unknown error');
    }
  }

  #respond(err: ServiceError | null | undefined, value: unknown): void {
    if (err !== null && err !== undefined) {
      const code = typeof err.code === 'number' && Number.isInteger(err.code) ? err.code : status.UNKNOWN;
      const details = code === err.code && typeof err.details === 'string' ? err.details : 'message' in err ? err.message : 'Unknown Error';
      this.#fail(code, details, err.metadata instanceof Metadata ? err.metadata : undefined);
      return;
    }
    if (this.#finish()) return;
    let payload: Buffer;
    try {
      payload = this.rec.serialize(value);
    } catch {
      this.#trailersOnly(status.INTERNAL, 'Error serializing response');
      return;
    }
    const frame = Buffer.allocUnsafe(5 + payload.length);
    frame[0] = 0;
    frame.writeUInt32BE(payload.length, 1);
    payload.copy(frame, 5);
    const s = this.stream;
    s.respond(OK_HEADERS, { waitForTrailers: true });
    s.once('wantTrailers', () => s.sendTrailers(OK_TRAILERS));
    s.end(frame);
  }

  /** Answers with an error status unless already answered or gone. */
  #fail(code: status, details: string, metadata?: Metadata): void {
    if (this.#finish()) return;
    this.#trailersOnly(code, details, metadata);
  }

  #trailersOnly(code: status, details: string, metadata?: Metadata): void {
    this.stream.respond(
      {
        'grpc-status': String(code),
        'grpc-message': encodeURI(details),
        ':status': 200,
        'content-type': 'application/grpc+proto',
        ...(metadata?.toHttp2Headers() ?? {}),
      },
      { endStream: true },
    );
  }

  /** Marks the call answered; true when it already was, or when the stream cannot take an answer. */
  #finish(): boolean {
    if (this.#done) return true;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const s = this.stream;
    return s.destroyed || s.closed || s.headersSent;
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
