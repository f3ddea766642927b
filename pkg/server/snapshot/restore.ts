/**
 * `snapshot restore`: builds the data dir of one member of a NEW cluster from a snapshot file (the
 * archive Maintenance.Snapshot streams, see ../api/maintenance-snapshot.ts).
 *
 * What is kept and what is new (etcd's restore does the same, see docs/berthctl.md):
 * - kept: the MVCC history and counters (revisions, compaction), leases, auth;
 * - new: membership (the --initial-cluster, member and cluster IDs derived from it and the token, as
 *   a fresh bootstrap does), the raft log (fresh: the bootstrap snapshot at index 1), the applied index;
 * - dropped: alarms (they name members of the old cluster);
 * - reset: each lease's checkpointed remaining TTL, so leases restart with their granted TTL.
 *
 * Everything is built in a sibling directory (records unsynced in bounded batches, then the bootstrap's
 * synced writes) and renamed to the data dir at the end, so the data dir either does not exist (or is
 * the empty dir it was) or is complete; on any failure the sibling is removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ClusterMember } from '../../config/index.js';
import { MemberStore } from '../../membership/members.js';
import { decodeLeaseRecord, encodeLeaseRecord } from '../../lease/record.js';
import { Engine, Keyspace, put, type BatchOp } from '../../storage/engine/index.js';
import { Wal } from '../../storage/wal/index.js';
import { decodeRevisionKey, META_COMPACT_SCHEDULED, META_REVISION_FLOOR } from '../../storage/mvcc/keys.js';
import { decodeRev, encodeRev } from '../../storage/mvcc/compactor.js';
import { readSnapshotFile } from '../api/maintenance-snapshot.js';
import { loadOrBootstrap } from '../bootstrap.js';
import { clusterIdOf, memberIdOf } from '../ids.js';
import { fsyncDir } from './fsync-dir.js';

export interface RestoreOptions {
  readonly snapshotPath: string;
  readonly name: string;
  readonly initialCluster: readonly ClusterMember[];
  readonly initialClusterToken: string;
  /** This member's --initial-advertise-peer-urls (canonical URLs); must be its --initial-cluster entry. */
  readonly advertisePeerUrls: readonly string[];
  readonly dataDir: string;
  readonly skipHashCheck?: boolean;
  /** Added to the snapshot's current revision (0: none). */
  readonly bumpRevision?: bigint;
  /** Record a compaction at the (bumped) revision. */
  readonly markCompacted?: boolean;
}

export type RestoreResult =
  | { ok: true; memberId: bigint; clusterId: bigint; revision: bigint; records: number }
  | { ok: false; message: string };

const text = new TextEncoder();
const APPLIED_INDEX = Buffer.concat([Buffer.of(Keyspace.Meta), Buffer.from('applied-index')]);
const ALARM_PREFIX = Buffer.concat([Buffer.of(Keyspace.Meta), Buffer.from(text.encode('alarm/'))]);

/** Rewrites (or drops, with undefined) one record of the old cluster's state for the new cluster. */
function carryOver(key: Uint8Array, value: Uint8Array): Uint8Array | undefined {
  const ks = key[0];
  if (ks === Keyspace.Membership) return undefined;
  if (ks === Keyspace.Meta) {
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    if (k.equals(APPLIED_INDEX) || (k.length >= ALARM_PREFIX.length && k.subarray(0, ALARM_PREFIX.length).equals(ALARM_PREFIX))) return undefined;
    return value;
  }
  if (ks === Keyspace.Lease) {
    const r = decodeLeaseRecord(key, value);
    return encodeLeaseRecord({ ...r, remainingTtl: 0n });
  }
  return value;
}

async function dirInUse(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    return true; // "could not be read"
  }
}

/**
 * Restores `o.snapshotPath` into the new data dir `o.dataDir`. Fails (as a value, with etcd's message
 * where etcd has one) on a non-empty data dir, a bad member list, a hash mismatch or a malformed file;
 * the data dir is then left as it was found.
 */
export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  const self = o.initialCluster.find((m) => m.name === o.name);
  if (self === undefined) return { ok: false, message: `couldn't find local name ${JSON.stringify(o.name)} in the initial cluster configuration` };
  const advertised = [...o.advertisePeerUrls].sort();
  if (advertised.join(',') !== [...self.peerUrls].sort().join(',')) {
    return {
      ok: false,
      message: `--initial-cluster has ${o.name}=${self.peerUrls.join(',')} but missing from --initial-advertise-peer-urls=${advertised.join(',')}`,
    };
  }
  const ids = o.initialCluster.map((m) => memberIdOf(m.peerUrls, o.initialClusterToken));
  if (new Set(ids).size !== ids.length) return { ok: false, message: '--initial-cluster has duplicate peer URLs' };
  if (await dirInUse(o.dataDir)) return { ok: false, message: `data-dir ${JSON.stringify(o.dataDir)} not empty or could not be read` };

  // Built in a sibling dir and renamed into place: a crash mid-restore never leaves a half-restored
  // data dir that berth would bootstrap on.
  const building = `${o.dataDir.replace(/\/+$/, '')}.restoring-${randomBytes(4).toString('hex')}`;
  const dbDir = join(building, 'member', 'db');
  await mkdir(dbDir, { recursive: true });
  await mkdir(join(building, 'member', 'snap'), { recursive: true });
  let engine: Engine | undefined;
  try {
    engine = await Engine.open(dbDir);
    const db = engine;
    const wal = await Wal.open(db);
    let lastRev = 1n;
    let scheduled = -1n;
    const summary = await readSnapshotFile(o.snapshotPath, {
      skipHashCheck: o.skipHashCheck === true,
      onRecords: async (records) => {
        const ops: BatchOp[] = [];
        for (const r of records) {
          if ((r.key[0] ?? 0) < Keyspace.MvccRevision || r.key[0] === 0xff) throw new Error('snapshot file: record outside the state keyspaces');
          if (r.key[0] === Keyspace.MvccRevision) {
            const main = decodeRevisionKey(r.key).main;
            if (main > lastRev) lastRev = main;
          }
          if (Buffer.from(r.key).equals(Buffer.from(META_COMPACT_SCHEDULED))) scheduled = decodeRev(r.value) ?? -1n;
          const v = carryOver(r.key, r.value);
          if (v !== undefined) ops.push(put(r.key, v));
        }
        if (ops.length > 0) await db.write(ops);
      },
    });
    let revision = lastRev > scheduled ? lastRev : scheduled;
    const bump = o.bumpRevision ?? 0n;
    if (bump > 0n) {
      revision += bump;
      const ops: BatchOp[] = [put(META_REVISION_FLOOR, encodeRev(revision))];
      // Physical compaction at `revision` runs when the member opens the store (scheduled > finished).
      if (o.markCompacted === true) ops.push(put(META_COMPACT_SCHEDULED, encodeRev(revision)));
      await db.write(ops);
    }
    const members = await MemberStore.load(db);
    const boot = await loadOrBootstrap(
      { name: o.name, initialCluster: o.initialCluster, initialClusterToken: o.initialClusterToken, initialClusterState: 'new' },
      { engine: db, wal, members },
    );
    if (!boot.ok) throw new Error(boot.message);
    await wal.close();
    await db.close();
    engine = undefined;
    await rename(building, o.dataDir); // replaces an empty dir; a non-empty one was refused above
    await fsyncDir(dirname(resolve(o.dataDir)));
    return { ok: true, memberId: boot.memberId, clusterId: clusterIdOf(ids), revision, records: summary.records };
  } catch (err) {
    await engine?.close().catch(() => undefined);
    await rm(building, { recursive: true, force: true });
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}
