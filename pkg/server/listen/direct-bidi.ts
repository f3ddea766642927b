/**
 * A direct HTTP/2 path for streaming calls: bidi (over node:http2 by default only the ones that carry
 * many small responses, Watch and LeaseKeepAlive) and server-streaming (every streaming method on
 * berth's own HTTP/2 server, h2/server.ts). The stream is served here instead of by grpc-js's call
 * machinery, through the same recorded handler grpc-js would call (gateway/unary-registry.ts: metrics
 * observers, learner gate, auth gate and the service), with the method's own (de)serializers.
 * A server-streaming handler starts at the client's half-close with its one request message
 * (`call.request`), as in grpc-js; `write` returns false past 16 responses not yet taken and 'drain'
 * follows, as grpc-js's object-mode Writable does.
 *
 * Why: grpc-js writes a stream's responses through a Node Writable whose `_write` completes only when
 * HTTP/2 has sent the message, so one response reaches the socket per event-loop turn, each in its
 * own writev. A revision that concerns 100 watchers of a stream cost 100 turns and 100 syscalls
 * (strace: 5,201 writevs for 50 puts × 100 watchers), ~60 µs each on this VM, and the last watcher
 * waited for all of them. Here every response written in one turn (a revision's fan-out, a burst of
 * keep-alive answers) is framed into one buffer and handed to HTTP/2 in one write, after the turn
 * (process.nextTick). Measured numbers are in docs/benchmarks.md ("Session 8 changes").
 *
 * What a client sees is what grpc-js sends, by construction and by test
 * (test/server/listen/direct-bidi.test.ts runs every case against both paths):
 * - headers (`:status 200`, `content-type`, `grpc-accept-encoding`, `grpc-encoding`, plus any
 *   metadata given to sendMetadata) go with the first response, or alone on sendMetadata;
 * - each response is one length-prefixed message, in write order;
 * - `end(metadata?)` ends with trailers `grpc-status 0`, `grpc-message OK` after every response
 *   written before it; `emit('error', err)` ends the same way with the error's status (grpc-js's
 *   serverErrorToStatus); before any header it is a trailers-only response;
 * - requests: each message is deserialized and emitted as 'data' in order, holding them while the
 *   call is paused or has no 'data' listener yet (a Readable's buffering); the client's half-close
 *   is 'end' once they are delivered; a message above the receive limit: RESOURCE_EXHAUSTED
 *   `Received message larger than max (<n> vs <max>)`; bytes that do not decode: INTERNAL "Error
 *   deserializing request"; a throwing handler: UNKNOWN "Unknown error"; `grpc-timeout` as in
 *   direct-unary.ts;
 * - after the status, or when the client resets the stream, the call is `cancelled` and emits
 *   'cancelled' then 'close' (grpc-js does the same after a normal end too).
 * - A message with the compressed flag is inflated per `grpc-encoding` as grpc-js does (gzip, deflate;
 *   direct-call.ts messageBytes).
 * Streams this path does not take (other methods, a method not recorded) go to grpc-js untouched.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status, type Metadata, type Server } from '@grpc/grpc-js';
import { recordedStream } from '../gateway/unary-registry.js';
import {
  DEADLINE_EXCEEDED,
  OK_HEADERS,
  badTimeout,
  callMetadata,
  directPath,
  messageBytes,
  requestEncoding,
  statusOfError,
  statusTrailers,
  timeoutMs,
  tooLarge,
  trailersOnly,
  CallView,
  type CallStatus,
  type DirectOptions,
} from './direct-call.js';
import { nodeGrpcStream, type GrpcStream } from './grpc-stream.js';

/** The bidi methods whose responses come in bursts. */
export const DIRECT_BIDI_PATHS: ReadonlySet<string> = new Set(['/etcdserverpb.Watch/Watch', '/etcdserverpb.Lease/LeaseKeepAlive']);

export type DirectBidiOptions = DirectOptions;

/**
 * Takes `stream` when its method is one of the direct bidi paths and is recorded on `server`; returns
 * false (touching nothing) otherwise, so the caller hands it on.
 */
export function serveDirectBidi(server: Server, stream: ServerHttp2Stream | GrpcStream, headers: IncomingHttpHeaders, o: DirectBidiOptions): boolean {
  const path = directPath(headers, o, DIRECT_BIDI_PATHS);
  if (path === undefined) return false;
  const rec = recordedStream(server, path);
  if (rec?.type !== 'bidi_stream' && rec?.type !== 'server_stream') return false;
  new BidiCall('respond' in stream ? nodeGrpcStream(stream) : stream, headers, path, rec, o.maxReceiveBytes).start();
  return true;
}

type Recorded = NonNullable<ReturnType<typeof recordedStream>>;
/** A Writable's objectMode highWaterMark (grpc-js's call objects are object-mode streams). */
const HIGH_WATER_MARK = 16;
type WriteCallback = (err?: Error | null) => void;

/**
 * Splits a request byte stream into gRPC messages (5-byte prefix: compressed flag, big-endian
 * length). Each length is checked against the limit as soon as its prefix is in, as grpc-js does.
 */
