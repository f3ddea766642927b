/**
 * Executing Put / DeleteRange / Txn inside a WriteTxn with etcd's apply rules:
 * - all compares (nested ones too) are evaluated first, against the state before the request;
 * - then the chosen path is checked (ignore_value/ignore_lease need an existing key, leases must
 *   exist, range revisions must be valid) — a failed check fails the whole request, nothing written;
 * - then the ops run in order; a Range sees the writes of earlier ops of the same request.
 */
import { err, ok, type MvccErrorKind, type Result } from './errors.js';
import { evaluateCompare, needsValue } from './compare.js';
import { executeRange, kvOf, type RangeSource } from './range.js';
import type { WriteTxn } from './write-txn.js';
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from './types.js';

export interface TxnContext {
  readonly w: WriteTxn;
  /** Committed state (the state before this request). */
  readonly before: RangeSource;
  readonly compactRev: bigint;
  readonly leaseExists: ((id: bigint) => boolean) | undefined;
}

const EMPTY = new Uint8Array(0);

async function rangeKvs(src: RangeSource, key: Uint8Array, rangeEnd: Uint8Array | undefined, at: bigint, values: boolean): Promise<KeyValue[]> {
  const { entries } = await src.scan(key, rangeEnd, at, { limit: 0, count: false, collect: true });
  if (!values) return entries.map((e) => kvOf(e, EMPTY));
  const vs = await src.values(entries);
  // A committed record cannot vanish here: compaction never removes a key's state at the current revision.
  return entries.map((e, i) => kvOf(e, vs[i] ?? EMPTY));
}

/** Branch taken by the txn and each nested txn on the path, in pre-order. */
async function computePath(ctx: TxnContext, r: TxnRequest, path: boolean[]): Promise<void> {
  let succeeded = true;
  for (const c of r.compare ?? []) {
    const kvs = await rangeKvs(ctx.before, c.key, c.rangeEnd, ctx.w.beginRev, needsValue(c));
    if (!evaluateCompare(c, kvs)) {
      succeeded = false;
      break;
    }
  }
  path.push(succeeded);
  for (const op of (succeeded ? r.success : r.failure) ?? []) if ('requestTxn' in op) await computePath(ctx, op.requestTxn, path);
}

function branchOps(r: TxnRequest, path: readonly boolean[], at: { i: number }): readonly RequestOp[] {
  return (path[at.i++] === true ? r.success : r.failure) ?? [];
}

async function checkPuts(ctx: TxnContext, r: TxnRequest, path: readonly boolean[], at: { i: number }): Promise<Result<void>> {
  for (const op of branchOps(r, path, at)) {
    if ('requestTxn' in op) {
      const res = await checkPuts(ctx, op.requestTxn, path, at);
      if (!res.ok) return res;
    } else if ('requestPut' in op) {
      const res = await checkPut(ctx, op.requestPut);
      if (!res.ok) return res;
    }
  }
  return ok(undefined);
}

/** The pre-checks of a put against the state before the request. */
export async function checkPut(ctx: TxnContext, p: PutRequest): Promise<Result<void>> {
  if (p.ignoreValue === true || p.ignoreLease === true) {
    const e = await ctx.w.entry(p.key);
    if (e === undefined || e.tombstone) return err('key-not-found');
  }
  const lease = p.lease ?? 0n;
  if (lease !== 0n && ctx.leaseExists !== undefined && !ctx.leaseExists(lease)) return err('lease-not-found');
  return ok(undefined);
}

function checkRanges(ctx: TxnContext, r: TxnRequest, path: readonly boolean[], at: { i: number }): Result<void> {
  for (const op of branchOps(r, path, at)) {
    if ('requestTxn' in op) {
      const res = checkRanges(ctx, op.requestTxn, path, at);
      if (!res.ok) return res;
    } else if ('requestRange' in op) {
      // etcd checks only revision != 0 here, against the pre-request view (so, like etcd, a negative
      // revision is 'compacted' when below the compaction revision, and -1 is fine before any compaction).
      const rev = op.requestRange.revision ?? 0n;
      if (rev === 0n) continue;
      if (rev > ctx.w.beginRev) return err('future-rev');
      if (rev < ctx.compactRev) return err('compacted');
    }
  }
  return ok(undefined);
}

