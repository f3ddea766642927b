/**
 * The KV and Lease calls the recipes make, over the member's own raft and MVCC store: replicated
 * Txns (with the space quota check of the KV service), and local ranges for the sorted lookups.
 *
 * Auth: etcd runs the recipes on an in-process client that passes the caller's token with every
 * call, so each call is checked as the caller. Proposals here are stamped with the caller's header
 * (the service gate's scope) and checked at apply time; every local range is checked for READ as
 * the caller identified again at that moment (a simple token then carries the current auth
 * revision, as in etcd). A call that started while auth was off has no credentials: once auth is
 * enabled its reads fail with "user name is empty", like etcd's.
 */
import * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type * as mvcc from '../../storage/mvcc/index.js';
import type { KeyValue } from '../../storage/mvcc/index.js';
import { SortOrder, SortTarget } from '../../storage/mvcc/index.js';
import type { MemberContext } from '../context.js';
import type { Logger } from '../../log/index.js';
import { mvccError } from '../errors.js';
import { spaceQuota, txnCost } from '../alarm/space-quota.js';
import type { GrantResult } from '../apply/lease.js';
import type { KeyEvents } from './key-events.js';
import { serverFail, type Result } from './errors.js';
import { checkOp, NO_USER } from '../../auth/index.js';
import { berthError } from '../../errors/index.js';
import { currentCaller } from '../auth/member-auth.js';

/** What the recipes run on: the member and the event router of the concurrency module. */
export interface Concurrency {
  readonly ctx: MemberContext;
  readonly events: KeyEvents;
  readonly logger: Logger;
}

/** A key with its create revision, as found at `revision`. */
export interface Found {
  readonly revision: bigint;
  readonly kv: KeyValue | undefined;
}

/** etcd's session TTL when a recipe is called without a lease (concurrency.NewSession's default). */
export const DEFAULT_SESSION_TTL = 60n;
const INT63_MASK = (1n << 63n) - 1n;
const te = new TextEncoder();

/** `name/<lease in lower-case hex>`, the key both recipes create (Go's `%x` of the lease ID). */
export function ownKey(prefix: Uint8Array, lease: bigint): Uint8Array {
  return concat(prefix, te.encode(lease.toString(16)));
}

