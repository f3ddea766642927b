/**
 * The server side of one HTTP/2 connection (RFC 9113) carrying gRPC, on any Duplex byte stream (a
 * net.Socket, a TLSSocket after ALPN "h2"). See docs/grpc-h2.md for why it exists.
 *
 * It owns: the preface and SETTINGS exchange, PING answers, GOAWAY both ways, stream states and
 * RST_STREAM, header blocks (HEADERS + CONTINUATION, HPACK-decoded in order so the dynamic table stays
 * in step even for refused streams), flow control in both directions, and output batching: every
 * frame produced while handling input or within one turn of the event loop leaves in one write.
 *
 * Invariants:
 * - DATA sent never exceeds the peer's connection and stream windows nor its SETTINGS_MAX_FRAME_SIZE;
 *   data that does not fit waits, per stream in order, for WINDOW_UPDATE (or a larger initial window).
 * - Received DATA is charged to our windows (padding included); the connection window is replenished
 *   as data is received, a stream's as its reader takes it (a paused stream stops its client).
 * - A connection error sends GOAWAY with the code and closes; a stream error sends RST_STREAM. Neither
 *   throws out of this module.
 *
 * Tested in test/server/listen/h2/connection.test.ts with node:http2's client as the peer and with
 * hand-made frames for the error cases.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  FRAME_HEADER,
  Flag,
  FrameType,
  H2Error,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  PREFACE,
  Setting,
  frame,
  goawayFrame,
  headerFrames,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames.js';
import { HpackDecoder, HpackError } from './hpack.js';

export interface H2ConnectionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise and enforce (REFUSED_STREAM beyond). */
  readonly maxConcurrentStreams: number;
  /** Our receive window per stream (SETTINGS_INITIAL_WINDOW_SIZE) and for the connection. */
  readonly streamWindow?: number;
  readonly connectionWindow?: number;
  /** Largest header block accepted (decoded size is bounded by it too); beyond: the connection ends. */
  readonly maxHeaderBlock?: number;
  /** A new request stream: headers as [name, value, ...]. */
  readonly onStream: (stream: H2Stream, headers: readonly string[]) => void;
}

class ConnectionError extends Error {
  constructor(
    readonly code: H2Error,
    message: string,
  ) {
    super(message);
  }
}

class StreamError extends Error {
  constructor(
    readonly stream: number,
    readonly code: H2Error,
    message: string,
  ) {
    super(message);
  }
}

type WriteCallback = () => void;

/**
 * One request stream. Events: 'data' (Buffer), 'end' (the client's END_STREAM), 'close' (the stream
 * is over: both sides ended, reset by either side, or the connection went away; `rstCode` says which).
 */
export class H2Stream extends EventEmitter {
  readonly id: number;
  /** Our send window for this stream (may go negative after a SETTINGS change). */
  sendWindow: number;
  headersSent = false;
  /** We sent END_STREAM (or reset). */
  localEnded = false;
  /** The client sent END_STREAM (or reset). */
  remoteEnded = false;
  closed = false;
  rstCode: H2Error | undefined;
  readonly #conn: H2Connection;
  /** DATA waiting for window, then the trailers (if any) to send after it. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingCallbacks: { readonly upTo: number; readonly cb: WriteCallback }[] = [];
  #sentBytes = 0;
  #trailers: Buffer | undefined;
  #trailersSent: WriteCallback | undefined;
  #paused = false;
  /** Received bytes not yet given back to the client as stream window. */
  #unacked = 0;

  constructor(id: number, conn: H2Connection, sendWindow: number) {
    super();
    this.id = id;
    this.#conn = conn;
    this.sendWindow = sendWindow;
  }

  get session(): H2Connection {
    return this.#conn;
  }

  /** Sends a response header block (HPACK-encoded); `endStream` makes it a trailers-only response. */
  respond(block: Buffer, endStream = false): void {
    if (this.localEnded || this.headersSent) return;
    this.headersSent = true;
    this.#conn.push(headerFrames(this.id, block, endStream, this.#conn.peerMaxFrame));
    if (endStream) this.#localEnd();
  }

