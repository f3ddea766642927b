/**
 * The etcdserverpb.KV service: validate → call → map error → fill header. Writes go through raft
 * (Proposer); linearizable reads wait for a ReadIndex round, serializable reads are served locally.
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type * as mvcc from '../../storage/mvcc/index.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from '../../storage/mvcc/index.js';
import { berthError, type BerthError } from '../../errors/index.js';
import { deleteRangeToPb, putToPb, rangeFromPb, rangeToPb, txnFromPb, txnToPb, type HeaderFiller } from '../convert.js';
import { mvccError, toServiceError } from '../errors.js';
import type { CommandRequest } from '../propose.js';
import type { Outcome } from '../wait.js';
import { putCost, txnCost } from '../alarm/space-quota.js';

export interface KvDeps {
  readonly mvcc: mvcc.MvccStore;
  readonly proposer: { propose<T>(r: CommandRequest): Promise<Outcome<T>> };
  readonly linearizableRead: () => Promise<Outcome<void>>;
  readonly header: HeaderFiller;
  readonly maxTxnOps: number;
  /** Space quota check before proposing a write of about `cost` bytes (NOSPACE alarm); undefined = admitted. */
  readonly admitWrite?: (cost: number) => BerthError | undefined;
  /** A range reached the store (etcd_mvcc_range_total). */
  readonly countRange?: () => void;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;

/** Wraps an async handler so every failure becomes a gRPC error and nothing escapes. */
export function unary<Req, Res>(fn: (req: Req) => Promise<Outcome<Res>>): Unary<Req, Res> {
  return (call, cb) => {
    fn(call.request).then(
      (o) => (o.ok ? cb(null, o.value) : cb(toServiceError(o.error))),
      (err: unknown) => cb(toServiceError(berthError('internal', err instanceof Error ? err.message : String(err)))),
    );
  };
}

function fail(error: BerthError): Outcome<never> {
  return { ok: false, error };
}

function invalidSort(): Outcome<never> {
  return fail(berthError('invalidSortOption'));
}

export function kvService(d: KvDeps): UntypedServiceImplementation {
  const range = async (req: pb.RangeRequest): Promise<Outcome<pb.RangeResponse>> => {
    const c = rangeFromPb(req);
    if (!c.ok) return invalidSort();
    const v = validateRange(c.value);
    if (!v.ok) return fail(mvccError(v.error));
    if (!req.serializable) {
      const r = await d.linearizableRead();
      if (!r.ok) return r;
    }
    d.countRange?.();
    const res = await d.mvcc.range(c.value);
    return res.ok ? { ok: true, value: rangeToPb(res.value, d.header) } : fail(mvccError(res.error));
  };

  const put = async (req: pb.PutRequest): Promise<Outcome<pb.PutResponse>> => {
    const v = validatePut({ key: req.key, value: req.value, lease: req.lease, ignoreValue: req.ignoreValue, ignoreLease: req.ignoreLease });
    if (!v.ok) return fail(mvccError(v.error));
    const q = d.admitWrite?.(putCost(req));
    if (q !== undefined) return fail(q);
    const o = await d.proposer.propose<mvcc.PutResponse>({ $case: 'put', value: req });
    return o.ok ? { ok: true, value: putToPb(o.value, d.header) } : o;
  };

  const deleteRange = async (req: pb.DeleteRangeRequest): Promise<Outcome<pb.DeleteRangeResponse>> => {
    const v = validateDeleteRange({ key: req.key, rangeEnd: req.rangeEnd, prevKv: req.prevKv });
    if (!v.ok) return fail(mvccError(v.error));
    const o = await d.proposer.propose<mvcc.DeleteRangeResponse>({ $case: 'deleteRange', value: req });
    return o.ok ? { ok: true, value: deleteRangeToPb(o.value, d.header) } : o;
  };

  const txn = async (req: pb.TxnRequest): Promise<Outcome<pb.TxnResponse>> => {
    const c = txnFromPb(req);
    if (!c.ok) return c.reason === 'invalid-sort-option' ? invalidSort() : fail(berthError('internal', 'invalid compare'));
    const v = validateTxn(c.value, d.maxTxnOps);
    if (!v.ok) return fail(mvccError(v.error));
    const q = d.admitWrite?.(txnCost(req));
    if (q !== undefined) return fail(q);
    const o = await d.proposer.propose<mvcc.TxnResponse>({ $case: 'txn', value: req });
    return o.ok ? { ok: true, value: txnToPb(o.value, d.header) } : o;
  };

  const compact = async (req: pb.CompactionRequest): Promise<Outcome<pb.CompactionResponse>> => {
    const o = await d.proposer.propose<mvcc.CompactionResponse>({ $case: 'compaction', value: req });
    if (!o.ok) return o;
    if (req.physical) await d.mvcc.whenCompacted();
    return { ok: true, value: { header: d.header(o.value.header.revision) } };
  };

  return {
    range: unary(range),
    put: unary(put),
    deleteRange: unary(deleteRange),
    txn: unary(txn),
    compact: unary(compact),
  };
}