/** `name/`: the prefix every contender's key of a lock or election lives under. */
export function recipePrefix(name: Uint8Array): Uint8Array {
  return concat(name, Uint8Array.of(0x2f));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/** The range end covering every key starting with `prefix` (which ends with '/', so never overflows). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  end[end.byteLength - 1] = (end[end.byteLength - 1] ?? 0) + 1;
  return end;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * The lease a recipe runs with. Like etcd's server (a session created WithLease(0) grants its own),
 * lease 0 grants a new lease of 60 s that nobody keeps alive.
 */
export async function sessionLease(c: Concurrency, lease: bigint): Promise<Result<bigint>> {
  if (lease !== 0n) return { ok: true, value: lease };
  let id = 0n;
  while (id === 0n) id = c.ctx.ids.next() & INT63_MASK;
  const o = await c.ctx.propose<GrantResult>({ $case: 'leaseGrant', value: { ID: id, TTL: DEFAULT_SESSION_TTL } });
  return o.ok ? { ok: true, value: o.value.id } : serverFail(o.error);
}

/** Replicates a Txn; refused like the KV service's when the space quota is exhausted. */
export async function txn(c: Concurrency, req: pb.TxnRequest): Promise<Result<mvcc.TxnResponse>> {
  const q = spaceQuota(c.ctx).admit(txnCost(req));
  if (q !== undefined) return serverFail(q);
  const o = await c.ctx.propose<mvcc.TxnResponse>({ $case: 'txn', value: req });
  return o.ok ? o : serverFail(o.error);
}

/** Deletes one key through raft; returns the revision after the request. */
export async function deleteKey(c: Concurrency, key: Uint8Array): Promise<Result<bigint>> {
  const o = await c.ctx.propose<mvcc.DeleteRangeResponse>({ $case: 'deleteRange', value: pb.DeleteRangeRequest.create({ key }) });
  return o.ok ? { ok: true, value: o.value.header.revision } : serverFail(o.error);
}

/** Waits for a ReadIndex round: local state then reflects every write acknowledged before. */
export async function linearizable(c: Concurrency): Promise<Result<void>> {
  const o = await c.ctx.linearizableRead();
  return o.ok ? o : serverFail(o.error);
}

/** READ permission of the caller on [key, rangeEnd) when auth is enabled (etcd's Range check). */
export function readPermitted(c: Concurrency, key: Uint8Array, rangeEnd: Uint8Array): Result<void> {
  const auth = c.ctx.auth;
  if (auth === undefined || !auth.store.enabled) return { ok: true, value: undefined };
  const who = currentCaller() ?? { ok: true, info: NO_USER };
  if (!who.ok) return serverFail(who.error);
  const e = checkOp(auth.store, who.info ?? NO_USER, key, rangeEnd, 'read');
  return e === undefined ? { ok: true, value: undefined } : serverFail(berthError(e));
}

async function rangeOne(c: Concurrency, r: mvcc.RangeRequest): Promise<Result<Found>> {
  const allowed = readPermitted(c, r.key, r.rangeEnd ?? new Uint8Array());
  if (!allowed.ok) return allowed;
  const res = await c.ctx.mvcc.range({ ...r, limit: 1n });
  if (!res.ok) return serverFail(mvccError(res.error));
  return { ok: true, value: { revision: res.value.header.revision, kv: res.value.kvs[0] } };
}

/** The local key under `prefix` with the lowest create revision (etcd's WithFirstCreate). */
export function firstCreated(c: Concurrency, prefix: Uint8Array): Promise<Result<Found>> {
  return rangeOne(c, { key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: SortTarget.CREATE, sortOrder: SortOrder.ASCEND });
}

/** The local key under `prefix` with the highest create revision ≤ `maxCreateRevision`. */
export function lastCreatedUpTo(c: Concurrency, prefix: Uint8Array, maxCreateRevision: bigint): Promise<Result<Found>> {
  return rangeOne(c, {
    key: prefix,
    rangeEnd: prefixEnd(prefix),
    sortTarget: SortTarget.CREATE,
    sortOrder: SortOrder.DESCEND,
    maxCreateRevision,
  });
}

/** The local value of `key`. */
export function getKey(c: Concurrency, key: Uint8Array): Promise<Result<Found>> {
  return rangeOne(c, { key });
}

// ---- Txn pieces ------------------------------------------------------------------------------

export function createRevisionIs(key: Uint8Array, rev: bigint): pb.Compare {
  return pb.Compare.create({
    key,
    result: pb.Compare_CompareResult.EQUAL,
    target: pb.Compare_CompareTarget.CREATE,
    targetUnion: { $case: 'createRevision', value: rev },
  });
}

export function putOp(key: Uint8Array, value: Uint8Array, lease: bigint): pb.RequestOp {
  return { request: { $case: 'requestPut', value: pb.PutRequest.create({ key, value, lease }) } };
}

export function getOp(key: Uint8Array): pb.RequestOp {
  return { request: { $case: 'requestRange', value: pb.RangeRequest.create({ key }) } };
}

export function firstCreatedOp(prefix: Uint8Array): pb.RequestOp {
  const value = pb.RangeRequest.create({
    key: prefix,
    rangeEnd: prefixEnd(prefix),
    limit: 1n,
    sortTarget: pb.RangeRequest_SortTarget.CREATE,
    sortOrder: pb.RangeRequest_SortOrder.ASCEND,
  });
  return { request: { $case: 'requestRange', value } };
}

export function deleteOp(key: Uint8Array): pb.RequestOp {
  return { request: { $case: 'requestDeleteRange', value: pb.DeleteRangeRequest.create({ key }) } };
}

/** The kvs of the range at `index` of a Txn's responses (empty when it is not a range). */
export function rangeKvs(r: mvcc.TxnResponse, index: number): readonly KeyValue[] {
  const op = r.responses[index];
  return op !== undefined && 'responseRange' in op ? op.responseRange.kvs : [];
}
