/**
 * First start of a member of a new cluster: every member derives the same IDs from
 * --initial-cluster and --initial-cluster-token and writes the same initial state, so they agree
 * without talking: a raft snapshot at index 1, term 1 whose configuration is the initial voters
 * (etcd writes the same information as conf-change entries 1..N), and the member records.
 * A member joining a running cluster (--initial-cluster-state existing) instead learns the cluster ID,
 * the members and its own ID from a member of that cluster (membership/join.ts).
 */
import type { Config } from '../config/index.js';
import { Keyspace, keyIn, put, type BatchOp, type Engine } from '../storage/engine/index.js';
import type { Wal } from '../storage/wal/index.js';
import type { MemberStore } from '../membership/members.js';
import { appliedIndexOp } from './apply/applied-index.js';
import { clusterIdOf, memberIdOf } from './ids.js';
import { discoverCluster } from './membership/join.js';
import type { PeerCredentials } from './membership/peer-service.js';

// Outside the state keyspaces: a snapshot taken here and restored elsewhere must not carry our identity.
const SELF_KEY = keyIn(Keyspace.Local, Buffer.from('member-id'));

export type BootstrapResult = { ok: true; memberId: bigint; fresh: boolean } | { ok: false; message: string };

/** What bootstrap reads of the configuration (also what `berthctl snapshot restore` passes). */
export type BootstrapConfig = Pick<Config, 'name' | 'initialCluster' | 'initialClusterToken' | 'initialClusterState'> &
  Partial<Pick<Config, 'electionTimeoutMs' | 'heartbeatIntervalMs'>>;

export async function loadOrBootstrap(
  cfg: BootstrapConfig,
  deps: { engine: Engine; wal: Wal; members: MemberStore; peerCredentials?: PeerCredentials },
): Promise<BootstrapResult> {
  const { engine, wal, members } = deps;
  const stored = await engine.get(SELF_KEY);
  if (stored !== undefined) {
    return { ok: true, memberId: Buffer.from(stored).readBigUInt64BE(0), fresh: false };
  }
  // The WAL snapshot is written first and the identity last, so a crash in between leaves a log that
  // holds exactly the bootstrap snapshot: finishing the bootstrap is then safe.
  const halfway = wal.lastIndex() === 1 && wal.snapshot().metadata.index === 1;
  if (wal.lastIndex() !== 0 && !halfway) {
    return { ok: false, message: 'data dir has a raft log but no member identity (corrupt data dir?)' };
  }
  if (cfg.initialClusterState === 'existing') {
    // Joining: no bootstrap snapshot; the leader sends the state (a raft snapshot, since its log starts
    // after the bootstrap index) and the configuration once our ID is in it.
    const info = await discoverCluster(cfg, {
      timeoutMs: 5000 + 2 * (cfg.electionTimeoutMs ?? 1000),
      retryMs: (cfg.heartbeatIntervalMs ?? 100) * 5,
      ...(deps.peerCredentials === undefined ? {} : { credentials: deps.peerCredentials }),
    });
    if (!info.ok) return info;
    const ops: BatchOp[] = [members.setClusterId(info.clusterId)];
    for (const m of info.members) ops.push(members.upsert(m));
    const idBytes = Buffer.alloc(8);
    idBytes.writeBigUInt64BE(info.memberId);
    ops.push(put(SELF_KEY, idBytes));
    await engine.write(ops, { sync: true });
    return { ok: true, memberId: info.memberId, fresh: true };
  }
  const initial = cfg.initialCluster.map((m) => ({ ...m, id: memberIdOf(m.peerUrls, cfg.initialClusterToken) }));
  const self = initial.find((m) => m.name === cfg.name);
  if (self === undefined) return { ok: false, message: `--initial-cluster has no member named ${JSON.stringify(cfg.name)}` };
  const ids = initial.map((m) => m.id);
  if (new Set(ids).size !== ids.length) return { ok: false, message: '--initial-cluster has duplicate peer URLs' };

  const ops: BatchOp[] = [members.setClusterId(clusterIdOf(ids))];
  for (const m of initial) ops.push(members.upsert({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false }));
  const idBytes = Buffer.alloc(8);
  idBytes.writeBigUInt64BE(self.id);
  ops.push(put(SELF_KEY, idBytes), appliedIndexOp({ index: 1, term: 1 }));
  if (!halfway) {
    await wal.save({
      snapshot: {
        metadata: {
          index: 1,
          term: 1,
          confState: { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
        },
        data: new Uint8Array(0),
      },
      hardState: { term: 1, vote: 0n, commit: 1 },
    });
  }
  await engine.write(ops, { sync: true });
  return { ok: true, memberId: self.id, fresh: true };
}
