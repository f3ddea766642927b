/**
 * The raft stream: RaftBatches on a plain TCP (or TLS) connection to the peer port, instead of a
 * gRPC client stream. Same batches, same checks (receiver.ts), without HTTP/2 framing, grpc-js's
 * per-message call machinery and its event-loop turns between a write and the socket: about half
 * the CPU and latency per raft message (e2e/bench/peer-hop.ts). Hello and snapshot uploads stay on
 * gRPC; a sender uses the stream only when the receiver's Hello answer says its port takes it.
 *
 * Wire format (docs/transport.md):
 *   sender → receiver: STREAM_PREFACE, then frames [u32 big-endian length][RaftBatch bytes].
 *   receiver → sender: nothing, except one refusal frame [u32 length][JSON StreamRefusal] before it
 *   closes the connection (a refused or malformed batch, or the receiver stopping).
 * The peer port tells the stream from HTTP/2 by the preface (plain text) or by the ALPN protocol
 * STREAM_ALPN (TLS).
 */
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { peerAddress } from './peer-url.js';
import type { Refusal } from './wire.js';

/** First bytes of a raft stream on a plain-text peer port (HTTP/2 starts with "PRI * HTTP/2.0"). */
export const STREAM_PREFACE = Buffer.from('berth-raft-stream/1\n', 'latin1');
/** ALPN protocol of a raft stream on a TLS peer port (the preface is sent too). */
export const STREAM_ALPN = 'berth-raft/1';
/** Frames above this are refused (the gRPC Send path's receive limit, PEER_SERVER_OPTIONS). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** What a receiver says before closing a stream; the fields of a gRPC status with refusal trailers. */
export interface StreamRefusal {
  /** A gRPC status code (FAILED_PRECONDITION, INVALID_ARGUMENT, UNAVAILABLE, ...). */
  readonly code: number;
  readonly message: string;
  readonly reason?: Refusal;
  readonly clusterId?: string;
  readonly memberId?: string;
}

/** The 4-byte length prefix of a frame carrying `payload`. */
export function frameHeader(payload: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(payload.byteLength, 0);
  return head;
}

export function refusalFrame(r: StreamRefusal): Buffer {
  const body = Buffer.from(JSON.stringify(r), 'utf8');
  return Buffer.concat([frameHeader(body), body]);
}

/** Parses a refusal frame's body; anything unreadable becomes a generic refusal (never throws). */
export function parseRefusal(body: Uint8Array): StreamRefusal {
  try {
    const v: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    if (typeof v === 'object' && v !== null && typeof (v as StreamRefusal).code === 'number' && typeof (v as StreamRefusal).message === 'string') {
      return v as StreamRefusal;
    }
  } catch {
    // fall through
  }
  return { code: 13, message: 'transport: unreadable refusal from peer' };
}

/**
 * Splits a byte stream into length-prefixed frames. Each frame is handed over as its own copy (a
 * batch's entries are subarrays of it and live on in the raft log; they must not pin the socket's
 * read buffers). `push` returns an error text, and stops, at a frame above `maxBytes`.
 */
export class FrameReader {
  readonly #maxBytes: number;
  readonly #onFrame: (f: Uint8Array) => void;
  #head = Buffer.alloc(4);
  #headHave = 0;
  #body: Uint8Array | undefined;
  #bodyHave = 0;

