/**
 * etcd_mvcc_{range,put,delete,txn}_total as etcd counts them: etcd wraps each storage transaction
 * and, when it ends, adds its Range / Put / DeleteRange calls to those counters, and counts one txn
 * when it made more than one call. So a Put is one put (no txn), a Range one range, a lease revoke
 * one delete per attached key. A Txn request runs as up to two storage transactions: its compares
 * (each one range) in a read transaction, then, unless the request is read-only, the ops of the
 * chosen branches in a write transaction; a read-only Txn runs both in the same one.
 *
 * Where etcd stops evaluating a txn's compares at the first false one, berth counts every compare of
 * each txn on the executed path (the response does not say which compare failed).
 */
import { tally, type Metrics } from '../../metrics/index.js';
import type { RequestOp, ResponseOp, TxnRequest, TxnResponse } from '../../storage/mvcc/index.js';

/** One storage transaction's calls ended. */
export type OpCounter = (ranges: number, puts: number, deletes: number) => void;

export function mvccOpCounter(m: Metrics): OpCounter {
  const rangeTotal = tally(m.mvcc.rangeTotal);
  const putTotal = tally(m.mvcc.putTotal);
  const deleteTotal = tally(m.mvcc.deleteTotal);
  const txnTotal = tally(m.mvcc.txnTotal);
  return (ranges, puts, deletes) => {
    if (ranges > 0) rangeTotal.inc(ranges);
    if (puts > 0) putTotal.inc(puts);
    if (deletes > 0) deleteTotal.inc(deletes);
    if (ranges + puts + deletes > 1) txnTotal.inc();
  };
}

function readOnly(ops: readonly RequestOp[] | undefined): boolean {
  for (const op of ops ?? []) {
    if ('requestPut' in op || 'requestDeleteRange' in op) return false;
    if ('requestTxn' in op && !(readOnly(op.requestTxn.success) && readOnly(op.requestTxn.failure))) return false;
  }
  return true;
}

interface TxnCalls {
  compares: number;
  ranges: number;
  puts: number;
  deletes: number;
}

/** Walks the executed path: the branch the response took, and nested txns inside it. */
function walkTxn(req: TxnRequest, res: TxnResponse, t: TxnCalls): void {
  t.compares += req.compare?.length ?? 0;
  const ops = (res.succeeded ? req.success : req.failure) ?? [];
  res.responses.forEach((r: ResponseOp, i) => {
    if ('responseRange' in r) t.ranges++;
    else if ('responsePut' in r) t.puts++;
    else if ('responseDeleteRange' in r) t.deletes++;
    else {
      const op = ops[i];
      if (op !== undefined && 'requestTxn' in op) walkTxn(op.requestTxn, r.responseTxn, t);
    }
  });
}

/** Counts an applied (or served) Txn request with its response. */
export function countTxn(req: TxnRequest, res: TxnResponse, count: OpCounter): void {
  const t: TxnCalls = { compares: 0, ranges: 0, puts: 0, deletes: 0 };
  walkTxn(req, res, t);
  if (readOnly(req.success) && readOnly(req.failure)) return count(t.compares + t.ranges, 0, 0);
  count(t.compares, 0, 0);
  count(t.ranges, t.puts, t.deletes);
}
