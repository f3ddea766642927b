/**
 * Normalises a URL-shaped HTTP/2 `:authority` ("http://127.0.0.1:2379") to "host:port" on the wire,
 * before Node's HTTP/2 implementation sees it.
 *
 * etcdctl 3.4 dials some endpoints (`endpoint status|hashkv|defrag --cluster`, `move-leader`, ...)
 * by the endpoint string as given, so grpc-go sends `:authority: http://127.0.0.1:P`. etcd (Go)
 * accepts that; nghttp2, under Node's http2, rejects an authority containing "/" with RST_STREAM
 * PROTOCOL_ERROR before any application code runs, and Node has no option to relax the check.
 *
 * {@link AuthorityFixStream} sits between the socket and the HTTP/2 server and parses the
 * client-to-server byte stream into frames until the first request's header block is complete, then
 * HPACK-decodes it:
 *  - `:authority` without "://" (every normal client): the buffered bytes are forwarded unchanged
 *    and the connection becomes a plain pass-through for the rest of its life (no parsing). Node's
 *    HPACK decoder state matches the client's encoder because nothing was altered.
 *  - otherwise: the whole connection is rewritten. Every HEADERS(+CONTINUATION) block is decoded
 *    with a decoder mirroring the client's encoder state, `:authority` loses its scheme (and any
 *    path), and the list is re-encoded with literals without indexing — which never touch Node's
 *    dynamic table, so Node's decoder stays in step with our (stateless) encoder. The result is one
 *    HEADERS frame (padding dropped, END_STREAM and PRIORITY kept) plus CONTINUATION frames past
 *    16,384 octets. All other frames pass through unchanged.
 * The server-to-client direction is never touched.
 *
 * Cost, paid by every connection put behind it (pass-through included): node:http2 can drive only a
 * native socket handle directly; any other stream goes through Node's internal JSStreamSocket,
 * whose write completion is deferred by a setImmediate, so each flush of HTTP/2 frames waits an
 * extra event-loop turn, and every chunk crosses JS twice. Measured on a bare node:http2 echo:
 * roughly +10 µs CPU per request at 16 in flight and +35 µs per sequential request. Also,
 * `session.socket.remoteAddress` reads JSStreamSocket, not this stream, so grpc-js sees no peer
 * address. Hence protocol-mux.ts applies it only when asked (`fixAuthority: true`).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import hpack, { type Decompressor, type HpackHeader } from 'hpack.js';
import { pushString } from './h2/hpack.js';

const PREFACE_LENGTH = 24;
const FRAME_HEADER_LENGTH = 9;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** SETTINGS_HEADER_TABLE_SIZE the server advertises: Node's default (grpc-js does not change it). */
const SERVER_HEADER_TABLE_SIZE = 4096;
/** The initial SETTINGS_MAX_FRAME_SIZE; every peer must accept frames this large. */
const MAX_OUT_FRAME_PAYLOAD = 16_384;
/** A header block larger than this is not inspected (sniffing) or kills the connection (rewriting). */
const MAX_HEADER_BLOCK = 1 << 20;

export type AuthorityFixMode = 'sniffing' | 'passthrough' | 'rewrite';

/** True for an authority nghttp2 would reject because it carries a URL scheme. */
export function hasScheme(authority: string): boolean {
  return authority.includes('://');
}

/** "http://h:p" → "h:p"; a path after the host (which nghttp2 would reject too) is dropped. */
export function stripScheme(authority: string): string {
  const i = authority.indexOf('://');
  if (i < 0) return authority;
  const rest = authority.slice(i + 3);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

/**
 * Encodes a header list as literals with a literal name, without indexing (or never indexed, when
 * the client said so): stateless, so the receiver's dynamic table is left as it is.
 */
export function encodeHeaderBlock(headers: readonly HpackHeader[]): Buffer {
  const out: number[] = [];
  for (const h of headers) {
    out.push(h.neverIndex === true ? 0x10 : 0x00);
    pushString(out, h.name);
    pushString(out, h.value);
  }
  return Buffer.from(out);
}

/** Decodes one complete header block with a decoder that keeps its dynamic table across calls. */
function decodeBlock(decomp: Decompressor, block: Buffer): HpackHeader[] {
  let failure: Error | undefined;
  const onError = (e: Error): void => {
    failure = e;
  };
  decomp.once('error', onError);
  decomp.write(block);
  decomp.execute();
  decomp.off('error', onError);
  if (failure !== undefined) throw failure;
  const headers: HpackHeader[] = [];
  for (let h = decomp.read() as HpackHeader | null; h !== null; h = decomp.read() as HpackHeader | null) headers.push(h);
  return headers;
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_LENGTH);
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId & 0x7fffffff, 5);
  return b;
}

