/**
 * The MVCC write of a revoke: one Txn deleting every attached key, so all deletions share ONE
 * revision (etcd's rule) and each produces a DELETE event with prev_kv.
 *
 * The store enforces --max-txn-ops on Txns, and a lease may carry far more keys (kube-apiserver puts
 * up to 1000 events on one lease). Nested Txns with no compares always take their success branch,
 * and the store gives a nested Txn the op budget its parent left unused, so keys are spread over a
 * tree of nested Txns: with a budget of 128 one Txn holds about two million keys.
 */
import type { RequestOp, TxnRequest } from '../storage/mvcc/index.js';

function deletes(keys: readonly Uint8Array[]): RequestOp[] {
  return keys.map((key) => ({ requestDeleteRange: { key } }));
}

function level(keys: readonly Uint8Array[], budget: number): RequestOp[] {
  if (keys.length <= budget) return deletes(keys);
  const children = Math.max(1, Math.floor(budget / 2));
  const childBudget = budget - children;
  // Too small a budget to nest: the store will refuse with too-many-ops, which the caller reports.
  if (childBudget < 1) return deletes(keys);
  const per = Math.ceil(keys.length / children);
  const ops: RequestOp[] = [];
  for (let i = 0; i < keys.length; i += per) ops.push({ requestTxn: { success: level(keys.slice(i, i + per), childBudget) } });
  return ops;
}

/** A Txn deleting exactly `keys` (in the given order) that passes the store's `maxTxnOps` check. */
export function deleteKeysTxn(keys: readonly Uint8Array[], maxTxnOps: number): TxnRequest {
  return { success: level(keys, Math.max(1, maxTxnOps)) };
}
