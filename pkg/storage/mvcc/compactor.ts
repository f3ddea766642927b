/**
 * Physical compaction of history at revision C, in bounded batches off the write path.
 *
 * For every user key: its newest entry with main ≤ C is kept if it is a put (it is the key's value
 * at C) and removed if it is a tombstone; every older entry is removed, together with its event
 * record. Entries of revision C itself are all kept, so history read from C on (watch catch-up
 * from the compaction revision, which etcd allows) is complete, tombstones included; the next
 * compaction removes them. A tombstone is deleted only after (same or later batch) every older entry of its key, so a
 * crash between batches never resurrects an older value: re-running the same compaction after a
 * crash is idempotent, which is how an interrupted compaction resumes on open.
 */
import { del, put, type BatchOp } from '../engine/index.js';
import type { MvccBackend } from './backend.js';
import { bytesEqual, INDEX_KEYSPACE, META_COMPACT_FINISHED, revisionKey } from './keys.js';
import { readDescRevision, REVISION_BYTES } from './revision.js';
import { failpoint } from '../../failpoint/index.js';

export interface CompactionOptions {
  /** Deletions per write batch. */
  readonly batchSize: number;
  /** Asked after each batch; false stops the run (it resumes on the next open). */
  readonly proceed: (batch: number) => boolean | Promise<boolean>;
  /** Checked per scanned chunk: true stops the run (the store is closing). */
  readonly stopping: () => boolean;
  /** After each written batch: how many revisions (index entry + event record) it removed. */
  readonly removed?: (revisions: number) => void;
}

export function encodeRev(rev: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, rev);
  return out;
}

export function decodeRev(v: Uint8Array | undefined): bigint | undefined {
  if (v === undefined || v.length !== 8) return undefined;
  return new DataView(v.buffer, v.byteOffset, 8).getBigInt64(0);
}

/** Returns true when the compaction completed (and the finished marker is durable), false if stopped. */
export async function compactHistory(db: MvccBackend, C: bigint, opts: CompactionOptions): Promise<boolean> {
  let ops: BatchOp[] = [];
  let batch = 0;
  let prefix: Uint8Array | null = null;
  let prefixLen = 0;
  let found = false;
  let tomb: BatchOp[] | null = null;
  const flush = async (): Promise<boolean> => {
    if (ops.length === 0) return true;
    await db.write(ops);
    opts.removed?.(ops.length / 2);
    ops = [];
    batch++;
    failpoint('compact-between-batches');
    return opts.proceed(batch);
  };
  for await (const chunk of db.iterateChunks({ ...INDEX_KEYSPACE, fillCache: false })) {
    if (opts.stopping()) return false;
    for (const { key: ik, value } of chunk) {
      const pl = ik.length - REVISION_BYTES;
      if (prefix === null || pl !== prefixLen || !bytesEqual(ik, prefix, pl)) {
        if (tomb !== null) ops.push(...tomb);
        tomb = null;
        prefix = ik;
        prefixLen = pl;
        found = false;
      }
      const rev = readDescRevision(ik, pl);
      if (rev.main > C) continue;
      if (!found) {
        found = true;
        if (rev.main < C && ((value[0] as number) & 1) !== 0) tomb = [del(ik), del(revisionKey(rev))];
        continue;
      }
      if (rev.main === C) continue;
      ops.push(del(ik), del(revisionKey(rev)));
      if (ops.length >= opts.batchSize && !(await flush())) return false;
    }
  }
  if (tomb !== null) ops.push(...tomb);
  const last = ops.length / 2;
  ops.push(put(META_COMPACT_FINISHED, encodeRev(C)));
  await db.write(ops, { sync: true });
  opts.removed?.(last);
  return true;
}