  /** Queues DATA; `cb` runs once all of it has been handed to the socket. */
  write(data: Buffer, cb?: WriteCallback): void {
    if (this.localEnded || this.#trailers !== undefined) return;
    if (data.length > 0) {
      this.#pending.push(data);
      this.#pendingBytes += data.length;
    }
    if (cb !== undefined) this.#pendingCallbacks.push({ upTo: this.#sentBytes + this.#pendingBytes, cb });
    this.#conn.wantSend(this);
  }

  /** Ends our side with a trailer block after the queued DATA; `cb` runs once it is handed to the socket. */
  end(trailerBlock: Buffer, cb?: WriteCallback): void {
    if (this.localEnded || this.#trailers !== undefined) return;
    this.#trailers = trailerBlock;
    this.#trailersSent = cb;
    this.#conn.wantSend(this);
  }

  /** Stops (pause) or restarts giving the client stream window as data is read. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#replenish();
  }

  isPaused(): boolean {
    return this.#paused;
  }

  /** RST_STREAM from our side. */
  reset(code: H2Error = H2Error.CANCEL): void {
    if (this.closed) return;
    this.#conn.push(rstStreamFrame(this.id, code));
    this.close(code);
  }

  // ---- for H2Connection ----

  get hasOutput(): boolean {
    return this.#pendingBytes > 0 || this.#pendingCallbacks.length > 0 || this.#trailers !== undefined;
  }

  /** Moves as much queued output as the windows allow into the connection's output. */
  flushInto(conn: H2Connection): void {
    while (this.#pendingBytes > 0) {
      const room = Math.min(this.sendWindow, conn.sendWindow, conn.peerMaxFrame, this.#pendingBytes);
      if (room <= 0) break;
      const out = Buffer.allocUnsafe(FRAME_HEADER + room);
      writeFrameHeader(out, 0, room, FrameType.DATA, 0, this.id);
      let at = FRAME_HEADER;
      while (at < out.length) {
        const head = this.#pending[0] as Buffer;
        const n = Math.min(head.length, out.length - at);
        head.copy(out, at, 0, n);
        at += n;
        if (n === head.length) this.#pending.shift();
        else this.#pending[0] = head.subarray(n);
      }
      this.#pendingBytes -= room;
      this.#sentBytes += room;
      this.sendWindow -= room;
      conn.sendWindow -= room;
      conn.push(out);
    }
    while (this.#pendingCallbacks.length > 0 && (this.#pendingCallbacks[0] as { upTo: number }).upTo <= this.#sentBytes) {
      conn.afterWrite((this.#pendingCallbacks.shift() as { cb: WriteCallback }).cb);
    }
    if (this.#pendingBytes === 0 && this.#trailers !== undefined && !this.localEnded) {
      conn.push(headerFrames(this.id, this.#trailers, true, conn.peerMaxFrame));
      this.#trailers = undefined;
      if (this.#trailersSent !== undefined) conn.afterWrite(this.#trailersSent);
      this.#trailersSent = undefined;
      this.#localEnd();
    }
  }

  received(data: Buffer, charged: number, endStream: boolean): void {
    this.#unacked += charged;
    if (data.length > 0) this.emit('data', data);
    if (!this.#paused) this.#replenish();
    if (endStream) this.#remoteEnd();
  }

  remoteEnd(): void {
    this.#remoteEnd();
  }

  close(code?: H2Error): void {
    if (this.closed) return;
    this.closed = true;
    this.rstCode = code;
    this.localEnded = true;
    this.remoteEnded = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingCallbacks = [];
    this.#trailers = undefined;
    this.#conn.forget(this);
    this.emit('close');
  }

  #replenish(): void {
    // A window update per read would double the frames; give back once half the window is used.
    if (this.remoteEnded || this.#unacked < this.#conn.streamWindow / 2) return;
    this.#conn.push(windowUpdateFrame(this.id, this.#unacked));
    this.#unacked = 0;
  }

  #localEnd(): void {
    this.localEnded = true;
    if (this.remoteEnded) this.close(H2Error.NO_ERROR);
  }

  #remoteEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    this.emit('end');
    if (this.localEnded) this.close(H2Error.NO_ERROR);
  }
}

export class H2Connection extends EventEmitter {
  readonly socket: Duplex;
  readonly streamWindow: number;
  /** Our send window for the connection. */
  sendWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME;
  #peerInitialWindow = DEFAULT_WINDOW;
  readonly #o: H2ConnectionOptions;
  readonly #connectionWindow: number;
  readonly #maxHeaderBlock: number;
  readonly #hpack = new HpackDecoder(4096);
  readonly #streams = new Map<number, H2Stream>();
  #lastStream = 0;
  #input: Buffer = Buffer.alloc(0);
  #prefaceSeen = false;
  #settingsSeen = false;
  /** A header block being assembled: its stream, END_STREAM flag and fragments. */
  #block: { stream: number; endStream: boolean; parts: Buffer[]; size: number } | undefined;
  #connUnacked = 0;
  #out: Buffer[] = [];
  #afterWrite: WriteCallback[] = [];
  #flushQueued = false;
  /** A setImmediate flush for lazy frames is queued (pushLazy). */
  #lazyQueued = false;
  #sending = new Set<H2Stream>();
  #goaway = false;
  #endAfterFlush = false;
  #closed = false;

  constructor(socket: Duplex, o: H2ConnectionOptions, head?: Buffer) {
    super();
    this.socket = socket;
    this.#o = o;
    this.streamWindow = o.streamWindow ?? 1 << 20;
    this.#connectionWindow = o.connectionWindow ?? 16 << 20;
    this.#maxHeaderBlock = o.maxHeaderBlock ?? 1 << 20;
    this.push(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, Math.min(o.maxConcurrentStreams, MAX_WINDOW)],
        [Setting.INITIAL_WINDOW_SIZE, this.streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, this.#maxHeaderBlock],
      ]),
    );
    if (this.#connectionWindow > DEFAULT_WINDOW) this.push(windowUpdateFrame(0, this.#connectionWindow - DEFAULT_WINDOW));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => this.destroy());
    if (head !== undefined && head.length > 0) this.#onData(head);
    socket.resume(); // a socket handed over paused (after sniffing) flows again
  }

  get closed(): boolean {
    return this.#closed;
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Graceful close: GOAWAY, no new streams; the socket ends once the open streams are over. */
  close(): void {
    if (this.#closed || this.#goaway) return;
    this.#goaway = true;
    this.push(goawayFrame(this.#lastStream, H2Error.NO_ERROR));
    this.#maybeEnd();
  }

  /** Ends every stream and the socket now. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams.values()]) s.close(H2Error.CANCEL);
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close');
  }

  // ---- output ----

  push(bytes: Buffer): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    this.#scheduleFlush();
  }

  /**
   * Queues a frame nobody waits on at once (a PING ACK, a connection WINDOW_UPDATE): it leaves with the
   * next flush, at the latest at the end of this event-loop turn (setImmediate). A request read
   * together with a PING then reaches raft and the engine before the socket write of the ACK.
   */
  pushLazy(bytes: Buffer): void {
    if (this.#closed) return;
    this.#out.push(bytes);
    if (this.#flushQueued || this.#lazyQueued) return;
    this.#lazyQueued = true;
    setImmediate(() => {
      this.#lazyQueued = false;
      if (!this.#flushQueued && this.#out.length > 0) this.#flush();
    });
  }

  afterWrite(cb: WriteCallback): void {
    this.#afterWrite.push(cb);
    this.#scheduleFlush();
  }

  wantSend(s: H2Stream): void {
    this.#sending.add(s);
    this.#scheduleFlush();
  }

  forget(s: H2Stream): void {
    this.#streams.delete(s.id);
    this.#sending.delete(s);
    this.#maybeEnd();
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    process.nextTick(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#closed) return;
    for (const s of this.#sending) {
      s.flushInto(this);
      if (!s.hasOutput || s.closed) this.#sending.delete(s);
    }
    if (this.#out.length === 0 && this.#afterWrite.length === 0) return this.#endIfDone();
    const out = this.#out.length === 1 ? (this.#out[0] as Buffer) : Buffer.concat(this.#out);
    this.#out = [];
    const callbacks = this.#afterWrite;
    this.#afterWrite = [];
    if (out.length > 0) {
      this.socket.write(out, () => {
        for (const cb of callbacks) cb();
      });
    } else for (const cb of callbacks) cb();
    this.#endIfDone();
  }

  #endIfDone(): void {
    if (!this.#endAfterFlush || this.#streams.size > 0 || this.#closed) return;
    this.#closed = true;
    this.socket.end();
    this.emit('close');
  }

  /** After a GOAWAY either way, the connection ends (after the next flush) once no stream is open. */
  #maybeEnd(): void {
    if (this.#goaway && this.#streams.size === 0 && !this.#closed) {
      this.#endAfterFlush = true;
      this.#scheduleFlush();
    }
  }

  // ---- input ----

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
    try {
      this.#parse();
    } catch (e) {
      if (e instanceof ConnectionError) this.#fail(e.code, e.message);
      else this.#fail(H2Error.INTERNAL_ERROR, e instanceof Error ? e.message : String(e));
    }
  }

  /** A connection error: GOAWAY with `code`, every stream closed, the socket ended after the GOAWAY is out. */
  #fail(code: H2Error, message: string): void {
    if (this.#closed) return;
    this.#out.push(goawayFrame(this.#lastStream, code, message));
    this.#flush();
    this.#closed = true;
    for (const s of [...this.#streams.values()]) s.close(H2Error.CANCEL);
    this.socket.end();
    // a peer that never reads must not keep the socket
    setTimeout(() => this.socket.destroy(), 5_000).unref();
    this.emit('close');
  }

  #parse(): void {
    let buf = this.#input;
    if (!this.#prefaceSeen) {
      if (buf.length < PREFACE.length) {
        if (!PREFACE.subarray(0, buf.length).equals(buf)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface');
        return;
      }
      if (!buf.subarray(0, PREFACE.length).equals(PREFACE)) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'bad connection preface');
      this.#prefaceSeen = true;
      buf = buf.subarray(PREFACE.length);
    }
    while (buf.length >= FRAME_HEADER && !this.#closed) {
      const len = (buf[0] as number) * 65536 + (buf[1] as number) * 256 + (buf[2] as number);
      if (len > DEFAULT_MAX_FRAME) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, `frame of ${String(len)} octets`);
      if (buf.length < FRAME_HEADER + len) break;
      const type = buf[3] as number;
      const flags = buf[4] as number;
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(FRAME_HEADER, FRAME_HEADER + len);
      buf = buf.subarray(FRAME_HEADER + len);
      try {
        this.#frame(type, flags, id, payload);
      } catch (e) {
        if (!(e instanceof StreamError)) throw e;
        this.push(rstStreamFrame(e.stream, e.code));
        this.#streams.get(e.stream)?.close(e.code);
      }
    }
    this.#input = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    if (this.#connUnacked >= this.#connectionWindow / 2) {
      this.pushLazy(windowUpdateFrame(0, this.#connUnacked));
      this.#connUnacked = 0;
    }
  }

  #frame(type: number, flags: number, id: number, p: Buffer): void {
    if (!this.#settingsSeen && type !== FrameType.SETTINGS) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'first frame is not SETTINGS');
    if (this.#block !== undefined && type !== FrameType.CONTINUATION) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'header block interrupted');
    switch (type) {
      case FrameType.DATA:
        return this.#data(flags, id, p);
      case FrameType.HEADERS:
        return this.#headers(flags, id, p);
      case FrameType.CONTINUATION:
        return this.#continuation(flags, id, p);
      case FrameType.PRIORITY:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (p.length !== 5) throw new StreamError(id, H2Error.FRAME_SIZE_ERROR, 'PRIORITY size');
        return;
      case FrameType.RST_STREAM:
        if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
        if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'RST_STREAM size');
        if (id > this.#lastStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
        this.#streams.get(id)?.close(p.readUInt32BE(0) as H2Error);
        return;
      case FrameType.SETTINGS:
        return this.#settings(flags, id, p);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'PING on a stream');
        if (p.length !== 8) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'PING size');
        if ((flags & Flag.ACK) === 0) this.pushLazy(frame(FrameType.PING, Flag.ACK, 0, p));
        return;
      case FrameType.GOAWAY:
        if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'GOAWAY on a stream');
        this.#goaway = true;
        this.#maybeEnd();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(id, p);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  #settings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (p.length !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (p.length % 6 !== 0) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'SETTINGS size');
    this.#settingsSeen = true;
    for (let at = 0; at < p.length; at += 6) {
      const key = p.readUInt16BE(at);
      const v = p.readUInt32BE(at + 2);
      if (key === Setting.ENABLE_PUSH && v > 1) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'ENABLE_PUSH not 0 or 1');
      if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
        const delta = v - this.#peerInitialWindow;
        this.#peerInitialWindow = v;
        for (const s of this.#streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'stream window overflow');
          if (delta > 0) this.wantSend(s);
        }
      }
      if (key === Setting.MAX_FRAME_SIZE) {
        if (v < DEFAULT_MAX_FRAME || v > MAX_FRAME_LIMIT) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
        this.peerMaxFrame = v;
      }
      // HEADER_TABLE_SIZE: our encoder never indexes; MAX_CONCURRENT_STREAMS: we never push.
    }
    this.push(frame(FrameType.SETTINGS, Flag.ACK, 0));
  }

  #windowUpdate(id: number, p: Buffer): void {
    if (p.length !== 4) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'WINDOW_UPDATE size');
    const inc = p.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(H2Error.FLOW_CONTROL_ERROR, 'connection window overflow');
      for (const s of this.#streams.values()) if (s.hasOutput) this.wantSend(s);
      return;
    }
    if (id > this.#lastStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
    const s = this.#streams.get(id);
    if (inc === 0) throw new StreamError(id, H2Error.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    if (s === undefined) return; // closed: ignored
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) throw new StreamError(id, H2Error.FLOW_CONTROL_ERROR, 'stream window overflow');
    if (s.hasOutput) this.wantSend(s);
  }

  #data(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on stream 0');
    this.#connUnacked += p.length;
    let data = p;
    if ((flags & Flag.PADDED) !== 0) {
      const pad = p[0];
      if (pad === undefined || pad >= p.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame');
      data = p.subarray(1, p.length - pad);
    }
    if (id > this.#lastStream) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'DATA on an idle stream');
    const s = this.#streams.get(id);
    if (s === undefined) return; // a stream that is over (reset, or answered): its late DATA only counts against the window
    if (s.remoteEnded) throw new StreamError(id, H2Error.STREAM_CLOSED, 'DATA after END_STREAM');
    // A view: socket chunks (and the concatenations made here) are never written to again.
    s.received(data, p.length, (flags & Flag.END_STREAM) !== 0);
  }

  #headers(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let frag = p;
    if ((flags & Flag.PADDED) !== 0) {
      const pad = p[0];
      if (pad === undefined || pad >= p.length) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'padding longer than the frame');
      frag = p.subarray(1, p.length - pad);
    }
    if ((flags & Flag.PRIORITY) !== 0) {
      if (frag.length < 5) throw new ConnectionError(H2Error.FRAME_SIZE_ERROR, 'HEADERS priority fields');
      if ((frag.readUInt32BE(0) & 0x7fffffff) === id) throw new StreamError(id, H2Error.PROTOCOL_ERROR, 'stream depends on itself');
      frag = frag.subarray(5);
    }
    this.#block = { stream: id, endStream: (flags & Flag.END_STREAM) !== 0, parts: [Buffer.from(frag)], size: frag.length };
    if ((flags & Flag.END_HEADERS) !== 0) this.#endBlock();
  }

  #continuation(flags: number, id: number, p: Buffer): void {
    const b = this.#block;
    if (b === undefined || b.stream !== id) throw new ConnectionError(H2Error.PROTOCOL_ERROR, 'CONTINUATION without a header block');
    b.parts.push(Buffer.from(p));
    b.size += p.length;
    if (b.size > this.#maxHeaderBlock) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
    if ((flags & Flag.END_HEADERS) !== 0) this.#endBlock();
  }

  #endBlock(): void {
    const b = this.#block as { stream: number; endStream: boolean; parts: Buffer[]; size: number };
    this.#block = undefined;
    if (b.size > this.#maxHeaderBlock) throw new ConnectionError(H2Error.ENHANCE_YOUR_CALM, 'header block too large');
    let headers: string[];
    try {
      headers = this.#hpack.decode(b.parts.length === 1 ? (b.parts[0] as Buffer) : Buffer.concat(b.parts));
    } catch (e) {
      if (e instanceof HpackError) throw new ConnectionError(H2Error.COMPRESSION_ERROR, e.message);
      throw e;
    }
    const existing = this.#streams.get(b.stream);
    if (existing !== undefined) {
      // Trailers from the client: must end the stream.
      if (!b.endStream || existing.remoteEnded) throw new StreamError(b.stream, H2Error.PROTOCOL_ERROR, 'HEADERS on an open stream without END_STREAM');
      existing.remoteEnd();
      return;
    }
    if (b.stream <= this.#lastStream || b.stream % 2 === 0) throw new ConnectionError(H2Error.PROTOCOL_ERROR, `stream id ${String(b.stream)} not new or not odd`);
    this.#lastStream = b.stream;
    if (this.#goaway) return; // after our GOAWAY: not processed
    if (this.#streams.size >= this.#o.maxConcurrentStreams) throw new StreamError(b.stream, H2Error.REFUSED_STREAM, 'too many streams');
    const s = new H2Stream(b.stream, this, this.#peerInitialWindow);
    this.#streams.set(b.stream, s);
    this.#o.onStream(s, headers);
    if (b.endStream) s.remoteEnd();
  }
}
