/**
 * Byte layout of the two MVCC keyspaces (see docs/mvcc.md).
 *
 * Revision keyspace: `0x10 ‖ main(u64 BE) ‖ sub(u64 BE)` → event record (record.ts). Sequential in
 * revision order, which makes watch catch-up, hashing and compaction plain forward scans.
 *
 * Key index: `0x11 ‖ enc(userKey) ‖ ~main ‖ ~sub` → index record. `enc` is an order-preserving,
 * prefix-free encoding of arbitrary bytes: every 0x00 becomes 0x00 0xFF and the key ends with
 * 0x00 0x01. So all entries of one user key are contiguous, user keys sort as raw bytes
 * (memcmp), and within a key the newest revision comes first: "key k at revision r" is one seek to
 * `enc(k) ‖ ~r,~MAX` and a range at revision r is a forward scan.
 */
import { Keyspace } from '../engine/keyspace.js';
import { type Revision, REVISION_BYTES, writeRevision, writeDescRevision, readRevision, readDescRevision, MAX_SUB } from './revision.js';

/**
 * Bytes for a record or key about to be written (filled completely by the caller; the contents start
 * undefined). Above 64 bytes a Uint8Array's memory is allocated outside V8's heap, one malloc each
 * (~0.3 µs at 80 bytes, ~0.7 µs at 280 here); Buffer.allocUnsafe slices a shared pool instead (~0.05–0.1
 * µs). Only for short-lived bytes (write batches): a slice keeps its whole 8 KiB pool alive.
 */
export function writeBytes(n: number): Uint8Array {
  return n > 64 ? Buffer.allocUnsafe(n) : new Uint8Array(n);
}

const ESCAPE = 0xff;
const TERM = 0x01;
/** Terminator + 1: `body ‖ 0x00 0x02` sorts after every index entry of the key and before the next key. */
const TERM_AFTER = 0x02;

/** Length of enc(key) (body with escapes + 2-byte terminator). */
function encodedLength(key: Uint8Array): number {
  let n = key.length + 2;
  for (let i = 0; i < key.length; i++) if (key[i] === 0) n++;
  return n;
}

/** Writes prefix ‖ enc(key) with terminator byte `term`, leaving `extra` bytes at the end. Returns [buf, endOfEncoding]. */
function encodeInto(key: Uint8Array, term: number, extra: number): [Uint8Array, number] {
  const out = writeBytes(1 + encodedLength(key) + extra);
  out[0] = Keyspace.MvccKeyIndex;
  let j = 1;
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    out[j++] = b;
    if (b === 0) out[j++] = ESCAPE;
  }
  out[j++] = 0;
  out[j++] = term;
  return [out, j];
}

/** Order-preserving, prefix-free encoding of arbitrary bytes (without keyspace prefix). Exposed for tests. */
export function encodeUserKey(key: Uint8Array): Uint8Array {
  return encodeInto(key, TERM, 0)[0].subarray(1);
}

/** Index key for the entry of `key` written at `rev`. */
export function indexKey(key: Uint8Array, rev: Revision): Uint8Array {
  const [out, j] = encodeInto(key, TERM, REVISION_BYTES);
  writeDescRevision(out, j, rev);
  return out;
}

/** Seek key: the first index entry ≥ this is the newest entry of `key` with main revision ≤ `atMain`. */
export function indexSeekAt(key: Uint8Array, atMain: bigint): Uint8Array {
  return indexKey(key, { main: atMain, sub: MAX_SUB });
}

/** [gte, lt) covering every index entry of exactly `key`. */
export function indexKeyBounds(key: Uint8Array): { gte: Uint8Array; lt: Uint8Array } {
  return { gte: encodeInto(key, TERM, 0)[0], lt: encodeInto(key, TERM_AFTER, 0)[0] };
}

/** Index-key bound after every entry of `key` (where the next user key starts). */
export function indexKeyAfter(key: Uint8Array): Uint8Array {
  return encodeInto(key, TERM_AFTER, 0)[0];
}

const INDEX_END = Uint8Array.of(Keyspace.MvccKeyIndex + 1);

/**
 * Index-space bounds of etcd's [key, rangeEnd) request: empty rangeEnd = exactly `key`;
 * rangeEnd = "\0" = every key ≥ `key`; otherwise [key, rangeEnd) (empty when rangeEnd ≤ key).
 */
