/**
 * Which watchers a key concerns, without scanning every watcher.
 *
 * Single-key watchers live in a hash map keyed by the key's bytes: one lookup per event. Range
 * watchers are grouped by identical interval (kube opens many watchers on the same few prefixes), and
 * the distinct intervals sit in an array sorted by start key with a running maximum of the end keys.
 * A lookup binary-searches the last interval starting at or before the key and walks left until the
 * running maximum shows that no earlier interval reaches the key: O(log n + intervals that contain
 * the key + intervals skipped in between), O(n) only for pathologically nested ranges. The sorted
 * array is rebuilt lazily (O(n log n) over distinct intervals) on the first lookup after a change.
 */
import { compareBytes } from '../../storage/mvcc/keys.js';
import { latin1 } from '../../storage/mvcc/latin1.js';
import type { KeyRange } from './range.js';

interface Interval<T> {
  readonly start: Uint8Array;
  /** null = unbounded (every key ≥ start). */
  readonly end: Uint8Array | null;
  readonly members: Set<T>;
}


/** A distinct interval's identity; an unbounded end cannot collide with a bounded one. */
function intervalId(key: Uint8Array, end: Uint8Array): string {
  const k = `${key.length}:${latin1(key)}`;
  return end.length === 0 ? `${k}*` : `${k}=${latin1(end)}`;
}

/** max of two end keys where null means +infinity. */
function maxEnd(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  if (a === null || b === null) return null;
  return compareBytes(a, b) >= 0 ? a : b;
}

export class WatcherIndex<T extends { readonly range: KeyRange }> {
  readonly #exact = new Map<string, Set<T>>();
  readonly #intervals = new Map<string, Interval<T>>();
  #sorted: Interval<T>[] = [];
  #runningMax: (Uint8Array | null)[] = [];
  #dirty = false;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(w: T): void {
    const r = w.range;
    if (r.end === undefined) {
      const k = latin1(r.key);
      let set = this.#exact.get(k);
      if (set === undefined) this.#exact.set(k, (set = new Set()));
      if (!set.has(w)) this.#size++;
      set.add(w);
      return;
    }
    const id = intervalId(r.key, r.end);
    let iv = this.#intervals.get(id);
    if (iv === undefined) {
      iv = { start: r.key, end: r.end.length === 0 ? null : r.end, members: new Set() };
      this.#intervals.set(id, iv);
      this.#dirty = true;
    }
    if (!iv.members.has(w)) this.#size++;
    iv.members.add(w);
  }

  remove(w: T): void {
    const r = w.range;
    if (r.end === undefined) {
      const k = latin1(r.key);
      const set = this.#exact.get(k);
      if (set?.delete(w) === true) {
        this.#size--;
        if (set.size === 0) this.#exact.delete(k);
      }
      return;
    }
    const id = intervalId(r.key, r.end);
    const iv = this.#intervals.get(id);
    if (iv?.members.delete(w) === true) {
      this.#size--;
      if (iv.members.size === 0) {
        this.#intervals.delete(id);
        this.#dirty = true;
      }
    }
  }

  /** Calls `fn` for every watcher whose range contains `key` (each watcher at most once). */
  forEachMatch(key: Uint8Array, fn: (w: T) => void): void {
    const exact = this.#exact.get(latin1(key));
    if (exact !== undefined) for (const w of exact) fn(w);
    if (this.#intervals.size === 0) return;
    if (this.#dirty) this.#rebuild();
    // last interval with start <= key
    let lo = 0;
    let hi = this.#sorted.length - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const iv = this.#sorted[mid] as Interval<T>;
      if (compareBytes(iv.start, key) <= 0) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let j = i; j >= 0; j--) {
      const reach = this.#runningMax[j];
      if (reach !== null && reach !== undefined && compareBytes(reach, key) <= 0) break;
      const iv = this.#sorted[j] as Interval<T>;
      if (iv.end === null || compareBytes(key, iv.end) < 0) for (const w of iv.members) fn(w);
    }
  }

  #rebuild(): void {
    this.#sorted = [...this.#intervals.values()].sort((a, b) => compareBytes(a.start, b.start));
    this.#runningMax = [];
    let m: Uint8Array | null | undefined;
    for (const iv of this.#sorted) {
      m = m === undefined ? iv.end : maxEnd(m, iv.end);
      this.#runningMax.push(m);
    }
    this.#dirty = false;
  }
}
