/**
 * Request checks that need no data (etcd does them in its gRPC layer before proposing). The server
 * calls these before proposing; the store repeats them so it never applies a malformed request.
 */
import { err, ok, type Result } from './errors.js';
import { compareBytes } from './keys.js';
import { latin1 } from './latin1.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

export const DEFAULT_MAX_TXN_OPS = 128;

export function validateRange(r: RangeRequest): Result<void> {
  return r.key.length === 0 ? err('empty-key') : ok(undefined);
}

export function validatePut(r: PutRequest): Result<void> {
  if (r.key.length === 0) return err('empty-key');
  if (r.ignoreValue === true && (r.value?.length ?? 0) !== 0) return err('value-provided');
  if (r.ignoreLease === true && (r.lease ?? 0n) !== 0n) return err('lease-provided');
  return ok(undefined);
}

export function validateDeleteRange(r: DeleteRangeRequest): Result<void> {
  return r.key.length === 0 ? err('empty-key') : ok(undefined);
}

/**
 * Shape, size and overlap checks of a Txn, with etcd's rules: the largest of compares/success/failure
 * counts against `maxTxnOps` and a nested txn gets the budget that is left; an empty op is
 * 'key-not-found'; in one branch a key may be put at most once and not also be inside a delete
 * (the then/else branches of one nested txn may put the same key since only one runs).
 */
export function validateTxn(r: TxnRequest, maxTxnOps: number = DEFAULT_MAX_TXN_OPS): Result<void> {
  const shape = checkShape(r, maxTxnOps);
  if (!shape.ok) return shape;
  if (checkIntervals(r.success ?? []) === null) return err('duplicate-key');
  if (checkIntervals(r.failure ?? []) === null) return err('duplicate-key');
  return ok(undefined);
}

function checkShape(r: TxnRequest, maxTxnOps: number): Result<void> {
  const opc = Math.max(r.compare?.length ?? 0, r.success?.length ?? 0, r.failure?.length ?? 0);
  if (opc > maxTxnOps) return err('too-many-ops');
  for (const c of r.compare ?? []) if (c.key.length === 0) return err('empty-key');
  for (const op of [...(r.success ?? []), ...(r.failure ?? [])]) {
    const res = checkOp(op, maxTxnOps - opc);
    if (!res.ok) return res;
  }
  return ok(undefined);
}

function checkOp(op: RequestOp, maxTxnOps: number): Result<void> {
  if ('requestRange' in op) return validateRange(op.requestRange);
  if ('requestPut' in op) return validatePut(op.requestPut);
  if ('requestDeleteRange' in op) return validateDeleteRange(op.requestDeleteRange);
  if ('requestTxn' in op) return checkShape(op.requestTxn, maxTxnOps);
  return err('key-not-found');
}

/**
 * A delete interval [start, end). As in etcd, the request's range_end is taken literally here:
 * "\0" is NOT widened to "to the end", so a delete with range_end "\0" overlaps no put
 * (etcd's observable behaviour).
 */
interface Interval {
  readonly start: Uint8Array;
  /** undefined = a single key */
  readonly end: Uint8Array | undefined;
}

function intersectsPoint(iv: Interval, k: Uint8Array): boolean {
  if (iv.end === undefined) return compareBytes(iv.start, k) === 0;
  return compareBytes(iv.start, k) <= 0 && compareBytes(k, iv.end) < 0;
}


/** Returns the puts (as latin1 strings) and deletes of a list of ops, or null on an overlap. */
function checkIntervals(ops: readonly RequestOp[]): { puts: Map<string, Uint8Array>; dels: Interval[] } | null {
  const dels: Interval[] = [];
  for (const op of ops) {
    if (!('requestDeleteRange' in op)) continue;
    const d = op.requestDeleteRange;
    dels.push({ start: d.key, end: d.rangeEnd !== undefined && d.rangeEnd.length > 0 ? d.rangeEnd : undefined });
  }
  const hit = (k: Uint8Array): boolean => dels.some((iv) => intersectsPoint(iv, k));
  const puts = new Map<string, Uint8Array>();
  for (const op of ops) {
    if (!('requestTxn' in op)) continue;
    const then = checkIntervals(op.requestTxn.success ?? []);
    if (then === null) return null;
    const els = checkIntervals(op.requestTxn.failure ?? []);
    if (els === null) return null;
    for (const [s, k] of then.puts) {
      if (puts.has(s) || hit(k)) return null;
      puts.set(s, k);
    }
    for (const [s, k] of els.puts) {
      if (puts.has(s) && !then.puts.has(s)) return null;
      if (hit(k)) return null;
      puts.set(s, k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const op of ops) {
    if (!('requestPut' in op)) continue;
    const k = op.requestPut.key;
    const s = latin1(k);
    if (puts.has(s) || hit(k)) return null;
    puts.set(s, k);
  }
  return { puts, dels };
}