export function indexRangeBounds(key: Uint8Array, rangeEnd: Uint8Array | undefined): { gte: Uint8Array; lt: Uint8Array } {
  if (rangeEnd === undefined || rangeEnd.length === 0) return indexKeyBounds(key);
  const gte = encodeInto(key, TERM, 0)[0];
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { gte, lt: INDEX_END };
  return { gte, lt: encodeInto(rangeEnd, TERM, 0)[0] };
}

/** Splits an index key into user key and revision. Throws on a malformed key (a broken invariant). */
export function decodeIndexKey(ik: Uint8Array): { key: Uint8Array; rev: Revision } {
  if (ik[0] !== Keyspace.MvccKeyIndex || ik.length < 1 + 2 + REVISION_BYTES) throw new Error('mvcc: malformed index key');
  const end = ik.length - REVISION_BYTES - 2; // position of the terminator's 0x00
  const out = new Uint8Array(end - 1);
  let n = 0;
  for (let i = 1; i < end; i++) {
    const b = ik[i] as number;
    out[n++] = b;
    if (b === 0) i++; // skip escape byte
  }
  return { key: n === out.length ? out : out.slice(0, n), rev: readDescRevision(ik, ik.length - REVISION_BYTES) };
}

/** Length of `0x11 ‖ enc(key)` inside an index key: entries of the same user key share these bytes. */
export function indexKeyPrefixLength(ik: Uint8Array): number {
  return ik.length - REVISION_BYTES;
}

/** Head key of `key`: its newest entry, for point lookups (`get`/`getMany`, bloom filters) instead of a seek. */
export function headKey(key: Uint8Array): Uint8Array {
  const out = writeBytes(1 + key.length);
  out[0] = Keyspace.MvccHead;
  out.set(key, 1);
  return out;
}

/** Revision keyspace key. */
export function revisionKey(rev: Revision): Uint8Array {
  const out = new Uint8Array(1 + REVISION_BYTES);
  out[0] = Keyspace.MvccRevision;
  writeRevision(out, 1, rev);
  return out;
}

/** First revision-keyspace key of main revision `main`. */
export function revisionKeyStart(main: bigint): Uint8Array {
  return revisionKey({ main, sub: 0n });
}

export function decodeRevisionKey(rk: Uint8Array): Revision {
  if (rk[0] !== Keyspace.MvccRevision || rk.length !== 1 + REVISION_BYTES) throw new Error('mvcc: malformed revision key');
  return readRevision(rk, 1);
}

export const REVISION_KEYSPACE = { gte: Uint8Array.of(Keyspace.MvccRevision), lt: Uint8Array.of(Keyspace.MvccRevision + 1) };
export const INDEX_KEYSPACE = { gte: Uint8Array.of(Keyspace.MvccKeyIndex), lt: INDEX_END };

/** MVCC's records in the shared Meta keyspace. */
export const META_COMPACT_SCHEDULED = metaKey('mvcc/compact-scheduled');
export const META_COMPACT_FINISHED = metaKey('mvcc/compact-finished');
/** Present when every key's head record is maintained (written by the store on a fresh database). */
export const META_HEADS = metaKey('mvcc/heads');
/**
 * The lowest current revision (u64 BE as encodeRev): set by a snapshot restore with
 * `--bump-revision`, so the restored store continues above every revision it ever handed out.
 */
export const META_REVISION_FLOOR = metaKey('mvcc/revision-floor');

function metaKey(name: string): Uint8Array {
  const s = new TextEncoder().encode(name);
  const out = new Uint8Array(1 + s.length);
  out[0] = Keyspace.Meta;
  out.set(s, 1);
  return out;
}

/** memcmp order. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array, len?: number): boolean {
  const n = len ?? a.length;
  if (len === undefined && a.length !== b.length) return false;
  if (a.length < n || b.length < n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Does user key `k` fall in etcd's [key, rangeEnd) (same rules as indexRangeBounds)? */
export function inRange(k: Uint8Array, key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
  if (rangeEnd === undefined || rangeEnd.length === 0) return compareBytes(k, key) === 0;
  if (compareBytes(k, key) < 0) return false;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return true;
  return compareBytes(k, rangeEnd) < 0;
}
