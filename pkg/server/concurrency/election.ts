/**
 * etcd's leader election (v3electionpb.Election), served by the member itself with the algorithm of
 * etcd's `concurrency.Election`: each candidate's key `name/<lease hex>` holds its value; the leader
 * is the key with the lowest create revision. A leader is identified by (key, create revision).
 */
import type { KeyValue } from '../../storage/mvcc/index.js';
import { fail, stopping, type Result } from './errors.js';
import {
  createRevisionIs,
  deleteOp,
  firstCreated,
  getOp,
  linearizable,
  ownKey,
  putOp,
  rangeKvs,
  recipePrefix,
  sameBytes,
  sessionLease,
  txn,
  type Concurrency,
} from './kv-ops.js';
import { abortError, waitDeletes } from './wait-deletes.js';

export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  readonly rev: bigint;
  readonly lease: bigint;
}

export interface Elected {
  readonly leader: LeaderKey;
  /** etcd answers with the header of the campaign's Txn, even after waiting. */
  readonly revision: bigint;
}

/**
 * Campaigns for `name` with `value` and resolves once this candidate leads. A candidate whose key
 * already exists (same lease) keeps its place and has its value proclaimed. Waits without bound
 * until elected or until `signal` aborts; a cancelled campaign resigns (deletes its key).
 */
export async function campaign(
  c: Concurrency,
  req: { readonly name: Uint8Array; readonly lease: bigint; readonly value: Uint8Array },
  signal: AbortSignal,
): Promise<Result<Elected>> {
  const lease = await sessionLease(c, req.lease);
  if (!lease.ok) return lease;
  const prefix = recipePrefix(req.name);
  const key = ownKey(prefix, lease.value);
  const t = await txn(c, { compare: [createRevisionIs(key, 0n)], success: [putOp(key, req.value, lease.value)], failure: [getOp(key)] });
  if (!t.ok) return t;
  const leader: { name: Uint8Array; key: Uint8Array; rev: bigint; lease: bigint } = { name: req.name, key, rev: t.value.header.revision, lease: lease.value };
  if (!t.value.succeeded) {
    const kv = rangeKvs(t.value, 0)[0];
    if (kv !== undefined) {
      leader.rev = kv.createRevision;
      if (!sameBytes(kv.value, req.value)) {
        const p = await proclaim(c, leader, req.value);
        if (!p.ok) {
          await resign(c, leader);
          return p;
        }
      }
    }
  }
  const w = await waitDeletes(c, prefix, leader.rev - 1n, signal);
  // A caller that left gives its place up, like etcd; one that left while its Txn was in flight and
  // was elected at once gives up the key this call created (never one an earlier call made).
  if (!w.ok || signal.aborted) {
    const error = w.ok ? abortError(signal) : w.error;
    if (error.kind === 'cancelled' && (!w.ok || t.value.succeeded)) {
      void resign(c, leader).then(
        (r) => {
          if (!r.ok && !stopping(r.error)) c.logger.warn({ key: Buffer.from(key).toString() }, 'election: failed to resign a cancelled campaign');
        },
        () => undefined,
      );
    }
    return { ok: false, error };
  }
  return { ok: true, value: { leader, revision: t.value.header.revision } };
}

/**
 * Sets the leader's value, keeping it leader: a Txn that puts only while the key still has the
 * leader's create revision. Fails with 'electionNotLeader' otherwise. Returns the header revision.
 */
export async function proclaim(c: Concurrency, leader: LeaderKey | undefined, value: Uint8Array): Promise<Result<bigint>> {
  if (leader === undefined) return fail('missingLeaderKey');
  const t = await txn(c, { compare: [createRevisionIs(leader.key, leader.rev)], success: [putOp(leader.key, value, leader.lease)], failure: [] });
  if (!t.ok) return t;
  if (!t.value.succeeded) return fail('electionNotLeader');
  return { ok: true, value: t.value.header.revision };
}

/** Gives up leadership: deletes the key if it still has the leader's create revision (no error otherwise). */
export async function resign(c: Concurrency, leader: LeaderKey | undefined): Promise<Result<bigint>> {
  if (leader === undefined) return fail('missingLeaderKey');
  const t = await txn(c, { compare: [createRevisionIs(leader.key, leader.rev)], success: [deleteOp(leader.key)], failure: [] });
  return t.ok ? { ok: true, value: t.value.header.revision } : t;
}

/** The current leader's key-value (linearizable), or 'electionNoLeader'. */
export async function leader(c: Concurrency, name: Uint8Array): Promise<Result<{ readonly kv: KeyValue; readonly revision: bigint }>> {
  const r = await linearizable(c);
  if (!r.ok) return r;
  const f = await firstCreated(c, recipePrefix(name));
  if (!f.ok) return f;
  if (f.value.kv === undefined) return fail('electionNoLeader');
  return { ok: true, value: { kv: f.value.kv, revision: f.value.revision } };
}
