/**
 * Reads of the key index at a revision. The index holds, per user key, entries newest-first; the
 * state of a key at revision r is its first entry with main ≤ r (a tombstone means "absent").
 */
import type { MvccBackend } from './backend.js';
import { decodeIndexKey, indexKeyAfter, indexSeekAt, revisionKey } from './keys.js';
import { decodeIndexRecord, type IndexEntry } from './record.js';
import { MAX_SUB, readDescRevision, REVISION_BYTES, writeDescRevision } from './revision.js';

/**
 * After this many skipped entries of one user key, re-seek instead of stepping (hot keys with long
 * history). Stepping costs ~1 µs per entry, a re-seek a new iterator (two thread-pool round trips).
 */
const RESEEK_AFTER = 128;
const GET_MANY_CHUNK = 1000;
const GET_MANY_PARALLEL = 3;

export interface ScanOptions {
  /** Collect at most this many live entries; 0 = no bound. */
  readonly limit: number;
  /** Keep scanning after the limit to count every live key. */
  readonly count: boolean;
  /** Collect entries at all (false for count-only). */
  readonly collect: boolean;
}

export interface ScanResult {
  readonly entries: IndexEntry[];
  readonly count: number;
}

function afterKeyOf(ik: Uint8Array, prefixLen: number): Uint8Array {
  const out = new Uint8Array(ik.subarray(0, prefixLen)); // a copy: ik may be a Buffer owned by the engine
  out[prefixLen - 1] = 0x02; // terminator 0x00 0x01 → 0x00 0x02: past every entry of this user key
  return out;
}

function seekKeyOf(ik: Uint8Array, prefixLen: number, atMain: bigint): Uint8Array {
  const out = new Uint8Array(prefixLen + REVISION_BYTES);
  out.set(ik.subarray(0, prefixLen));
  writeDescRevision(out, prefixLen, { main: atMain, sub: MAX_SUB });
  return out;
}

/**
 * Live entries of the user keys whose index keys fall in [gte, lt), as of main revision `atMain`,
 * in key order. Memory: O(collected entries); the scan itself streams.
 */
export async function scanIndex(
  db: MvccBackend,
  bounds: { readonly gte: Uint8Array; readonly lt: Uint8Array },
  atMain: bigint,
  opts: ScanOptions,
): Promise<ScanResult> {
  const entries: IndexEntry[] = [];
  let count = 0;
  let gte = bounds.gte;
  // ~atMain big-endian: an entry's main revision is > atMain iff its 8 stored bytes sort below these.
  const atDesc = Buffer.alloc(8);
  atDesc.writeBigUInt64BE(U64_MAX ^ atMain);
  let prefix: Buffer | null = null;
  let prefixLen = 0;
  let resolved = false;
  let skipped = 0;
  for (;;) {
    let reseek: Uint8Array | null = null;
    let from: Buffer | null = null;
    let done = false;
    // Counting reads to the end of the range: overlap the next chunk's read with this one's decoding.
    scan: for await (const chunk of db.iterateChunks({ gte, lt: bounds.lt, readAhead: opts.count })) {
      for (const { key, value } of chunk) {
        const ik = asBuffer(key);
        const pl = ik.length - REVISION_BYTES;
        if (prefix === null || pl !== prefixLen || ik.compare(prefix, 0, pl, 0, pl) !== 0) {
          prefix = ik;
          prefixLen = pl;
          resolved = false;
          skipped = 0;
        } else if (resolved) {
          if (++skipped > RESEEK_AFTER) {
            reseek = afterKeyOf(ik, pl);
            from = ik;
            break scan;
          }
          continue;
        }
        if (ik.compare(atDesc, 0, 8, pl, pl + 8) < 0) {
          // newer than atMain
          if (++skipped > RESEEK_AFTER) {
            reseek = seekKeyOf(ik, pl, atMain);
            from = ik;
            break scan;
          }
          continue;
        }
        resolved = true;
        skipped = 0;
        if (((value[0] as number) & 1) !== 0) continue; // tombstone: absent at atMain
        count++;
        if (opts.collect && (opts.limit === 0 || entries.length < opts.limit)) {
          entries.push(decodeIndexRecord(decodeIndexKey(ik).key, readDescRevision(ik, pl), value));
        } else if (!opts.count) {
          done = true;
          break scan;
        }
      }
    }
    if (done || reseek === null) break;
    // Every re-seek moves strictly forward (past the key, or to an older revision of it), so the
    // loop ends; a seek that does not advance is a broken invariant, not a reason to spin.
    if (from === null || Buffer.compare(asBuffer(reseek), from) <= 0) throw new Error('mvcc: index scan did not advance');
    gte = reseek;
  }
  return { entries, count };
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** The newest index entry of `key` with main ≤ atMain (possibly a tombstone), or undefined. One seek. */
export async function entryAt(db: MvccBackend, key: Uint8Array, atMain: bigint): Promise<IndexEntry | undefined> {
  for await (const { key: ik, value } of db.iterate({ gte: indexSeekAt(key, atMain), lt: indexKeyAfter(key), limit: 1 })) {
    return decodeIndexRecord(key, readDescRevision(ik, ik.length - REVISION_BYTES), value);
  }
  return undefined;
}

/**
 * The event records of `entries` (undefined where compaction removed one meanwhile), fetched with
 * multi-gets of bounded size, a few in flight so large ranges use more than one pool thread.
 */
export async function fetchRecords(db: MvccBackend, entries: readonly IndexEntry[]): Promise<(Uint8Array | undefined)[]> {
  if (entries.length <= GET_MANY_CHUNK) return db.getMany(entries.map((e) => revisionKey(e.rev)));
  const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(entries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const start = next;
      next += GET_MANY_CHUNK;
      const got = await db.getMany(entries.slice(start, start + GET_MANY_CHUNK).map((e) => revisionKey(e.rev)));
      for (let i = 0; i < got.length; i++) out[start + i] = got[i];
    }
  };
  await Promise.all(Array.from({ length: GET_MANY_PARALLEL }, worker));
  return out;
}
