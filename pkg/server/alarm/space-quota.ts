/**
 * The backend space quota (etcd's --quota-backend-bytes) and the alarms of one member, shared by the
 * maintenance module (Alarm RPC, apply handler, Status) and the write paths (KV put/txn, lease grant).
 *
 * Like etcd, a write is refused with `etcdserver: mvcc: database space exceeded` while a NOSPACE alarm
 * is active, and a write that would take the database over the quota raises NOSPACE (replicated
 * through raft as an `alarm` command) and is refused. Deletes and compactions are always admitted, so
 * space can be reclaimed. The check runs on the proposing member before proposing; apply does not
 * re-check, so every member applies the same commands (deterministic).
 */
import { berthError, type BerthError } from '../../errors/index.js';
import { AlarmRequest_AlarmAction, AlarmType } from '../../proto/gen/etcdserverpb/rpc.js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type { MemberContext } from '../context.js';
import { AlarmStore } from './store.js';

export interface SpaceQuota {
  /** Resolves once the persisted alarms are loaded (apply handlers wait on it). */
  readonly ready: Promise<AlarmStore>;
  /** The loaded store, or undefined while loading (then no alarm is assumed, as on a fresh member). */
  store(): AlarmStore | undefined;
  /**
   * Admits a write of about `cost` bytes, or returns the noSpace error. A cost of 0 (a delete, a txn
   * without puts) is always admitted, as in etcd. Never throws; raising the alarm happens in the background.
   */
  admit(cost: number): BerthError | undefined;
  /** The size the quota is measured against (etcd: the backend's physical size). */
  usedBytes(): bigint;
}

const quotas = new WeakMap<MemberContext, SpaceQuota>();

/** The member's quota guard; the same object for every caller with the same context. */
export function spaceQuota(ctx: MemberContext): SpaceQuota {
  let q = quotas.get(ctx);
  if (q === undefined) {
    q = createSpaceQuota(ctx);
    quotas.set(ctx, q);
  }
  return q;
}

/** The quota of `ctx` with its own clock (milliseconds, monotonic); spaceQuota() uses performance.now. */
export function createSpaceQuota(ctx: MemberContext, clock: () => number = () => performance.now()): SpaceQuota {
  let loaded: AlarmStore | undefined;
  const ready = AlarmStore.load(ctx.engine).then((s) => (loaded = s));
  ctx.onSnapshotInstalled?.(async () => {
    await ready;
    await loaded?.reload(ctx.engine);
  });
  let raising = false;
  // The size comes from RocksDB properties (two synchronous native calls, ~20 µs, the SST part walking
  // every file's metadata): read at most every SIZE_REFRESH_MS, and in between counted up by what was
  // admitted since, so a burst cannot pass the quota on a stale reading (etcd's own size lags by its
  // backend commit interval, 100 ms).
  let measured: bigint | undefined;
  let measuredAt = 0;
  let admittedSince = 0n;
  const usedBytes = (): bigint => {
    const now = clock();
    if (measured === undefined || now - measuredAt >= SIZE_REFRESH_MS) {
      measured = ctx.mvcc.size().dbSize;
      measuredAt = now;
      admittedSince = 0n;
    }
    return measured + admittedSince;
  };
  const raise = (): void => {
    if (raising) return;
    raising = true;
    ctx.logger.warn({ quota: ctx.config.quotaBackendBytes, used: usedBytes().toString() }, 'backend quota exceeded: raising NOSPACE');
    void ctx
      .propose({ $case: 'alarm', value: { action: AlarmRequest_AlarmAction.ACTIVATE, memberID: ctx.memberId, alarm: AlarmType.NOSPACE } })
      .finally(() => (raising = false));
  };
  return {
    ready,
    store: () => loaded,
    usedBytes,
    admit(cost) {
      if (cost <= 0) return undefined;
      if (loaded?.has(AlarmType.NOSPACE) === true) return berthError('noSpace');
      const quota = ctx.config.quotaBackendBytes;
      if (quota === null) return undefined;
      const bytes = BigInt(Math.max(0, Math.floor(cost)));
      if (usedBytes() + bytes > BigInt(quota)) {
        raise();
        return berthError('noSpace');
      }
      admittedSince += bytes;
      return undefined;
    },
  };
}

/** How long a measured database size is used (counted up by admitted writes) before measuring again. */
const SIZE_REFRESH_MS = 50;

/** etcd's per-put overhead in its quota cost (bytes). */
const PUT_OVERHEAD = 256;

/** Quota cost of a put: key + value + overhead. */
export function putCost(r: Pick<pb.PutRequest, 'key' | 'value'>): number {
  return r.key.byteLength + r.value.byteLength + PUT_OVERHEAD;
}

/** Quota cost of a txn: the puts of both branches, nested txns included (0 when it has none). */
export function txnCost(r: pb.TxnRequest): number {
  let cost = 0;
  for (const op of [...r.success, ...r.failure]) {
    const q = op.request;
    if (q?.$case === 'requestPut') cost += putCost(q.value);
    else if (q?.$case === 'requestTxn') cost += txnCost(q.value);
  }
  return cost;
}
