/**
 * `snapshot status`: what a snapshot file holds, in etcd's four numbers. berth's file is not a bbolt
 * database, so the hash is berth's own: CRC-32C over every record's key and value in file order
 * (etcd hashes bucket names, keys and values of its db with the same polynomial). The revision is
 * the store's current revision at the snapshot (what a restore continues from).
 */
import { Keyspace } from '../../storage/engine/index.js';
import { crc32c } from '../../storage/wal/index.js';
import { decodeRevisionKey, META_COMPACT_SCHEDULED, META_REVISION_FLOOR } from '../../storage/mvcc/keys.js';
import { decodeRev } from '../../storage/mvcc/compactor.js';
import { readSnapshotFile } from '../api/maintenance-snapshot.js';

export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: bigint;
  readonly totalKey: number;
  readonly totalSize: number;
}

/** Reads and verifies the file (sha256 trailer required); rejects with the reader's messages. */
export async function snapshotFileStatus(path: string): Promise<SnapshotStatus> {
  let hash = 0;
  let revision = 1n;
  const scheduled = Buffer.from(META_COMPACT_SCHEDULED);
  const floor = Buffer.from(META_REVISION_FLOOR);
  const s = await readSnapshotFile(path, {
    onRecords: async (records) => {
      for (const r of records) {
        hash = crc32c(r.value, crc32c(r.key, hash));
        let rev: bigint | undefined;
        if (r.key[0] === Keyspace.MvccRevision) rev = decodeRevisionKey(r.key).main;
        else if (scheduled.equals(r.key) || floor.equals(r.key)) rev = decodeRev(r.value);
        if (rev !== undefined && rev > revision) revision = rev;
      }
    },
  });
  return { hash: hash >>> 0, revision, totalKey: s.records, totalSize: s.size };
}
