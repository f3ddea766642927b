/**
 * HPACK (RFC 7541) for the gRPC HTTP/2 server (docs/grpc-h2.md): a decoder for request header blocks
 * (static and dynamic table, Huffman-coded strings, table size updates) and an encoder for response
 * headers that writes literals without indexing, so it keeps no state and the fixed header blocks of
 * a gRPC answer can be computed once.
 *
 * Invariants: a malformed block throws {@link HpackError} (the connection then ends with
 * COMPRESSION_ERROR); the dynamic table never exceeds the size the decoder's owner advertised; a
 * block decodes to [name, value, name, value, ...] with names and values as latin1 strings (one
 * character per octet), in wire order, repeated names kept.
 *
 * Tested in test/server/listen/h2/hpack.test.ts, against hpack.js's compressor as an oracle.
 */
import { createRequire } from 'node:module';

export class HpackError extends Error {
  constructor(message: string) {
    super(`hpack: ${message}`);
    this.name = 'HpackError';
  }
}

/** RFC 7541 Appendix A (61 entries). Index 1 is the first entry. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** The bytes an entry costs in the dynamic table (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

/**
 * The Huffman code (RFC 7541 Appendix B) as a binary trie in one Int32Array: node n's children are at
 * [2n] (bit 0) and [2n+1] (bit 1); a positive value is the child node, a negative one a leaf holding
 * -(symbol + 1); 0 means no such code. The code table itself is read from the hpack.js dependency.
 */
const TRIE = ((): Int32Array => {
  const require = createRequire(import.meta.url);
  const codes = (require('hpack.js/lib/hpack/huffman.js') as { encode: [number, number][] }).encode;
  if (codes.length !== 257) throw new Error('hpack.js Huffman table: expected 257 codes');
  const t = new Int32Array(2 * 2 * 257);
  let nodes = 1;
  codes.forEach(([bits, code], sym) => {
    let n = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const slot = 2 * n + ((code >>> i) & 1);
      if (i === 0) {
        t[slot] = -(sym + 1);
        break;
      }
      if (t[slot] === 0) t[slot] = nodes++;
      n = t[slot] as number;
    }
  });
  return t;
})();
const EOS = 256;

/** Decodes `len` Huffman-coded octets at `at` (RFC 7541 §5.2: padding is < 8 bits of the EOS prefix, all ones). */
export function huffmanDecode(buf: Uint8Array, at: number, len: number): string {
  let s = '';
  let n = 0;
  /** Bits consumed since the last symbol, and whether they were all ones. */
  let pending = 0;
  let ones = true;
  for (let i = at; i < at + len; i++) {
    const byte = buf[i] as number;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const c = TRIE[2 * n + bit] as number;
      pending++;
      if (bit === 0) ones = false;
      if (c < 0) {
        const sym = -c - 1;
        if (sym === EOS) throw new HpackError('EOS symbol in a Huffman-coded string');
        s += String.fromCharCode(sym);
        n = 0;
        pending = 0;
        ones = true;
      } else if (c === 0) {
        throw new HpackError('invalid Huffman code');
      } else n = c;
    }
  }
  if (pending > 7 || !ones) throw new HpackError('invalid Huffman padding');
  return s;
}

export class HpackDecoder {
  /** Newest first. */
  #table: [string, string][] = [];
  #size = 0;
  /** The current maximum (set by size updates), at most `#limit`. */
  #max: number;
  /** SETTINGS_HEADER_TABLE_SIZE this side advertised. */
  readonly #limit: number;
  #at = 0;
  #buf: Uint8Array = new Uint8Array(0);

  constructor(tableSize = 4096) {
    this.#limit = tableSize;
    this.#max = tableSize;
  }

  get tableSize(): number {
    return this.#size;
  }