export class MessageReader {
  readonly #max: number;
  #buf: Buffer = Buffer.alloc(0);

  constructor(maxBytes: number) {
    this.#max = maxBytes;
  }

  /** The messages (flag and payload) completed by `chunk`, or the status that ends the call. */
  push(chunk: Buffer): { readonly flag: number; readonly payload: Buffer }[] | CallStatus {
    let buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: { flag: number; payload: Buffer }[] = [];
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (this.#max !== -1 && len > this.#max) return tooLarge(len, this.#max);
      if (buf.length < 5 + len) break;
      out.push({ flag: buf[0] as number, payload: buf.subarray(5, 5 + len) });
      buf = buf.subarray(5 + len);
    }
    this.#buf = buf;
    return out;
  }
}

/** The call object handlers see: the part of grpc-js's ServerDuplexStream that berth's layers use. */
class BidiCallView extends CallView {
  /** A server-streaming call's one request message (grpc-js's ServerWritableStream.request). */
  request: unknown = undefined;
  readonly #owner: BidiCall;

  constructor(metadata: Metadata, owner: BidiCall) {
    super(metadata, owner);
    this.#owner = owner;
    // Like grpc-js's ServerDuplexStream: an emitted error is the call's final status.
    this.on('error', (err: Error) => owner.end(statusOfError(err)));
    // A Readable starts flowing when a 'data' listener is added, on the next tick.
    this.on('newListener', (event: string) => {
      if (event === 'data') process.nextTick(() => owner.deliver());
    });
  }

  sendMetadata(md?: Metadata): void {
    this.#owner.sendHeaders(md);
  }
  /** False once 16 responses are not yet taken (a Writable's objectMode highWaterMark); 'drain' follows. */
  write(value: unknown, cb?: WriteCallback): boolean {
    return this.#owner.send(value, cb);
  }
  end(trailing?: Metadata): this {
    this.emit('finish');
    this.#owner.end({ code: status.OK, details: 'OK', metadata: trailing });
    return this;
  }
  pause(): this {
    this.#owner.setPaused(true);
    return this;
  }
  resume(): this {
    this.#owner.setPaused(false);
    return this;
  }
  isPaused(): boolean {
    return this.#owner.paused;
  }
}

class BidiCall {
  deadline = Infinity;
  readonly host: string;
  paused = false;
  readonly #view: BidiCallView;
  readonly #reader: MessageReader;
  readonly #max: number;
  readonly #encoding: string;
  #timer: NodeJS.Timeout | undefined;
  /** The status is sent (or the stream is gone): nothing more goes out. */
  #done = false;
  #cancelNotified = false;
  /** Serialized responses not yet handed to HTTP/2, and their writers' callbacks. */
  #out: Buffer[] = [];
  #outBytes = 0;
  #outCallbacks: (WriteCallback | undefined)[] = [];
  #flushQueued = false;
  /** Deserialized requests not yet emitted; `#halfClosed` once the client ended its side. */
  #inbox: unknown[] = [];
  #halfClosed = false;
  #endEmitted = false;
  /** Responses written and not yet taken by HTTP/2; 'drain' is owed after a write returned false. */
  #untaken = 0;
  #needDrain = false;
  /** Server streaming: the handler starts at the client's half-close, with its one request. */
  readonly #serverStream: boolean;
  /** A status is on its way (an unparsable grpc-timeout): nothing is delivered or sent before it. */
  #doomed = false;

  constructor(
    readonly stream: GrpcStream,
    headers: IncomingHttpHeaders,
    readonly path: string,
    readonly rec: Recorded,
    max: number,
  ) {
    this.host = headers[':authority'] ?? headers.host ?? '';
    this.#serverStream = rec.type === 'server_stream';
    this.#reader = new MessageReader(max);
    this.#max = max;
    this.#encoding = requestEncoding(headers);
    this.#view = new BidiCallView(callMetadata(headers), this);
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') {
      const ms = timeoutMs(timeout);
      if (ms === undefined) {
        // grpc-js answers after its constructor; the handler has started by then, but gets no
        // message and sends nothing before the status (messages reach grpc-js handlers later).
        this.#doomed = true;
        process.nextTick(() => this.#sendStatus(badTimeout(timeout)));
      } else {
        this.deadline = Date.now() + ms;
        this.#timer = setTimeout(() => this.#sendStatus(DEADLINE_EXCEEDED), ms);
      }
    }
  }

