/**
 * Value encodings of the two MVCC keyspaces.
 *
 * Index record (key index value), 1 or 25 bytes:
 *   flags(u8: bit0 = tombstone) [‖ create(u64) ‖ version(u64) ‖ lease(i64)]  — the triple only for puts.
 * Event record (revision keyspace value):
 *   flags(u8) ‖ keyLen(u32) ‖ key [‖ create(u64) ‖ version(u64) ‖ lease(i64) ‖ value]  — the tail only for puts.
 * The mod revision of both is the revision in their key. All integers big-endian.
 */
import type { Revision } from './revision.js';
import { writeBytes } from './keys.js';
import type { KeyValue } from './types.js';

const TOMBSTONE = 1;

/** What the key index knows about one revision of one user key. */
export interface IndexEntry {
  readonly key: Uint8Array;
  readonly rev: Revision;
  readonly tombstone: boolean;
  readonly createRevision: bigint;
  readonly version: bigint;
  readonly lease: bigint;
}

export function encodeIndexRecord(e: IndexEntry): Uint8Array {
  if (e.tombstone) return Uint8Array.of(TOMBSTONE);
  const out = new Uint8Array(25);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setBigUint64(1, e.createRevision);
  dv.setBigUint64(9, e.version);
  dv.setBigInt64(17, e.lease);
  return out;
}

export function decodeIndexRecord(key: Uint8Array, rev: Revision, v: Uint8Array): IndexEntry {
  if (((v[0] as number) & TOMBSTONE) !== 0) {
    return { key, rev, tombstone: true, createRevision: 0n, version: 0n, lease: 0n };
  }
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return { key, rev, tombstone: false, createRevision: dv.getBigUint64(1), version: dv.getBigUint64(9), lease: dv.getBigInt64(17) };
}

export function encodeEventRecord(e: IndexEntry, value: Uint8Array): Uint8Array {
  const head = 5 + e.key.length;
  if (e.tombstone) {
    const out = writeBytes(head);
    out[0] = TOMBSTONE;
    new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(1, e.key.length);
    out.set(e.key, 5);
    return out;
  }
  const out = writeBytes(head + 24 + value.length);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out[0] = 0;
  dv.setUint32(1, e.key.length);
  out.set(e.key, 5);
  dv.setBigUint64(head, e.createRevision);
  dv.setBigUint64(head + 8, e.version);
  dv.setBigInt64(head + 16, e.lease);
  out.set(value, head + 24);
  return out;
}

/** Head record: the index record of the key's newest (live) entry ‖ main u64 ‖ sub u64. */
export function encodeHeadRecord(e: IndexEntry): Uint8Array {
  const idx = encodeIndexRecord(e);
  const out = new Uint8Array(idx.length + 16);
  out.set(idx, 0);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setBigUint64(idx.length, e.rev.main);
  dv.setBigUint64(idx.length + 8, e.rev.sub);
  return out;
}

export function decodeHeadRecord(key: Uint8Array, v: Uint8Array): IndexEntry {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const rev = { main: dv.getBigUint64(v.length - 16), sub: dv.getBigUint64(v.length - 8) };
  return decodeIndexRecord(key, rev, v.subarray(0, v.length - 16));
}

export interface EventRecord {
  readonly tombstone: boolean;
  readonly kv: KeyValue;
}

/** Decodes an event record written at `rev`. For a tombstone, kv has only key and modRevision. */
export function decodeEventRecord(rev: Revision, v: Uint8Array): EventRecord {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const keyLen = dv.getUint32(1);
  const key = new Uint8Array(v.subarray(5, 5 + keyLen));
  if (((v[0] as number) & TOMBSTONE) !== 0) {
    return { tombstone: true, kv: { key, createRevision: 0n, modRevision: rev.main, version: 0n, value: new Uint8Array(0), lease: 0n } };
  }
  const head = 5 + keyLen;
  return {
    tombstone: false,
    kv: {
      key,
      createRevision: dv.getBigUint64(head),
      modRevision: rev.main,
      version: dv.getBigUint64(head + 8),
      value: new Uint8Array(v.subarray(head + 24)),
      lease: dv.getBigInt64(head + 16),
    },
  };
}

/** Value bytes of a put record without decoding the rest (a plain Uint8Array copy, not a Buffer view). */
export function eventRecordValue(v: Uint8Array): Uint8Array {
  const keyLen = new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(1);
  return new Uint8Array(v.subarray(5 + keyLen + 24));
}
