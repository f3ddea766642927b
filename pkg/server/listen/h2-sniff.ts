/**
 * Decides, before node:http2 takes a plain-text HTTP/2 connection, whether its first request carries
 * a URL-shaped `:authority` (etcdctl 3.4; see authority-fix.ts). Only such connections are put behind
 * the JS-stream {@link AuthorityFixStream}; every other connection is handed over as the native
 * socket, so node:http2 drives it directly (no JSStreamSocket, no extra event-loop turn per write).
 *
 * A client does not send a request before it has the server's connection preface (grpc-go waits for
 * it), and node:http2 sends its preface only once it owns the socket. So the sniffer sends a preface
 * of its own, an empty SETTINGS frame (every setting at its protocol default), and then reads the
 * client's frames until it has both the first request's complete header block and the client's
 * SETTINGS ACK for that empty frame. Then it gives the bytes back to the socket and hands it over:
 *  - the ACK for the sniffer's SETTINGS is removed from the stream (node:http2 never sent that frame;
 *    it would take the ACK for its own SETTINGS, and the real one later as a protocol error);
 *  - PINGs the client sends meanwhile are answered here and removed;
 *  - every other byte is given back unchanged and in order. node:http2 then sends its own SETTINGS,
 *    which the client applies as an ordinary settings change, and ACKs the client's SETTINGS.
 * A connection that sends no request within {@link SNIFF_IDLE_MS} goes to berth's gRPC server when
 * the caller has one (`wantGrpc`: a gRPC client that dialed before its first call), else to the
 * wrapper (which sniffs lazily, whenever the request comes): correct, only slower. A connection whose
 * frames cannot be parsed here goes to the wrapper. The sniffer never rejects anything; node:http2
 * reports protocol errors as usual.
 */
import type { Socket } from 'node:net';
import hpack, { type HpackHeader } from 'hpack.js';
import { hasScheme } from './authority-fix.js';

const PREFACE_LENGTH = 24;
const FRAME_HEADER = 9;
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_PING = 0x6;
const TYPE_CONTINUATION = 0x9;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** Give up sniffing (and use the wrapper) past this much buffered input. */
const MAX_SNIFF_BYTES = 1 << 20;
/** A connection idle this long before its first request goes behind the wrapper. */
export const SNIFF_IDLE_MS = 1_000;

/** An empty SETTINGS frame: a valid server connection preface. */
export const EMPTY_SETTINGS = Buffer.from([0, 0, 0, TYPE_SETTINGS, 0, 0, 0, 0, 0]);

/** 'grpc': the first request is gRPC and the caller asked for those (berth's own HTTP/2 server). */
export type SniffVerdict = 'native' | 'fix' | 'grpc';

/**
 * Takes over `socket` (bytes already read from it, starting with the client preface, in `head`) and
 * calls `done` once with the verdict, after putting every byte to keep back into the socket (paused).
 * `idleMs` overrides {@link SNIFF_IDLE_MS} (tests).
 */
export function sniffH2(socket: Socket, head: Buffer, done: (verdict: SniffVerdict) => void, idleMs = SNIFF_IDLE_MS, wantGrpc = false): void {
  let buf = head;
  let off = PREFACE_LENGTH; // parse position: frames start after the preface
  const keep: Buffer[] = []; // parsed bytes to give back, in order
  let keptUpTo = 0; // buf[keptUpTo, off) is still to be appended to keep (or dropped)
  let ackSeen = false;
  let verdict: SniffVerdict | undefined; // known once the first header block is in
  let block: { streamId: number; fragments: Buffer[]; size: number } | undefined;
  let finished = false;

  const finish = (v: SniffVerdict): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    socket.pause();
    keep.push(buf.subarray(keptUpTo));
    socket.unshift(Buffer.concat(keep));
    done(v);
  };
  const drop = (start: number, end: number): void => {
    keep.push(buf.subarray(keptUpTo, start));
    keptUpTo = end;
  };
  const headerBlockDone = (fragments: Buffer[]): SniffVerdict => {
    const decomp = hpack.decompressor.create({ table: { maxSize: 4096 } });
    let failed = false;
    decomp.once('error', () => (failed = true));
    decomp.write(Buffer.concat(fragments));
    decomp.execute();
    if (failed) return 'native'; // node:http2 answers with COMPRESSION_ERROR
    let v: SniffVerdict = 'native';
    for (let h = decomp.read() as HpackHeader | null; h !== null; h = decomp.read() as HpackHeader | null) {
      if (wantGrpc && h.name === 'content-type' && h.value.startsWith('application/grpc')) return 'grpc';
      if (h.name === ':authority' && hasScheme(h.value)) v = 'fix';
    }
    return v;
  };
  /** Parses one complete frame at [start, end); returns false to stop sniffing (use the wrapper). */
  const onFrame = (start: number, end: number): boolean => {
    const type = buf[start + 3]!;
    const flags = buf[start + 4]!;
    const streamId = buf.readUInt32BE(start + 5) & 0x7fffffff;
    const payload = buf.subarray(start + FRAME_HEADER, end);
    if (block !== undefined) {
      if (type !== TYPE_CONTINUATION || streamId !== block.streamId) return false;
      block.fragments.push(payload);
      block.size += payload.length;
      if ((flags & FLAG_END_HEADERS) !== 0) {
        verdict = headerBlockDone(block.fragments);
        block = undefined;
      }
      return true;
    }
    if (type === TYPE_SETTINGS && (flags & FLAG_ACK) !== 0 && !ackSeen && streamId === 0) {
      ackSeen = true;
      drop(start, end);
      return true;
    }
    if (type === TYPE_PING && (flags & FLAG_ACK) === 0 && streamId === 0 && payload.length === 8) {
      const ack = Buffer.alloc(FRAME_HEADER + 8);
      ack.writeUIntBE(8, 0, 3);
      ack[3] = TYPE_PING;
      ack[4] = FLAG_ACK;
      payload.copy(ack, FRAME_HEADER);
      socket.write(ack);
      drop(start, end);
      return true;
    }
    if (type === TYPE_HEADERS && verdict === undefined) {
      let s = 0;
      let e = payload.length;
      if ((flags & FLAG_PADDED) !== 0) {
        if (payload.length < 1) return false;
        e -= payload[0]!;
        s = 1;
      }
      if ((flags & FLAG_PRIORITY) !== 0) s += 5;
      if (e < s) return false;
      const fragments = [payload.subarray(s, e)];
      if ((flags & FLAG_END_HEADERS) !== 0) verdict = headerBlockDone(fragments);
      else block = { streamId, fragments, size: e - s };
    }
    return true;
  };
  const parse = (): void => {
    while (buf.length - off >= FRAME_HEADER) {
      const end = off + FRAME_HEADER + buf.readUIntBE(off, 3);
      if (buf.length < end) break;
      if (!onFrame(off, end)) return finish('fix');
      off = end;
      if (verdict !== undefined && ackSeen) return finish(verdict);
    }
    if (buf.length > MAX_SNIFF_BYTES) finish('fix');
  };
  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk]);
    parse();
  };
  const onError = (): void => {
    finished = true;
    clearTimeout(timer);
    socket.destroy();
  };
  const onClose = (): void => {
    finished = true;
    clearTimeout(timer);
  };
  // Idle: with berth's gRPC server, a gRPC client that connected before its first call (clientv3
  // dials eagerly) is the likely peer; otherwise the wrapper, which sniffs lazily.
  const timer = setTimeout(() => finish(wantGrpc ? 'grpc' : 'fix'), idleMs);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.write(EMPTY_SETTINGS);
  parse();
  if (!finished) socket.resume();
}
