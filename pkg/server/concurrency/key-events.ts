/**
 * Routes the member's applied events to the lock and election waiters, by exact key and by
 * '/'-terminated prefix. One `ctx.onEvents` listener for the whole module (MemberContext offers no
 * way to unsubscribe), and per-waiter subscriptions that can be removed.
 *
 * Listeners run synchronously inside the publication of each applied write, in revision order, right
 * after the write is visible in MVCC: a waiter that subscribes and then reads the store cannot miss a
 * change made after its read.
 */
import { latin1, type Event } from '../../storage/mvcc/index.js';

export type EventListener = (event: Event, revision: bigint) => void;

const SLASH = 0x2f;

const keyString = latin1;

export class KeyEvents {
  readonly #byKey = new Map<string, Set<EventListener>>();
  readonly #byPrefix = new Map<string, Set<EventListener>>();

  /** Feeds the events of one applied revision (wire this to `ctx.onEvents`). */
  publish(events: readonly Event[], revision: bigint): void {
    if (this.#byKey.size === 0 && this.#byPrefix.size === 0) return;
    for (const ev of events) {
      const key = ev.kv.key;
      if (this.#byKey.size > 0) this.#notify(this.#byKey.get(keyString(key)), ev, revision);
      if (this.#byPrefix.size === 0) continue;
      for (let i = 0; i < key.byteLength; i++) {
        if (key[i] === SLASH) this.#notify(this.#byPrefix.get(keyString(key.subarray(0, i + 1))), ev, revision);
      }
    }
  }

  /** Calls `fn` for every event on exactly `key` until the returned function is called. */
  watchKey(key: Uint8Array, fn: EventListener): () => void {
    return add(this.#byKey, keyString(key), fn);
  }

  /** Calls `fn` for every event on a key starting with `prefix`, which must end with '/'. */
  watchPrefix(prefix: Uint8Array, fn: EventListener): () => void {
    if (prefix[prefix.byteLength - 1] !== SLASH) throw new Error('concurrency: a watched prefix must end with "/"');
    return add(this.#byPrefix, keyString(prefix), fn);
  }

  #notify(set: Set<EventListener> | undefined, ev: Event, revision: bigint): void {
    if (set === undefined) return;
    for (const fn of [...set]) fn(ev, revision);
  }
}

function add(map: Map<string, Set<EventListener>>, k: string, fn: EventListener): () => void {
  let set = map.get(k);
  if (set === undefined) {
    set = new Set();
    map.set(k, set);
  }
  set.add(fn);
  return () => {
    const s = map.get(k);
    if (s === undefined) return;
    s.delete(fn);
    if (s.size === 0) map.delete(k);
  };
}
