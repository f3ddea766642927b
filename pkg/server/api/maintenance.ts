/**
 * The etcdserverpb.Maintenance service: Status, Hash, HashKV, Defragment, Alarm, Snapshot, MoveLeader,
 * Downgrade. Handlers validate, call, map errors and fill the header; alarm changes go through raft.
 */
import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import { berthError, type BerthError } from '../../errors/index.js';
import type { MemberContext } from '../context.js';
import { mvccError, toServiceError } from '../errors.js';
import type { Outcome } from '../wait.js';
import { alarmText } from '../alarm/store.js';
import type { SpaceQuota } from '../alarm/space-quota.js';
import { unary } from './kv.js';
import { snapshotArchive } from './maintenance-snapshot.js';

export interface MaintenanceDeps {
  readonly ctx: MemberContext;
  readonly quota: SpaceQuota;
  /** Observes defragmentation (metrics). */
  readonly onDefrag?: (phase: 'start' | 'end', seconds: number) => void;
  /** A Hash or HashKV completed in `seconds` (etcd_mvcc_hash_duration_seconds / _hash_rev_). */
  readonly onHash?: (kind: 'hash' | 'hashKV', seconds: number) => void;
  /** A Snapshot stream ended, completed or not, after `seconds` (etcd_disk_backend_snapshot_duration_seconds). */
  readonly onSnapshotStreamed?: (seconds: number) => void;
}

const DOWNGRADE_UNSUPPORTED = 'etcdserver: downgrade is not supported by berth';

function fail(error: BerthError): Outcome<never> {
  return { ok: false, error };
}

/** A gRPC error whose code/message are not in berth's etcd table (Unimplemented answers). */
export function plainServiceError(code: status, message: string): ServiceError {
  const err = new Error(message) as ServiceError;
  err.code = code;
  err.details = message;
  err.metadata = new Metadata();
  return err;
}

/** etcd's storage version: reported from 3.6 on (the emulated version's major.minor). */
function storageVersion(version: string): string {
  const [maj, min] = version.split('.').map((s) => Number.parseInt(s, 10));
  if (maj === undefined || min === undefined || Number.isNaN(maj) || Number.isNaN(min)) return '';
  return maj > 3 || (maj === 3 && min >= 6) ? `${maj}.${min}.0` : '';
}