  /** One complete header block (HEADERS + CONTINUATION payloads, padding and priority removed). */
  decode(block: Uint8Array): string[] {
    this.#buf = block;
    this.#at = 0;
    const out: string[] = [];
    let fieldSeen = false;
    while (this.#at < block.length) {
      const b = block[this.#at] as number;
      if (b & 0x80) {
        const [name, value] = this.#entry(this.#int(7));
        out.push(name, value);
        fieldSeen = true;
      } else if (b & 0x40) {
        const idx = this.#int(6);
        const name = idx === 0 ? this.#string() : this.#entry(idx)[0];
        const value = this.#string();
        this.#add(name, value);
        out.push(name, value);
        fieldSeen = true;
      } else if (b & 0x20) {
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const size = this.#int(5);
        if (size > this.#limit) throw new HpackError(`dynamic table size update to ${String(size)} above the limit ${String(this.#limit)}`);
        this.#max = size;
        this.#evict();
      } else {
        // literal without indexing (0000) or never indexed (0001): the same for a decoder
        const idx = this.#int(4);
        const name = idx === 0 ? this.#string() : this.#entry(idx)[0];
        out.push(name, this.#string());
        fieldSeen = true;
      }
    }
    return out;
  }

  #entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as readonly [string, string];
    const e = this.#table[index - STATIC_TABLE.length - 1];
    if (e === undefined) throw new HpackError(`index ${String(index)} beyond the tables`);
    return e;
  }

  #add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#max) {
      // RFC 7541 §4.4: an entry larger than the table empties it and is not added
      this.#table = [];
      this.#size = 0;
      return;
    }
    this.#table.unshift([name, value]);
    this.#size += size;
    this.#evict();
  }

  #evict(): void {
    while (this.#size > this.#max) {
      const e = this.#table.pop() as [string, string];
      this.#size -= e[0].length + e[1].length + ENTRY_OVERHEAD;
    }
  }

  /** An integer with an N-bit prefix (RFC 7541 §5.1); at most 2^31 - 1. */
  #int(prefixBits: number): number {
    const buf = this.#buf;
    const mask = (1 << prefixBits) - 1;
    if (this.#at >= buf.length) throw new HpackError('truncated integer');
    let v = (buf[this.#at++] as number) & mask;
    if (v < mask) return v;
    let shift = 0;
    for (;;) {
      if (this.#at >= buf.length) throw new HpackError('truncated integer');
      const b = buf[this.#at++] as number;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (v > 0x7fffffff) throw new HpackError('integer overflow');
      if ((b & 0x80) === 0) return v;
    }
  }

  #string(): string {
    const buf = this.#buf;
    if (this.#at >= buf.length) throw new HpackError('truncated string');
    const huffman = ((buf[this.#at] as number) & 0x80) !== 0;
    const len = this.#int(7);
    if (this.#at + len > buf.length) throw new HpackError('string beyond the block');
    const at = this.#at;
    this.#at += len;
    if (huffman) return huffmanDecode(buf, at, len);
    return Buffer.from(buf.buffer, buf.byteOffset + at, len).toString('latin1');
  }
}

/** Appends an HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
export function pushInt(out: number[], first: number, prefixBits: number, v: number): void {
  const mask = (1 << prefixBits) - 1;
  if (v < mask) {
    out.push(first | v);
    return;
  }
  out.push(first | mask);
  let rest = v - mask;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/** Appends a string literal as raw octets (no Huffman); `s` is latin1, one character per octet. */
export function pushString(out: number[], s: string): void {
  pushInt(out, 0x00, 7, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
}

const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/**
 * Encodes a header list as literals without indexing (static-table name index where there is one,
 * raw strings): no decoder-side state changes, so any block can be sent on any connection in any order.
 * `:status 200` uses its static index. Names must already be lower case; values are latin1.
 */
export function encodeHeaders(headers: readonly (readonly [string, string])[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of headers) {
    if (name === ':status' && value === '200') {
      out.push(0x88);
      continue;
    }
    const idx = STATIC_NAME.get(name);
    if (idx !== undefined) pushInt(out, 0x00, 4, idx);
    else {
      out.push(0x00);
      pushString(out, name);
    }
    pushString(out, value);
  }
  return Buffer.from(out);
}
