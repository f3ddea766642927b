/**
 * Deterministic history hashes (etcd's Hash/HashKV). CRC-32 (zlib's) over the stored bytes, in key
 * order, so members with the same history produce the same value. Callers wait for physical
 * compaction first: the hash then depends only on the logical history, not on compaction progress.
 */
import { crc32 } from 'node:zlib';
import type { MvccBackend } from './backend.js';
import { INDEX_KEYSPACE, REVISION_KEYSPACE, revisionKeyStart } from './keys.js';

/** Hash of every event record with main revision ≤ `upTo`. */
export async function hashHistory(db: MvccBackend, upTo: bigint): Promise<number> {
  let h = 0;
  for await (const chunk of db.iterateChunks({ gte: REVISION_KEYSPACE.gte, lt: revisionKeyStart(upTo + 1n), fillCache: false })) {
    for (const { key, value } of chunk) h = crc32(value, crc32(key, h));
  }
  return h >>> 0;
}

/** Hash of both MVCC keyspaces in full. */
export async function hashAll(db: MvccBackend): Promise<number> {
  let h = 0;
  for (const ks of [REVISION_KEYSPACE, INDEX_KEYSPACE]) {
    for await (const chunk of db.iterateChunks({ ...ks, fillCache: false })) {
      for (const { key, value } of chunk) h = crc32(value, crc32(key, h));
    }
  }
  return h >>> 0;
}
