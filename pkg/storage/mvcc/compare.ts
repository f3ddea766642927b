/**
 * Txn compare evaluation with etcd's rules: every key in the compare's range must satisfy it; an empty
 * range compares as a zero KeyValue (version = create = mod = lease = 0), except VALUE, which fails.
 */
import { compareBytes } from './keys.js';
import { CompareResult, CompareTarget, type Compare, type KeyValue } from './types.js';

/** Whether the compare needs values (only VALUE does; the others are answered from the key index). */
export function needsValue(c: Compare): boolean {
  return c.target === CompareTarget.VALUE;
}

export function evaluateCompare(c: Compare, kvs: readonly KeyValue[]): boolean {
  if (kvs.length === 0) {
    if (c.target === CompareTarget.VALUE) return false;
    return compareKv(c, { key: c.key, createRevision: 0n, modRevision: 0n, version: 0n, value: new Uint8Array(0), lease: 0n });
  }
  return kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let r: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      r = compareBytes(kv.value, c.value ?? new Uint8Array(0));
      break;
    case CompareTarget.CREATE:
      r = cmp(kv.createRevision, c.createRevision ?? 0n);
      break;
    case CompareTarget.MOD:
      r = cmp(kv.modRevision, c.modRevision ?? 0n);
      break;
    case CompareTarget.VERSION:
      r = cmp(kv.version, c.version ?? 0n);
      break;
    case CompareTarget.LEASE:
      r = cmp(kv.lease, c.lease ?? 0n);
      break;
    default:
      // An unknown target (protobuf enums are open) compares as equal, as in etcd.
      r = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return r === 0;
    case CompareResult.NOT_EQUAL:
      return r !== 0;
    case CompareResult.GREATER:
      return r > 0;
    case CompareResult.LESS:
      return r < 0;
    default:
      // An unknown result holds, as in etcd.
      return true;
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