  constructor(maxBytes: number, onFrame: (f: Uint8Array) => void) {
    this.#maxBytes = maxBytes;
    this.#onFrame = onFrame;
  }

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.#headHave === 0 && this.#body === undefined;
  }

  push(chunk: Uint8Array): string | undefined {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.#body === undefined) {
        const take = Math.min(4 - this.#headHave, chunk.byteLength - at);
        for (let i = 0; i < take; i++) this.#head[this.#headHave + i] = chunk[at + i] as number;
        this.#headHave += take;
        at += take;
        if (this.#headHave < 4) return undefined;
        const len = this.#head.readUInt32BE(0);
        this.#headHave = 0;
        if (len > this.#maxBytes) return `transport: raft stream frame of ${len} bytes is above the limit of ${this.#maxBytes}`;
        this.#body = new Uint8Array(len);
        this.#bodyHave = 0;
      }
      const body = this.#body;
      const take = Math.min(body.byteLength - this.#bodyHave, chunk.byteLength - at);
      body.set(chunk.subarray(at, at + take), this.#bodyHave);
      this.#bodyHave += take;
      at += take;
      if (this.#bodyHave === body.byteLength) {
        this.#body = undefined;
        this.#onFrame(body);
      }
    }
    return undefined;
  }
}

/**
 * How a peer-port connection starts: a raft stream, HTTP/2 (anything that is not a prefix of the
 * stream preface), or undecided (a strict prefix of the preface so far).
 */
export function classifyPeerPrefix(prefix: Uint8Array): 'stream' | 'h2' | undefined {
  const n = Math.min(prefix.byteLength, STREAM_PREFACE.byteLength);
  for (let i = 0; i < n; i++) if (prefix[i] !== STREAM_PREFACE[i]) return 'h2';
  return prefix.byteLength >= STREAM_PREFACE.byteLength ? 'stream' : undefined;
}

export interface PeerPortHandlers {
  /** HTTP/2 (gRPC: Hello, Send from older members, Snapshot, membership); unread bytes put back. */
  h2(conn: Duplex): void;
  /** A raft stream, with the bytes after the preface (possibly empty) already read. */
  stream(conn: Duplex, rest: Uint8Array): void;
}

/**
 * Routes one plain-text peer-port connection by its first bytes. A connection that closes before it
 * can be classified is dropped.
 */
export function routePlainPeerConnection(socket: Duplex & { pause(): void; unshift(b: Buffer): void }, handlers: PeerPortHandlers): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onError = (): void => {
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered.byteLength === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const kind = classifyPeerPrefix(buffered);
    if (kind === undefined) return;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.pause();
    if (kind === 'stream') {
      handlers.stream(socket, buffered.subarray(STREAM_PREFACE.byteLength));
      return;
    }
    socket.unshift(buffered);
    handlers.h2(socket);
  };
  socket.on('data', onData);
  socket.on('error', onError);
}

/**
 * Routes one TLS peer-port connection (already verified by the TLS listener) by its ALPN protocol;
 * a raft stream still starts with the preface, which is read and checked here.
 */
export function routeTlsPeerConnection(socket: Duplex & { alpnProtocol?: string | false | null; pause(): void; unshift(b: Buffer): void }, handlers: PeerPortHandlers): void {
  if (socket.alpnProtocol !== STREAM_ALPN) {
    handlers.h2(socket);
    return;
  }
  routePlainPeerConnection(socket, {
    h2: (conn) => conn.destroy(), // ALPN said raft stream, the bytes did not
    stream: handlers.stream,
  });
}

/** The sending end of a peer stream (raft stream or gRPC Send), as peer.ts drives it. */
export interface Conduit {
  /** Writes one encoded RaftBatch; false: wait for the drain callback before writing more. */
  write(batch: Uint8Array): boolean;
  /** Around a run of writes, so they leave in one syscall. */
  cork(): void;
  uncork(): void;
  /** Abandons the stream; no callback afterwards. */
  close(): void;
}

/** Largest refusal frame a sender reads. */
const MAX_REFUSAL_BYTES = 64 * 1024;

/**
 * Starts a raft stream on a connecting socket (net or TLS): sends the preface, then frames. `closed`
 * is called once when the connection ends for any reason other than close(), with the receiver's
 * refusal if it sent one.
 */
export function openStreamConduit(
  sock: Socket,
  on: { readonly drain: () => void; readonly closed: (err: Error, refusal: StreamRefusal | undefined) => void },
): Conduit {
  let closedByUs = false;
  let lastError: Error | undefined;
  let refusal: StreamRefusal | undefined;
  sock.setNoDelay(true);
  sock.setKeepAlive(true, KEEPALIVE_MS);
  const reader = new FrameReader(MAX_REFUSAL_BYTES, (body) => {
    refusal ??= parseRefusal(body);
  });
  sock.on('data', (chunk: Buffer) => {
    if (reader.push(chunk) !== undefined) sock.destroy(new Error('transport: oversized answer on the raft stream'));
  });
  sock.on('drain', () => {
    if (!closedByUs) on.drain();
  });
  sock.on('error', (err) => {
    lastError = err;
  });
  sock.on('close', () => {
    if (closedByUs) return;
    closedByUs = true;
    on.closed(refusal !== undefined ? new Error(refusal.message) : (lastError ?? new Error('transport: stream closed by peer')), refusal);
  });
  sock.write(STREAM_PREFACE);
  return {
    write: (batch) => {
      sock.write(frameHeader(batch));
      return sock.write(batch);
    },
    cork: () => sock.cork(),
    uncork: () => sock.uncork(),
    close: () => {
      closedByUs = true;
      sock.destroy();
    },
  };
}

/** TCP keepalive on raft stream connections (the gRPC path pings every 30 s). */
const KEEPALIVE_MS = 30_000;

/**
 * The default way to reach a peer's raft stream: plain TCP for http:// URLs. https:// needs TLS
 * material, so without a dialer from the composition root such peers get the gRPC Send stream.
 */
export function dialPlain(url: string): Socket | undefined {
  const a = peerAddress(url);
  if (!a.ok || a.secure) return undefined;
  return connect({ host: a.host, port: a.port });
}
