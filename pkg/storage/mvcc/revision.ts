/**
 * MVCC revisions: `main` is the store revision a write request created, `sub` orders the changes
 * inside that request (a Txn touching three keys writes subs 0, 1, 2). Both are int64 in etcd, so
 * they are `bigint` here; the encodings below are 16 bytes, big-endian, so byte order = revision order.
 */
import { readU64BE, writeU64BE } from '../be.js';

export interface Revision {
  readonly main: bigint;
  readonly sub: bigint;
}

export const REVISION_BYTES = 16;

/** Writes `main,sub` big-endian (ascending order) at `offset`. Both must be in [0, 2^63). */
export function writeRevision(out: Uint8Array, offset: number, rev: Revision): void {
  writeU64BE(out, offset, rev.main);
  writeU64BE(out, offset + 8, rev.sub);
}

/**
 * Writes the bitwise complement of `main,sub` so that byte order is DESCENDING revision order:
 * in the key index, the newest revision of a user key sorts first.
 */
export function writeDescRevision(out: Uint8Array, offset: number, rev: Revision): void {
  writeU64BE(out, offset, rev.main, true);
  writeU64BE(out, offset + 8, rev.sub, true);
}

export function readRevision(buf: Uint8Array, offset: number): Revision {
  return { main: readU64BE(buf, offset), sub: readU64BE(buf, offset + 8) };
}

export function readDescRevision(buf: Uint8Array, offset: number): Revision {
  return { main: readU64BE(buf, offset, true), sub: readU64BE(buf, offset + 8, true) };
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
