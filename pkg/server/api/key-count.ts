/**
 * etcd_debugging_mvcc_keys_total, the number of live keys. Counted from the store (a count-only range
 * over every key) when the member starts and after a snapshot install replaced the state, then kept
 * current from the events of each applied write: a PUT that creates a key (version 1) adds one, a
 * DELETE removes one. Events at or below the revision a count was taken at are already in it.
 */
import type { Gauge } from 'prom-client';
import { EventType, type Event } from '../../storage/mvcc/index.js';
import { componentLogger } from '../../log/index.js';
import type { MemberContext } from '../context.js';

const ALL = Uint8Array.of(0);
/** Deltas kept while a count is running; beyond this that count is discarded and taken again. */
const MAX_PENDING = 100_000;

export function trackKeyCount(ctx: MemberContext, gauge: Gauge): void {
  const log = componentLogger(ctx.logger, 'metrics');
  let count = 0;
  /** Revision of the last completed count; undefined while one runs. */
  let base: bigint | undefined;
  let pending: { readonly revision: bigint; readonly delta: number }[] = [];
  let overflow = false;
  let generation = 0;

  const recount = async (): Promise<void> => {
    const gen = ++generation;
    base = undefined;
    pending = [];
    overflow = false;
    // The store may close under the count (the member stopping while it starts): that ends it.
    let r: Awaited<ReturnType<typeof ctx.mvcc.range>>;
    try {
      r = await ctx.mvcc.range({ key: ALL, rangeEnd: ALL, countOnly: true });
    } catch (e) {
      if (gen === generation) log.warn({ error: e instanceof Error ? e.message : String(e) }, 'could not count keys; etcd_debugging_mvcc_keys_total is stale');
      return;
    }
    if (gen !== generation) return;
    if (!r.ok) {
      log.warn({ error: r.error.kind }, 'could not count keys; etcd_debugging_mvcc_keys_total is stale');
      pending = [];
      return;
    }
    if (overflow) return void recount();
    const at = r.value.header.revision;
    count = Number(r.value.count);
    for (const p of pending) if (p.revision > at) count += p.delta;
    pending = [];
    base = at;
    gauge.set(count);
  };

  ctx.onEvents((events: readonly Event[], revision: bigint) => {
    let delta = 0;
    for (const e of events) {
      if (e.type === EventType.DELETE) delta--;
      else if (e.kv.version === 1n) delta++;
    }
    if (delta === 0) return;
    if (base === undefined) {
      if (pending.length < MAX_PENDING) pending.push({ revision, delta });
      else overflow = true;
      return;
    }
    if (revision <= base) return;
    count += delta;
    gauge.set(count);
  });
  ctx.onSnapshotInstalled?.(() => recount());
  void recount();
}
