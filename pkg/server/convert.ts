/**
 * Conversions between the wire types (pkg/proto/gen, ts-proto) and the MVCC store's plain types.
 * Enum fields are range-checked here: a value outside etcd's enum is reported, not passed on.
 */
import type * as pb from '../proto/gen/etcdserverpb/rpc.js';
import type * as kvpb from '../proto/gen/mvccpb/kv.js';
import type * as mvcc from '../storage/mvcc/index.js';

export type Converted<T> = { ok: true; value: T } | { ok: false; reason: 'invalid-sort-option' | 'invalid-compare' };

export function rangeFromPb(r: pb.RangeRequest): Converted<mvcc.RangeRequest> {
  if (r.sortOrder < 0 || r.sortOrder > 2 || r.sortTarget < 0 || r.sortTarget > 4) {
    return { ok: false, reason: 'invalid-sort-option' };
  }
  return {
    ok: true,
    value: {
      key: r.key,
      rangeEnd: r.rangeEnd,
      limit: r.limit,
      revision: r.revision,
      sortOrder: r.sortOrder as mvcc.SortOrder,
      sortTarget: r.sortTarget as mvcc.SortTarget,
      serializable: r.serializable,
      keysOnly: r.keysOnly,
      countOnly: r.countOnly,
      minModRevision: r.minModRevision,
      maxModRevision: r.maxModRevision,
      minCreateRevision: r.minCreateRevision,
      maxCreateRevision: r.maxCreateRevision,
    },
  };
}

export function putFromPb(r: pb.PutRequest): mvcc.PutRequest {
  return {
    key: r.key,
    value: r.value,
    lease: r.lease,
    prevKv: r.prevKv,
    ignoreValue: r.ignoreValue,
    ignoreLease: r.ignoreLease,
  };
}

export function deleteRangeFromPb(r: pb.DeleteRangeRequest): mvcc.DeleteRangeRequest {
  return { key: r.key, rangeEnd: r.rangeEnd, prevKv: r.prevKv };
}

/** Unknown result/target values pass through: etcd evaluates them (see mvcc compare) instead of failing. */
function compareFromPb(c: pb.Compare): mvcc.Compare | undefined {
  const out: mvcc.Compare = {
    result: c.result as mvcc.CompareResult,
    target: c.target as mvcc.CompareTarget,
    key: c.key,
    rangeEnd: c.rangeEnd,
  };
  const u = c.targetUnion;
  if (u !== undefined) {
    switch (u.$case) {
      case 'version':
        out.version = u.value;
        break;
      case 'createRevision':
        out.createRevision = u.value;
        break;
      case 'modRevision':
        out.modRevision = u.value;
        break;
      case 'value':
        out.value = u.value;
        break;
      case 'lease':
        out.lease = u.value;
        break;
    }
  }
  return out;
}

function opFromPb(op: pb.RequestOp): Converted<mvcc.RequestOp> {
  const r = op.request;
  if (r === undefined) return { ok: true, value: {} };
  switch (r.$case) {
    case 'requestRange': {
      const c = rangeFromPb(r.value);
      return c.ok ? { ok: true, value: { requestRange: c.value } } : c;
    }
    case 'requestPut':
      return { ok: true, value: { requestPut: putFromPb(r.value) } };
    case 'requestDeleteRange':
      return { ok: true, value: { requestDeleteRange: deleteRangeFromPb(r.value) } };
    case 'requestTxn': {
      const c = txnFromPb(r.value);
      return c.ok ? { ok: true, value: { requestTxn: c.value } } : c;
    }
  }
}

function opsFromPb(ops: readonly pb.RequestOp[]): Converted<mvcc.RequestOp[]> {
  const out: mvcc.RequestOp[] = [];
  for (const op of ops) {
    const c = opFromPb(op);
    if (!c.ok) return c;
    out.push(c.value);
  }
  return { ok: true, value: out };
}

export function txnFromPb(t: pb.TxnRequest): Converted<mvcc.TxnRequest> {
  const compare: mvcc.Compare[] = [];
  for (const c of t.compare) {
    const m = compareFromPb(c);
    if (m === undefined) return { ok: false, reason: 'invalid-compare' };
    compare.push(m);
  }
  const success = opsFromPb(t.success);
  if (!success.ok) return success;
  const failure = opsFromPb(t.failure);
  if (!failure.ok) return failure;
  return { ok: true, value: { compare, success: success.value, failure: failure.value } };
}

// ---- responses ---------------------------------------------------------------------------------

export type HeaderFiller = (revision: bigint) => pb.ResponseHeader;

export function kvToPb(kv: mvcc.KeyValue): kvpb.KeyValue {
  return kv;
}

export function eventToPb(e: mvcc.Event): kvpb.Event {
  return { type: e.type as unknown as kvpb.Event_EventType, kv: e.kv, prevKv: e.prevKv };
}

export function rangeToPb(r: mvcc.RangeResponse, header: HeaderFiller): pb.RangeResponse {
  return { header: header(r.header.revision), kvs: r.kvs, more: r.more, count: r.count };
}

export function putToPb(r: mvcc.PutResponse, header: HeaderFiller): pb.PutResponse {
  return { header: header(r.header.revision), prevKv: r.prevKv };
}

export function deleteRangeToPb(r: mvcc.DeleteRangeResponse, header: HeaderFiller): pb.DeleteRangeResponse {
  return { header: header(r.header.revision), deleted: r.deleted, prevKvs: r.prevKvs };
}

/** Like etcd, only the top-level header is filled in full; nested ones carry just the revision. */
export function txnToPb(r: mvcc.TxnResponse, header: HeaderFiller): pb.TxnResponse {
  return {
    header: header(r.header.revision),
    succeeded: r.succeeded,
    responses: r.responses.map((op) => responseOpToPb(op, revisionOnly)),
  };
}

const revisionOnly: HeaderFiller = (revision) => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0n });

function responseOpToPb(op: mvcc.ResponseOp, header: HeaderFiller): pb.ResponseOp {
  if ('responseRange' in op) return { response: { $case: 'responseRange', value: rangeToPb(op.responseRange, header) } };
  if ('responsePut' in op) return { response: { $case: 'responsePut', value: putToPb(op.responsePut, header) } };
  if ('responseDeleteRange' in op) {
    return { response: { $case: 'responseDeleteRange', value: deleteRangeToPb(op.responseDeleteRange, header) } };
  }
  return { response: { $case: 'responseTxn', value: txnToPb(op.responseTxn, header) } };
}
