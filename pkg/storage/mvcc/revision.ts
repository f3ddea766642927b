/**
 * MVCC revisions: `main` is the store revision a write request created, `sub` orders the changes
 * inside that request (a Txn touching three keys writes subs 0, 1, 2). Both are int64 in etcd, so
 * they are `bigint` here; the encodings below are 16 bytes, big-endian, so byte order = revision order.
 */
export interface Revision {
  readonly main: bigint;
  readonly sub: bigint;
}

export const REVISION_BYTES = 16;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

// The encodings below avoid a DataView and BigInt arithmetic per call (4x faster, and they run for
// every key written or read): a revision below 2^53 — every revision a store reaches in practice — is
// written as two 32-bit halves of a Number. Larger values take the DataView path.
const TWO32 = 4294967296;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Writes the u64 `v` big-endian at `off`, complemented when `desc`. */
function writeU64(out: Uint8Array, off: number, v: bigint, desc = false): void {
  if (v > SAFE) {
    new DataView(out.buffer, out.byteOffset + off, 8).setBigUint64(0, desc ? U64_MAX ^ v : v);
    return;
  }
  const n = Number(v);
  let hi = Math.floor(n / TWO32);
  let lo = n >>> 0;
  if (desc) {
    hi = ~hi;
    lo = ~lo;
  }
  out[off] = hi >>> 24;
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = lo >>> 24;
  out[off + 5] = (lo >>> 16) & 0xff;
  out[off + 6] = (lo >>> 8) & 0xff;
  out[off + 7] = lo & 0xff;
}

/** Reads the u64 at `off` (big-endian, complemented when `desc`). */
function readU64(buf: Uint8Array, off: number, desc = false): bigint {
  let hi = ((buf[off] as number) << 24) | ((buf[off + 1] as number) << 16) | ((buf[off + 2] as number) << 8) | (buf[off + 3] as number);
  let lo = ((buf[off + 4] as number) << 24) | ((buf[off + 5] as number) << 16) | ((buf[off + 6] as number) << 8) | (buf[off + 7] as number);
  if (desc) {
    hi = ~hi;
    lo = ~lo;
  }
  hi >>>= 0;
  lo >>>= 0;
  // hi < 2^21: the value is below 2^53 and exact as a Number.
  if (hi < 0x200000) return BigInt(hi * TWO32 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Big-endian u64 / i64 / u32 fields of records (the same fast path as revisions). */
export function writeU64BE(out: Uint8Array, off: number, v: bigint): void {
  writeU64(out, off, v);
}

export function readU64BE(buf: Uint8Array, off: number): bigint {
  return readU64(buf, off);
}

export function writeI64BE(out: Uint8Array, off: number, v: bigint): void {
  if (v >= 0n) writeU64(out, off, v);
  else new DataView(out.buffer, out.byteOffset + off, 8).setBigInt64(0, v);
}

export function readI64BE(buf: Uint8Array, off: number): bigint {
  if (((buf[off] as number) & 0x80) === 0) return readU64(buf, off);
  return new DataView(buf.buffer, buf.byteOffset + off, 8).getBigInt64(0);
}

export function writeU32BE(out: Uint8Array, off: number, n: number): void {
  out[off] = n >>> 24;
  out[off + 1] = (n >>> 16) & 0xff;
  out[off + 2] = (n >>> 8) & 0xff;
  out[off + 3] = n & 0xff;
}

export function readU32BE(buf: Uint8Array, off: number): number {
  return (((buf[off] as number) << 24) | ((buf[off + 1] as number) << 16) | ((buf[off + 2] as number) << 8) | (buf[off + 3] as number)) >>> 0;
}

/** Writes `main,sub` big-endian (ascending order) at `offset`. Both must be in [0, 2^63). */
export function writeRevision(out: Uint8Array, offset: number, rev: Revision): void {
  writeU64(out, offset, rev.main, false);
  writeU64(out, offset + 8, rev.sub, false);
}

/**
 * Writes the bitwise complement of `main,sub` so that byte order is DESCENDING revision order:
 * in the key index, the newest revision of a user key sorts first.
 */
export function writeDescRevision(out: Uint8Array, offset: number, rev: Revision): void {
  writeU64(out, offset, rev.main, true);
  writeU64(out, offset + 8, rev.sub, true);
}

export function readRevision(buf: Uint8Array, offset: number): Revision {
  return { main: readU64(buf, offset, false), sub: readU64(buf, offset + 8, false) };
}

export function readDescRevision(buf: Uint8Array, offset: number): Revision {
  return { main: readU64(buf, offset, true), sub: readU64(buf, offset + 8, true) };
}

export function encodeRevision(rev: Revision): Uint8Array {
  const out = new Uint8Array(REVISION_BYTES);
  writeRevision(out, 0, rev);
  return out;
}

export function compareRevisions(a: Revision, b: Revision): number {
  if (a.main !== b.main) return a.main < b.main ? -1 : 1;
  if (a.sub !== b.sub) return a.sub < b.sub ? -1 : 1;
  return 0;
}

/** The largest sub revision: `{main: r, sub: MAX_SUB}` is "everything written at main revision r". */
export const MAX_SUB = 0x7fff_ffff_ffff_ffffn;