  start(): void {
    const s = this.stream;
    s.onClose(() => this.#notifyCancel());
    if (!this.#serverStream && !this.#run()) return;
    s.onData((d: Buffer) => this.#data(d));
    s.onEnd(() => {
      this.#halfClosed = true;
      if (this.#serverStream) this.#startServerStream();
      else this.deliver();
    });
  }

  /** Calls the handler; false (with UNKNOWN sent) when it throws. */
  #run(): boolean {
    try {
      this.rec.handler(this.#view);
      return true;
    } catch {
      this.#sendStatus({ code: status.UNKNOWN, details: 'Unknown error' });
      return false;
    }
  }

  /** grpc-js's server streaming: exactly one request message, then the handler. */
  #startServerStream(): void {
    if (this.#done || this.#doomed) return;
    if (this.#inbox.length === 0) {
      this.#sendStatus({ code: status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${this.path}` });
      return;
    }
    this.#view.request = this.#inbox.shift();
    this.#run();
  }

  sendHeaders(md?: Metadata): void {
    const s = this.stream;
    if (this.#done || s.headersSent || s.gone) return;
    s.sendHeaders(md === undefined ? OK_HEADERS : { ...OK_HEADERS, ...md.toHttp2Headers() });
  }

  send(value: unknown, cb: WriteCallback | undefined): boolean {
    if (this.#done || this.#doomed) return false; // like grpc-js on a cancelled call: dropped, the callback never runs
    let payload: Buffer;
    try {
      payload = this.rec.serialize(value);
    } catch {
      this.#sendStatus({ code: status.INTERNAL, details: 'Error serializing response' });
      return false;
    }
    this.#out.push(payload);
    this.#outBytes += 5 + payload.length;
    this.#outCallbacks.push(cb);
    this.#untaken++;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(() => this.#flush());
    }
    if (this.#untaken < HIGH_WATER_MARK) return true;
    this.#needDrain = true;
    return false;
  }

  /** One response taken by HTTP/2: 'drain' once all are, after a write returned false. */
  #taken(): void {
    this.#untaken--;
    if (this.#untaken > 0 || !this.#needDrain || this.#done) return;
    this.#needDrain = false;
    this.#view.emit('drain');
  }

  /** Every response written so far, framed into one buffer, in one HTTP/2 write. */
  #flush(): void {
    this.#flushQueued = false;
    if (this.#out.length === 0 || this.#done) return;
    const out = Buffer.allocUnsafe(this.#outBytes);
    let at = 0;
    for (const p of this.#out) {
      out[at] = 0;
      out.writeUInt32BE(p.length, at + 1);
      p.copy(out, at + 5);
      at += 5 + p.length;
    }
    const callbacks = this.#outCallbacks;
    this.#out = [];
    this.#outBytes = 0;
    this.#outCallbacks = [];
    this.sendHeaders();
    this.stream.write(out, (err?: Error | null) => {
      if (err !== null && err !== undefined) {
        this.#sendStatus({ code: status.INTERNAL, details: 'Internal server error' });
        return;
      }
      for (const cb of callbacks) {
        this.#taken();
        cb?.();
      }
    });
  }

  /** The handler ended the call (end() or an emitted error): after the responses written before. */
  end(st: CallStatus): void {
    this.#sendStatus(st);
  }

  #sendStatus(st: CallStatus): void {
    if (this.#done) return;
    const s = this.stream;
    if (s.gone) {
      this.#notifyCancel();
      return;
    }
    this.#flush();
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (s.headersSent) {
      s.endWithTrailers(statusTrailers(st), () => this.#notifyCancel());
    } else {
      trailersOnly(s, st);
      this.#notifyCancel();
    }
  }

  /** Once: the call is over for the handler ('cancelled', then 'close'), as grpc-js's onCancel. */
  #notifyCancel(): void {
    if (this.#cancelNotified) return;
    this.#cancelNotified = true;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#inbox = [];
    const v = this.#view;
    process.nextTick(() => {
      v.cancelled = true;
      v.emit('cancelled', 'cancelled');
      v.emit('close');
    });
  }

  #data(chunk: Buffer): void {
    if (this.#done) return;
    const got = this.#reader.push(chunk);
    if (!Array.isArray(got)) {
      this.#sendStatus(got);
      return;
    }
    for (const m of got) {
      const bytes = messageBytes(m.flag, m.payload, this.#encoding, this.#max);
      if (!Buffer.isBuffer(bytes)) {
        this.deliver();
        this.#sendStatus(bytes);
        return;
      }
      let msg: unknown;
      try {
        msg = this.rec.deserialize(bytes);
      } catch {
        this.deliver();
        this.#sendStatus({ code: status.INTERNAL, details: 'Error deserializing request' });
        return;
      }
      if (this.#serverStream && this.#inbox.length > 0) {
        this.#sendStatus({ code: status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${this.path}` });
        return;
      }
      this.#inbox.push(msg);
    }
    if (!this.#serverStream) this.deliver();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.deliver();
  }

  /** Emits held requests while the handler reads them; holds the client back otherwise. */
  deliver(): void {
    if (this.#doomed) return;
    const v = this.#view;
    while (this.#inbox.length > 0 && !this.paused && !this.#done && v.listenerCount('data') > 0) {
      v.emit('data', this.#inbox.shift());
    }
    if (this.#done) return;
    const holding = this.#inbox.length > 0 || this.paused;
    if (holding) {
      if (!this.stream.isPaused()) this.stream.pause();
      return;
    }
    if (this.stream.isPaused()) this.stream.resume();
    if (this.#halfClosed && !this.#endEmitted) {
      this.#endEmitted = true;
      v.emit('end');
    }
  }
}
