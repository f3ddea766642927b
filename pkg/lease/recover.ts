/**
 * Opening a member's lessor: lease records from the Lease keyspace, attachments from the MVCC store
 * (every live key records its lease, so they need no storage of their own, as in etcd).
 */
import type { Engine } from '../storage/engine/index.js';
import type { MvccStore } from '../storage/mvcc/index.js';
import { Lessor, type LessorOptions } from './lessor.js';

const PAGE = 1000n;

/** Attaches every live key of `mvcc` that carries a lease, scanning the key space in pages. */
export async function recoverAttachments(lessor: Lessor, mvcc: Pick<MvccStore, 'range'>): Promise<void> {
  if (lessor.size === 0) return;
  let from: Uint8Array = Uint8Array.of(0);
  for (;;) {
    const res = await mvcc.range({ key: from, rangeEnd: Uint8Array.of(0), limit: PAGE, keysOnly: true });
    if (!res.ok) throw new Error(`lease: cannot scan keys to recover attachments: ${res.error.kind}`);
    const kvs = res.value.kvs;
    for (const kv of kvs) lessor.recoverKey(kv.key, kv.lease);
    const last = kvs[kvs.length - 1];
    if (!res.value.more || last === undefined) return;
    from = new Uint8Array(last.key.byteLength + 1);
    from.set(last.key);
  }
}

const BY_ENGINE = new WeakMap<object, Lessor>();

/**
 * Loads the lessor of the member whose state lives in `engine` and recovers its attachments. The
 * composition root calls it before raft starts applying (the MVCC store's lease check consults it);
 * the lease service module then finds it with `lessorOf(engine)`.
 */
export async function openLessor(engine: Engine, mvcc: Pick<MvccStore, 'range'>, opts: LessorOptions): Promise<Lessor> {
  const lessor = await Lessor.load(engine, opts);
  await recoverAttachments(lessor, mvcc);
  BY_ENGINE.set(engine, lessor);
  return lessor;
}

/** The lessor opened for `engine`. Throws if none was: a composition-root bug. */
export function lessorOf(engine: Engine): Lessor {
  const l = BY_ENGINE.get(engine);
  if (l === undefined) throw new Error('lease: no lessor was opened for this member (member.ts must call openLessor)');
  return l;
}
