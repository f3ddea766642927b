/**
 * HTTP/2 frame constants and serialization (RFC 9113 §4, §6) for the gRPC HTTP/2 server
 * (docs/grpc-h2.md). Parsing lives in connection.ts, which reads frames straight out of its input
 * buffer.
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER = 9;

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;
export type Flag = (typeof Flag)[keyof typeof Flag];

/** RFC 9113 §7. */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;
export type H2Error = (typeof H2Error)[keyof typeof H2Error];

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;
export type Setting = (typeof Setting)[keyof typeof Setting];

export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 0x7fffffff;
export const MAX_FRAME_LIMIT = 16_777_215;

/** A frame header followed by `payload` (one buffer). */
export function frame(type: FrameType, flags: number, stream: number, payload: Uint8Array = EMPTY): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  writeFrameHeader(out, 0, payload.length, type, flags, stream);
  out.set(payload, FRAME_HEADER);
  return out;
}

export function writeFrameHeader(out: Buffer, at: number, length: number, type: FrameType, flags: number, stream: number): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(stream & 0x7fffffff, at + 5);
}

const EMPTY = new Uint8Array(0);

export function settingsFrame(settings: readonly (readonly [Setting, number])[]): Buffer {
  const p = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, v], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(v, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

export function windowUpdateFrame(stream: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, stream, p);
}

export function rstStreamFrame(stream: number, code: H2Error): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, stream, p);
}

export function goawayFrame(lastStream: number, code: H2Error, debug = ''): Buffer {
  const d = Buffer.from(debug, 'utf8');
  const p = Buffer.allocUnsafe(8 + d.length);
  p.writeUInt32BE(lastStream & 0x7fffffff, 0);
  p.writeUInt32BE(code, 4);
  d.copy(p, 8);
  return frame(FrameType.GOAWAY, 0, 0, p);
}

/**
 * A header block as HEADERS plus CONTINUATION frames of at most `maxFrame` octets each (END_HEADERS
 * on the last, END_STREAM on the HEADERS frame when asked).
 */
export function headerFrames(stream: number, block: Buffer, endStream: boolean, maxFrame: number): Buffer {
  const first = Math.min(block.length, maxFrame);
  const rest = block.length - first;
  const continuations = rest === 0 ? 0 : Math.ceil(rest / maxFrame);
  const out = Buffer.allocUnsafe(block.length + FRAME_HEADER * (1 + continuations));
  let flags = endStream ? Flag.END_STREAM : 0;
  if (continuations === 0) flags |= Flag.END_HEADERS;
  writeFrameHeader(out, 0, first, FrameType.HEADERS, flags, stream);
  block.copy(out, FRAME_HEADER, 0, first);
  let at = FRAME_HEADER + first;
  for (let from = first; from < block.length; from += maxFrame) {
    const len = Math.min(maxFrame, block.length - from);
    writeFrameHeader(out, at, len, FrameType.CONTINUATION, from + len === block.length ? Flag.END_HEADERS : 0, stream);
    block.copy(out, at + FRAME_HEADER, from, from + len);
    at += FRAME_HEADER + len;
  }
  return out;
}
