/**
 * etcd's waitDeletes: wait until no key under a prefix has a create revision ≤ a bound — the
 * "everyone queued before me is gone" condition of both recipes. Waits on one key at a time (the
 * latest-created one below the bound), like etcd, so a deletion wakes one waiter, not all of them.
 *
 * Reads are local: this member applied the caller's own Txn before the wait starts, deletions it
 * observes are committed facts, and no key can be created later with a create revision below the
 * bound (revisions only grow). So a local "none left" is a true "none left".
 */
import { EventType } from '../../storage/mvcc/index.js';
import type { KeyValue } from '../../storage/mvcc/index.js';
import type { ConcurrencyError, Result } from './errors.js';
import { getKey, lastCreatedUpTo, type Concurrency } from './kv-ops.js';

const OK: Result<void> = { ok: true, value: undefined };

/** The error an aborted signal carries (a ConcurrencyError given to `abort`), else 'cancelled'. */
export function abortError(signal: AbortSignal): ConcurrencyError {
  const r: unknown = signal.reason;
  if (typeof r === 'object' && r !== null && 'kind' in r) return r as ConcurrencyError;
  return { kind: 'cancelled' };
}

/**
 * Resolves with the local revision at which no key under `prefix` has a create revision ≤
 * `maxCreateRevision`. Fails only when `signal` aborts (with its reason) or a local read fails.
 */
export async function waitDeletes(c: Concurrency, prefix: Uint8Array, maxCreateRevision: bigint, signal: AbortSignal): Promise<Result<bigint>> {
  for (;;) {
    if (signal.aborted) return { ok: false, error: abortError(signal) };
    const last = await lastCreatedUpTo(c, prefix, maxCreateRevision);
    if (!last.ok) return last;
    const kv = last.value.kv;
    if (kv === undefined) return { ok: true, value: last.value.revision };
    const w = await waitDelete(c, kv, signal);
    if (!w.ok) return w;
  }
}

/** Resolves once `kv` (this incarnation of its key) no longer exists. */
async function waitDelete(c: Concurrency, kv: KeyValue, signal: AbortSignal): Promise<Result<void>> {
  let resolve: (r: Result<void>) => void = () => undefined;
  const deleted = new Promise<Result<void>>((r) => (resolve = r));
  const unwatch = c.events.watchKey(kv.key, (ev) => {
    if (ev.type === EventType.DELETE) resolve(OK);
  });
  const onAbort = (): void => resolve({ ok: false, error: abortError(signal) });
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) return { ok: false, error: abortError(signal) };
    // Subscribed first, then re-read: a deletion applied before the subscription shows up here.
    const now = await getKey(c, kv.key);
    if (!now.ok) return now;
    if (now.value.kv === undefined || now.value.kv.createRevision !== kv.createRevision) return OK;
    return await deleted;
  } finally {
    unwatch();
    signal.removeEventListener('abort', onAbort);
  }
}
