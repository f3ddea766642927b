/**
 * etcd's distributed lock (v3lockpb.Lock), served by the member itself with the algorithm of etcd's
 * `concurrency.Mutex`: the caller's key `name/<lease hex>` joins a queue ordered by create revision;
 * the owner is the oldest key. Lock returns once every older key is gone; Unlock deletes the key.
 */
import { fail, serverFail, stopping, type Result } from './errors.js';
import {
  createRevisionIs,
  deleteKey,
  deleteOp,
  firstCreatedOp,
  getKey,
  getOp,
  linearizable,
  ownKey,
  putOp,
  rangeKvs,
  recipePrefix,
  sessionLease,
  txn,
  type Concurrency,
} from './kv-ops.js';
import { abortError, waitDeletes } from './wait-deletes.js';
import { validateDeleteRange } from '../../storage/mvcc/index.js';
import { mvccError } from '../errors.js';

export interface Locked {
  readonly key: Uint8Array;
  /** The revision of the response header. */
  readonly revision: bigint;
}

/**
 * Acquires the lock `name` for `lease` (0 = a fresh 60 s lease, as etcd's server does). Waits
 * without bound until the lock is held, or until `signal` aborts: then the key it queued is deleted
 * (best effort) and the abort reason is returned. Fails with the lease-not-found server error for an
 * unknown lease, and with 'sessionExpired' when its own key vanished (lease expired) while it waited.
 * Calling it again with a lease that already holds or waits reuses the same key.
 */
export async function lock(c: Concurrency, req: { readonly name: Uint8Array; readonly lease: bigint }, signal: AbortSignal): Promise<Result<Locked>> {
  const lease = await sessionLease(c, req.lease);
  if (!lease.ok) return lease;
  const prefix = recipePrefix(req.name);
  const key = ownKey(prefix, lease.value);
  const t = await txn(c, {
    compare: [createRevisionIs(key, 0n)],
    success: [putOp(key, new Uint8Array(0), lease.value), firstCreatedOp(prefix)],
    failure: [getOp(key), firstCreatedOp(prefix)],
  });
  if (!t.ok) return t;
  const myRev = t.value.succeeded ? t.value.header.revision : (rangeKvs(t.value, 0)[0]?.createRevision ?? t.value.header.revision);
  const owner = rangeKvs(t.value, 1)[0];
  if (owner === undefined || owner.createRevision === myRev) {
    // A caller that left while its Txn was in flight would never learn it holds the lock: give back
    // the key this call created (a key that existed before belongs to an earlier call).
    if (signal.aborted && t.value.succeeded) return release(c, key, myRev, signal);
    return { ok: true, value: { key, revision: t.value.header.revision } };
  }

  const w = await waitDeletes(c, prefix, myRev - 1n, signal);
  if (!w.ok) return signal.aborted ? release(c, key, myRev, signal) : w;
  // Still ours? The lease may have expired while we waited (etcd ≥ 3.5: "mutex: session is expired").
  const r = await linearizable(c);
  if (!r.ok) return r;
  const mine = await getKey(c, key);
  if (!mine.ok) return mine;
  if (mine.value.kv === undefined || mine.value.kv.createRevision !== myRev) return fail('sessionExpired');
  if (signal.aborted) return release(c, key, myRev, signal);
  return { ok: true, value: { key, revision: mine.value.revision } };
}

/**
 * Answers a Lock whose signal aborted. When the client cancelled, its key is deleted in the
 * background (unless meanwhile recreated by someone else), like etcd; at member stop it is left to
 * its lease.
 */
function release(c: Concurrency, key: Uint8Array, createRevision: bigint, signal: AbortSignal): Result<never> {
  const error = abortError(signal);
  if (error.kind !== 'cancelled') return { ok: false, error };
  void txn(c, { compare: [createRevisionIs(key, createRevision)], success: [deleteOp(key)], failure: [] }).then(
    (r) => {
      if (!r.ok && !stopping(r.error)) c.logger.warn({ key: Buffer.from(key).toString(), error: r.error.kind }, 'lock: failed to release the key of a cancelled lock');
    },
    () => undefined,
  );
  return { ok: false, error };
}

/** Releases a lock: deletes `key` (no error when it is already gone). Returns the header revision. */
export async function unlock(c: Concurrency, key: Uint8Array): Promise<Result<bigint>> {
  const v = validateDeleteRange({ key });
  if (!v.ok) return serverFail(mvccError(v.error));
  return deleteKey(c, key);
}