export function maintenanceService(d: MaintenanceDeps): UntypedServiceImplementation {
  const { ctx, quota } = d;
  let defrag: Promise<void> = Promise.resolve();

  const statusRpc = async (_req: pb.StatusRequest): Promise<Outcome<pb.StatusResponse>> => {
    const size = ctx.mvcc.size();
    const raft = ctx.raftStatus();
    const alarms = quota.store()?.list() ?? [];
    return {
      ok: true,
      value: {
        header: ctx.header(ctx.mvcc.currentRevision),
        version: ctx.config.emulatedEtcdVersion,
        dbSize: size.dbSize,
        dbSizeInUse: size.dbSizeInUse,
        leader: ctx.leader(),
        raftIndex: BigInt(raft.commit),
        raftTerm: BigInt(ctx.term()),
        raftAppliedIndex: BigInt(ctx.appliedIndex()),
        errors: alarms.map(alarmText),
        isLearner: ctx.members.get(ctx.memberId)?.isLearner ?? false,
        storageVersion: storageVersion(ctx.config.emulatedEtcdVersion),
        dbSizeQuota: BigInt(ctx.config.quotaBackendBytes ?? 0),
        downgradeInfo: undefined,
      },
    };
  };

  const hash = async (_req: pb.HashRequest): Promise<Outcome<pb.HashResponse>> => {
    const t0 = performance.now();
    const h = await ctx.mvcc.hash();
    d.onHash?.('hash', (performance.now() - t0) / 1000);
    return { ok: true, value: { header: ctx.header(h.revision), hash: h.hash } };
  };

  const hashKv = async (req: pb.HashKVRequest): Promise<Outcome<pb.HashKVResponse>> => {
    const t0 = performance.now();
    const r = await ctx.mvcc.hashKV(req.revision);
    if (!r.ok) return fail(mvccError(r.error));
    d.onHash?.('hashKV', (performance.now() - t0) / 1000);
    const v = r.value;
    return {
      ok: true,
      value: { header: ctx.header(v.header.revision), hash: v.hash, compactRevision: v.compactRevision, hashRevision: v.hashRevision },
    };
  };

  // Defragment maps to a full RocksDB compaction on the thread pool: reads and writes go on meanwhile.
  // Concurrent requests queue behind the running one (each answers when its own pass is done).
  const defragment = async (_req: pb.DefragmentRequest): Promise<Outcome<pb.DefragmentResponse>> => {
    const run = defrag.then(async () => {
      const t0 = process.hrtime.bigint();
      d.onDefrag?.('start', 0);
      try {
        await ctx.engine.compactRange();
      } finally {
        d.onDefrag?.('end', Number(process.hrtime.bigint() - t0) / 1e9);
      }
    });
    defrag = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      return fail(berthError('internal', err instanceof Error ? err.message : String(err)));
    }
    return { ok: true, value: { header: ctx.header(ctx.mvcc.currentRevision) } };
  };

  const alarm = async (req: pb.AlarmRequest): Promise<Outcome<pb.AlarmResponse>> => {
    if (req.action === pb.AlarmRequest_AlarmAction.GET) {
      const store = await quota.ready;
      return { ok: true, value: { header: ctx.header(ctx.mvcc.currentRevision), alarms: store.list(req.alarm) } };
    }
    if (req.action !== pb.AlarmRequest_AlarmAction.ACTIVATE && req.action !== pb.AlarmRequest_AlarmAction.DEACTIVATE) {
      return fail(berthError('internal', 'unknown alarm action'));
    }
    const o = await ctx.propose<pb.AlarmMember[]>({ $case: 'alarm', value: req });
    if (!o.ok) return o;
    return { ok: true, value: { header: ctx.header(ctx.mvcc.currentRevision), alarms: o.value } };
  };

  const moveLeader = async (req: pb.MoveLeaderRequest): Promise<Outcome<pb.MoveLeaderResponse>> => {
    if (ctx.leader() !== ctx.memberId) return fail(berthError('notLeader'));
    const target = ctx.members.get(req.targetID);
    if (target === undefined || target.isLearner) return fail(berthError('badLeaderTransferee'));
    const o = await ctx.transferLeadership(req.targetID);
    if (!o.ok) return o;
    return { ok: true, value: { header: ctx.header(ctx.mvcc.currentRevision) } };
  };

  const snapshot = (call: ServerWritableStream<pb.SnapshotRequest, pb.SnapshotResponse>): void => {
    const t0 = performance.now();
    void streamSnapshot(ctx, call).finally(() => d.onSnapshotStreamed?.((performance.now() - t0) / 1000));
  };

  const downgrade = (_call: ServerUnaryCall<pb.DowngradeRequest, pb.DowngradeResponse>, cb: sendUnaryData<pb.DowngradeResponse>): void => {
    cb(plainServiceError(status.UNIMPLEMENTED, DOWNGRADE_UNSUPPORTED));
  };

  return {
    status: unary(statusRpc),
    hash: unary(hash),
    hashKv: unary(hashKv),
    defragment: unary(defragment),
    alarm: unary(alarm),
    moveLeader: unary(moveLeader),
    snapshot,
    downgrade,
  };
}

async function streamSnapshot(ctx: MemberContext, call: ServerWritableStream<pb.SnapshotRequest, pb.SnapshotResponse>): Promise<void> {
  let cancelled = false;
  call.on('cancelled', () => (cancelled = true));
  const version = ctx.config.emulatedEtcdVersion;
  try {
    for await (const chunk of snapshotArchive(ctx.engine)) {
      if (cancelled) return;
      const msg: pb.SnapshotResponse = {
        header: ctx.header(ctx.mvcc.currentRevision),
        remainingBytes: BigInt(chunk.remaining),
        blob: chunk.blob,
        version,
      };
      if (!call.write(msg)) {
        await new Promise<void>((r) => {
          call.once('drain', () => r());
          call.once('cancelled', () => r());
        });
      }
    }
    call.end();
  } catch (err) {
    ctx.logger.warn({ err }, 'snapshot stream failed');
    if (!cancelled) call.emit('error', toServiceError(berthError('internal', err instanceof Error ? err.message : String(err))));
  }
}
