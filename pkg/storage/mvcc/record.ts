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
import { readI64BE, readU32BE, readU64BE, writeI64BE, writeU32BE, writeU64BE } from '../be.js';
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
  writeTriple(out, 1, e);
  return out;
}

/** create ‖ version ‖ lease at `off` (24 bytes). */
function writeTriple(out: Uint8Array, off: number, e: IndexEntry): void {
  writeU64BE(out, off, e.createRevision);
  writeU64BE(out, off + 8, e.version);
  writeI64BE(out, off + 16, e.lease);
}

export function decodeIndexRecord(key: Uint8Array, rev: Revision, v: Uint8Array): IndexEntry {
  if (((v[0] as number) & TOMBSTONE) !== 0) {
    return { key, rev, tombstone: true, createRevision: 0n, version: 0n, lease: 0n };
  }
  return { key, rev, tombstone: false, createRevision: readU64BE(v, 1), version: readU64BE(v, 9), lease: readI64BE(v, 17) };
}

export function encodeEventRecord(e: IndexEntry, value: Uint8Array): Uint8Array {
  const head = 5 + e.key.length;
  if (e.tombstone) {
    const out = writeBytes(head);
    out[0] = TOMBSTONE;
    writeU32BE(out, 1, e.key.length);
    out.set(e.key, 5);
    return out;
  }
  const out = writeBytes(head + 24 + value.length);
  out[0] = 0;
  writeU32BE(out, 1, e.key.length);
  out.set(e.key, 5);
  writeTriple(out, head, e);
  out.set(value, head + 24);
  return out;
}

/** Head record: the index record of the key's newest (live) entry ‖ main u64 ‖ sub u64. */
export function encodeHeadRecord(e: IndexEntry): Uint8Array {
  if (e.tombstone) {
    const out = new Uint8Array(17);
    out[0] = TOMBSTONE;
    writeU64BE(out, 1, e.rev.main);
    writeU64BE(out, 9, e.rev.sub);
    return out;
  }
  const out = new Uint8Array(41);
  writeTriple(out, 1, e);
  writeU64BE(out, 25, e.rev.main);
  writeU64BE(out, 33, e.rev.sub);
  return out;
}

export function decodeHeadRecord(key: Uint8Array, v: Uint8Array): IndexEntry {
  const rev = { main: readU64BE(v, v.length - 16), sub: readU64BE(v, v.length - 8) };
  return decodeIndexRecord(key, rev, v.subarray(0, v.length - 16));
}

export interface EventRecord {
  readonly tombstone: boolean;
  readonly kv: KeyValue;
}

/** Decodes an event record written at `rev`. For a tombstone, kv has only key and modRevision. */
export function decodeEventRecord(rev: Revision, v: Uint8Array): EventRecord {
  const keyLen = readU32BE(v, 1);
  const key = new Uint8Array(v.subarray(5, 5 + keyLen));
  if (((v[0] as number) & TOMBSTONE) !== 0) {
    return { tombstone: true, kv: { key, createRevision: 0n, modRevision: rev.main, version: 0n, value: new Uint8Array(0), lease: 0n } };
  }
  const head = 5 + keyLen;
  return {
    tombstone: false,
    kv: {
      key,
      createRevision: readU64BE(v, head),
      modRevision: rev.main,
      version: readU64BE(v, head + 8),
      value: new Uint8Array(v.subarray(head + 24)),
      lease: readI64BE(v, head + 16),
    },
  };
}

/** Value bytes of a put record without decoding the rest (a plain Uint8Array copy, not a Buffer view). */
export function eventRecordValue(v: Uint8Array): Uint8Array {
  const keyLen = readU32BE(v, 1);
  return new Uint8Array(v.subarray(5 + keyLen + 24));
}