/** A header block being collected from a HEADERS frame and its CONTINUATIONs. */
interface PendingBlock {
  streamId: number;
  /** HEADERS flags (END_STREAM, PRIORITY) to carry over. */
  flags: number;
  /** The 5 PRIORITY octets, when flagged. */
  priority: Buffer | undefined;
  fragments: Buffer[];
  size: number;
  /** The original frames, forwarded verbatim if the connection turns out to be fine. */
  raw: Buffer[];
}

class ProtocolViolation extends Error {}

/**
 * A Duplex over a sniffed HTTP/2 socket that repairs URL-shaped `:authority` values in the client's
 * requests; see the module comment. Hand it to the HTTP/2 server in place of the socket.
 */
export class AuthorityFixStream extends Duplex {
  #mode: AuthorityFixMode = 'sniffing';
  readonly #socket: Socket;
  #prefaceLeft = PREFACE_LENGTH;
  /** Unparsed client bytes (sniffing and rewrite modes). */
  #pending: Buffer = Buffer.alloc(0);
  #block: PendingBlock | undefined;
  #decomp: Decompressor | undefined;
  readonly #onData = (chunk: Buffer): void => {
    if (this.#mode === 'passthrough') {
      if (!this.push(chunk)) this.#socket.pause();
      return;
    }
    try {
      this.#parse(chunk);
    } catch (e) {
      this.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  };

  constructor(socket: Socket) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    // node:http2 disables Nagle on the socket it is given; behind this wrapper it cannot reach it.
    socket.setNoDelay(true);
    socket.on('data', this.#onData);
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
    socket.pause();
  }

  /** 'sniffing' until the first request's headers are in, then 'passthrough' or 'rewrite'. */
  get mode(): AuthorityFixMode {
    return this.#mode;
  }