export async function executePut(ctx: TxnContext, p: PutRequest): Promise<Result<PutResponse>> {
  const w = ctx.w;
  let value = p.value ?? EMPTY;
  let lease = p.lease ?? 0n;
  const resp: PutResponse = { header: { revision: 0n } };
  if (p.ignoreValue === true || p.ignoreLease === true || p.prevKv === true) {
    const prev = await rangeKvs(w, p.key, undefined, w.rev(), true);
    const kv = prev[0];
    if ((p.ignoreValue === true || p.ignoreLease === true) && kv === undefined) return err('key-not-found');
    if (kv !== undefined) {
      if (p.ignoreValue === true) value = kv.value;
      if (p.ignoreLease === true) lease = kv.lease;
      if (p.prevKv === true) resp.prevKv = kv;
    }
  }
  await w.put(p.key, value, lease);
  resp.header.revision = w.beginRev + 1n;
  return ok(resp);
}

export async function executeDeleteRange(ctx: TxnContext, d: DeleteRangeRequest): Promise<DeleteRangeResponse> {
  const w = ctx.w;
  const prevKvs = d.prevKv === true ? await rangeKvs(w, d.key, d.rangeEnd, w.rev(), true) : [];
  const deleted = await w.deleteRange(d.key, d.rangeEnd);
  return { header: { revision: w.rev() }, deleted: BigInt(deleted.length), prevKvs };
}

async function executeOps(ctx: TxnContext, r: TxnRequest, path: readonly boolean[], at: { i: number }, top: boolean): Promise<TxnResponse> {
  const succeeded = path[at.i] === true;
  const ops = branchOps(r, path, at);
  const responses: ResponseOp[] = [];
  for (const op of ops) {
    if ('requestRange' in op) {
      const res = await executeRange(ctx.w, op.requestRange, ctx.w.rev(), ctx.compactRev);
      if (!res.ok) throw new Error(`mvcc: range failed inside a checked txn: ${res.error.kind}`);
      const rr: RangeResponse = { header: { revision: ctx.w.rev() }, ...res.value };
      responses.push({ responseRange: rr });
    } else if ('requestPut' in op) {
      const res = await executePut(ctx, op.requestPut);
      // Reachable only when an earlier op of this txn deleted the key through a "\0" range end, which
      // etcd's overlap check does not see (etcd then panics); here the whole txn fails, nothing written.
      if (!res.ok) throw new TxnAbort(res.error.kind);
      responses.push({ responsePut: res.value });
    } else if ('requestDeleteRange' in op) {
      responses.push({ responseDeleteRange: await executeDeleteRange(ctx, op.requestDeleteRange) });
    } else if ('requestTxn' in op) {
      responses.push({ responseTxn: await executeOps(ctx, op.requestTxn, path, at, false) });
    }
  }
  // Like etcd, nested txn responses carry an empty header; the top one is set by the caller.
  return { header: { revision: top ? ctx.w.rev() : 0n }, succeeded, responses };
}

export async function executeTxn(ctx: TxnContext, r: TxnRequest): Promise<Result<TxnResponse>> {
  const path: boolean[] = [];
  await computePath(ctx, r, path);
  const puts = await checkPuts(ctx, r, path, { i: 0 });
  if (!puts.ok) return puts;
  const ranges = checkRanges(ctx, r, path, { i: 0 });
  if (!ranges.ok) return ranges;
  await prefetch(ctx, r, path);
  try {
    return ok(await executeOps(ctx, r, path, { i: 0 }, true));
  } catch (e) {
    if (e instanceof TxnAbort) return err(e.kind);
    throw e;
  }
}

/** Looks up the keys the taken path will put, concurrently (warms the store's latest-entry cache). */
async function prefetch(ctx: TxnContext, r: TxnRequest, path: readonly boolean[]): Promise<void> {
  const keys: Uint8Array[] = [];
  const walk = (req: TxnRequest, at: { i: number }): void => {
    for (const op of branchOps(req, path, at)) {
      if ('requestTxn' in op) walk(op.requestTxn, at);
      else if ('requestPut' in op) keys.push(op.requestPut.key);
    }
  };
  walk(r, { i: 0 });
  if (keys.length > 1) await Promise.all(keys.map((k) => ctx.w.entry(k)));
}

class TxnAbort extends Error {
  readonly kind: MvccErrorKind;
  constructor(kind: MvccErrorKind) {
    super(`mvcc: txn aborted: ${kind}`);
    this.kind = kind;
  }
}
