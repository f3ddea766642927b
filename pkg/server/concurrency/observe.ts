/**
 * etcd's Election.Observe: the current leader's key-value, then every new value it proclaims, then
 * the next leader once it resigns or its lease ends, and so on until the caller stops. Like etcd's,
 * it always delivers the latest leader value but not necessarily every intermediate one.
 *
 * Events come from the module's event router; a bounded queue decouples them from a slow stream.
 * When a stream falls more than MAX_QUEUED events behind, the queue is dropped and the observer
 * re-reads the leader instead (memory per observer stays bounded).
 */
import { EventType, type Event, type KeyValue } from '../../storage/mvcc/index.js';
import type { Result } from './errors.js';
import { firstCreated, linearizable, recipePrefix, sameBytes, type Concurrency } from './kv-ops.js';
import { abortError } from './wait-deletes.js';

export interface Observation {
  readonly kv: KeyValue;
  /** The revision for the response header. */
  readonly revision: bigint;
}

const MAX_QUEUED = 1024;

interface Queued {
  readonly ev: Event;
  readonly revision: bigint;
}

/**
 * Calls `emit` (awaited: it may wait for the transport) for each leader observation of `name` until
 * `signal` aborts, then fails with the abort reason; also fails when a read fails.
 */
export async function observe(
  c: Concurrency,
  name: Uint8Array,
  emit: (o: Observation) => Promise<void>,
  signal: AbortSignal,
): Promise<Result<never>> {
  const prefix = recipePrefix(name);
  let queue: Queued[] = [];
  let overflow = false;
  let wake: (() => void) | undefined;
  const unwatch = c.events.watchPrefix(prefix, (ev, revision) => {
    if (queue.length >= MAX_QUEUED) {
      overflow = true;
      queue = [];
    } else {
      queue.push({ ev, revision });
    }
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });

  /** The next queued event, or why there is none to follow. */
  const next = async (): Promise<Queued | 'resync' | 'aborted'> => {
    for (;;) {
      if (signal.aborted) return 'aborted';
      if (overflow) return 'resync';
      const item = queue.shift();
      if (item !== undefined) return item;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  };
  const stopped = (): Result<never> => ({ ok: false, error: abortError(signal) });

  try {
    resync: for (;;) {
      if (signal.aborted) return stopped();
      overflow = false;
      const r = await linearizable(c);
      if (!r.ok) return r;
      const f = await firstCreated(c, prefix);
      if (!f.ok) return f;
      if (overflow) continue;
      const readAt = f.value.revision;
      queue = queue.filter((q) => q.revision > readAt);

      let current = f.value.kv;
      let since = readAt;
      while (current === undefined) {
        // No leader: the first key put under the prefix is the next one.
        const n = await next();
        if (n === 'aborted') return stopped();
        if (n === 'resync') continue resync;
        if (n.ev.type === EventType.PUT) {
          current = n.ev.kv;
          since = n.ev.kv.modRevision;
        }
      }
      await emit({ kv: current, revision: since });

      for (;;) {
        const n = await next();
        if (n === 'aborted') return stopped();
        if (n === 'resync') continue resync;
        if (n.revision <= since || !sameBytes(n.ev.kv.key, current.key)) continue;
        if (n.ev.type === EventType.DELETE) continue resync;
        await emit({ kv: n.ev.kv, revision: n.revision });
      }
    }
  } finally {
    unwatch();
    signal.removeEventListener('abort', onAbort);
  }
}