  // The underlying socket's addresses, for code holding this stream. node:http2 wraps any stream
  // without a native handle in an internal JSStreamSocket and reads these from that wrapper, so
  // behind this class `session.socket.remoteAddress` is undefined: grpc-js then reports the peer as
  // "unknown" (getPeer, traces, channelz); berth itself never reads it.
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.#socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.#socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.#socket.localPort;
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#socket.write(chunk)) cb();
    else this.#whenDrained(cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.#socket.cork();
    let ok = true;
    for (const c of chunks) ok = this.#socket.write(c.chunk);
    this.#socket.uncork();
    if (ok) cb();
    else this.#whenDrained(cb);
  }

  #whenDrained(cb: (err?: Error | null) => void): void {
    const done = (): void => {
      this.#socket.off('drain', done);
      this.#socket.off('close', done);
      cb();
    };
    this.#socket.on('drain', done);
    this.#socket.on('close', done);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.off('data', this.#onData);
    this.#socket.destroy(err ?? undefined);
    cb(err);
  }

  #out(b: Buffer): void {
    if (!this.push(b)) this.#socket.pause();
  }

  #parse(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let off = 0;
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, buf.length);
      this.#out(buf.subarray(0, n));
      this.#prefaceLeft -= n;
      off = n;
    }
    while (buf.length - off >= FRAME_HEADER_LENGTH) {
      const length = buf.readUIntBE(off, 3);
      if (buf.length - off < FRAME_HEADER_LENGTH + length) break;
      const frame = buf.subarray(off, off + FRAME_HEADER_LENGTH + length);
      off += frame.length;
      this.#frame(frame);
      if (this.#mode === 'passthrough') {
        // Decided: everything not yet parsed goes through as it is.
        if (off < buf.length) this.#out(buf.subarray(off));
        this.#pending = Buffer.alloc(0);
        return;
      }
    }
    buf = buf.subarray(off);
    // Copy a small remainder so a large chunk is not kept alive by it.
    this.#pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  #frame(frame: Buffer): void {
    const type = frame[3]!;
    const flags = frame[4]!;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    const payload = frame.subarray(FRAME_HEADER_LENGTH);
    const block = this.#block;

    if (block !== undefined) {
      if (type !== TYPE_CONTINUATION || streamId !== block.streamId) {
        // A protocol error; let Node's HTTP/2 report it if we were only looking.
        if (this.#mode === 'sniffing') return this.#passThrough([...block.raw, frame]);
        throw new ProtocolViolation('expected CONTINUATION');
      }
      block.fragments.push(payload);
      block.raw.push(frame);
      block.size += payload.length;
      if (block.size > MAX_HEADER_BLOCK) {
        if (this.#mode === 'sniffing') return this.#passThrough(block.raw);
        throw new ProtocolViolation('header block too large');
      }
      if ((flags & FLAG_END_HEADERS) !== 0) this.#blockDone();
      return;
    }

    if (type !== TYPE_HEADERS) {
      this.#out(frame);
      return;
    }

    let start = 0;
    let end = payload.length;
    let padLength = 0;
    if ((flags & FLAG_PADDED) !== 0) {
      if (payload.length < 1) return this.#malformed(frame);
      padLength = payload[0]!;
      start = 1;
    }
    let priority: Buffer | undefined;
    if ((flags & FLAG_PRIORITY) !== 0) {
      if (end - start < 5) return this.#malformed(frame);
      priority = payload.subarray(start, start + 5);
      start += 5;
    }
    end -= padLength;
    if (end < start) return this.#malformed(frame);

    this.#block = {
      streamId,
      flags: flags & (FLAG_END_STREAM | FLAG_PRIORITY),
      priority,
      fragments: [payload.subarray(start, end)],
      size: end - start,
      raw: [frame],
    };
    if ((flags & FLAG_END_HEADERS) !== 0) this.#blockDone();
  }

  #malformed(frame: Buffer): void {
    if (this.#mode === 'sniffing') return this.#passThrough([frame]);
    throw new ProtocolViolation('malformed HEADERS frame');
  }

  #passThrough(raw: Buffer[]): void {
    this.#mode = 'passthrough';
    this.#block = undefined;
    this.#decomp = undefined;
    for (const f of raw) this.#out(f);
  }

  #blockDone(): void {
    const block = this.#block!;
    this.#block = undefined;
    const fragment = block.fragments.length === 1 ? block.fragments[0]! : Buffer.concat(block.fragments);

    if (this.#mode === 'sniffing') {
      const decomp = hpack.decompressor.create({ table: { maxSize: SERVER_HEADER_TABLE_SIZE } });
      let headers: HpackHeader[];
      try {
        headers = decodeBlock(decomp, fragment);
      } catch {
        return this.#passThrough(block.raw); // Node's decoder will answer with COMPRESSION_ERROR
      }
      if (!headers.some((h) => h.name === ':authority' && hasScheme(h.value))) return this.#passThrough(block.raw);
      this.#mode = 'rewrite';
      this.#decomp = decomp;
      return this.#emitBlock(block, headers);
    }

    this.#emitBlock(block, decodeBlock(this.#decomp!, fragment));
  }

  #emitBlock(block: PendingBlock, headers: HpackHeader[]): void {
    const fixed = headers.map((h) =>
      h.name === ':authority' && hasScheme(h.value) ? { ...h, value: stripScheme(h.value) } : h,
    );
    const encoded = encodeHeaderBlock(fixed);
    const head = block.priority ?? Buffer.alloc(0);
    const firstRoom = MAX_OUT_FRAME_PAYLOAD - head.length;
    const first = encoded.subarray(0, firstRoom);
    const last = encoded.length <= firstRoom;
    this.#out(frameHeader(head.length + first.length, TYPE_HEADERS, block.flags | (last ? FLAG_END_HEADERS : 0), block.streamId));
    if (head.length > 0) this.#out(head);
    this.#out(first);
    for (let off = firstRoom; off < encoded.length; off += MAX_OUT_FRAME_PAYLOAD) {
      const part = encoded.subarray(off, off + MAX_OUT_FRAME_PAYLOAD);
      const end = off + MAX_OUT_FRAME_PAYLOAD >= encoded.length;
      this.#out(frameHeader(part.length, TYPE_CONTINUATION, end ? FLAG_END_HEADERS : 0, block.streamId));
      this.#out(part);
    }
  }
}

/** Wraps a sniffed HTTP/2 connection (see protocol-mux.ts) in an {@link AuthorityFixStream}. */
export function fixAuthority(socket: Socket): AuthorityFixStream {
  return new AuthorityFixStream(socket);
}
