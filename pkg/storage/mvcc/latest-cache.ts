/**
 * A bounded LRU of recently used keys' newest index entry (null = the key has no entry at all) and,
 * when small enough, that revision's value. It only saves work: the key index in RocksDB stays the
 * record. Entries are filled from committed reads and from committed writes, so a hit is the committed
 * latest state of the key. A cached tombstone may outlive its physical deletion by compaction; both
 * mean "absent". Bounded by entry count and by bytes (keys + values + a fixed overhead per entry).
 */
import type { IndexEntry } from './record.js';
import { latin1 } from './latin1.js';

/**
 * One cached key. Slots form a doubly linked recency list (head = least recently used). Recency is
 * kept in the list, never by re-inserting into the Map: V8's Map rehashes its whole table when one key
 * is deleted and set again over and over (measured: ~1 µs per get at 1,000 keys, ~150 µs at 100,000),
 * which made every read of a hot key cost O(cache size) once the cache had filled.
 */
interface Slot {
  readonly key: string;
  entry: IndexEntry | null;
  value: Uint8Array | undefined;
  bytes: number;
  prev: Slot | undefined;
  next: Slot | undefined;
}

/** Rough per-entry cost of the Map slot, the entry object and its bigints. */
const OVERHEAD = 200;

export interface CacheLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Values larger than this are never cached. */
  readonly maxValueBytes: number;
}

export class LatestCache {
  readonly #limits: CacheLimits;
  readonly #map = new Map<string, Slot>();
  /** Least recently used. */
  #head: Slot | undefined;
  /** Most recently used. */
  #tail: Slot | undefined;
  #bytes = 0;

  constructor(limits: CacheLimits) {
    this.#limits = limits;
  }

  /** The cached newest entry, null for "no entry", undefined for "not cached". */
  get(key: string): IndexEntry | null | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    this.#touch(slot);
    return slot.entry;
  }

  /** Drops everything (the store underneath was replaced, e.g. by a raft snapshot install). */
  clear(): void {
    this.#map.clear();
    this.#head = this.#tail = undefined;
    this.#bytes = 0;
  }

  /** Whether `key` is cached, without touching its recency. */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** The value of `e` if the cache holds exactly that revision of its key with its value. */
  valueOf(key: string, e: IndexEntry): Uint8Array | undefined {
    const slot = this.#map.get(key);
    if (slot?.entry == null || slot.value === undefined) return undefined;
    return sameRev(slot.entry, e) ? slot.value : undefined;
  }

  set(key: string, entry: IndexEntry | null, value?: Uint8Array): void {
    if (this.#limits.maxEntries <= 0) return;
    // A copy: the caller keeps ownership of the request's bytes.
    const v = value !== undefined && value.length <= this.#limits.maxValueBytes ? new Uint8Array(value) : undefined;
    const bytes = OVERHEAD + key.length + (v?.length ?? 0);
    const slot = this.#map.get(key);
    if (slot !== undefined) {
      // Updated in place and made most recent: no Map delete + set (see Slot).
      this.#bytes += bytes - slot.bytes;
      slot.entry = entry;
      slot.value = v;
      slot.bytes = bytes;
      this.#touch(slot);
    } else {
      const fresh: Slot = { key, entry, value: v, bytes, prev: this.#tail, next: undefined };
      if (this.#tail !== undefined) this.#tail.next = fresh;
      else this.#head = fresh;
      this.#tail = fresh;
      this.#map.set(key, fresh);
      this.#bytes += bytes;
    }
    this.#evict();
  }

  /** Attaches a value read from storage, if the cache still holds that revision of the key. */
  addValue(key: string, e: IndexEntry, value: Uint8Array): void {
    const slot = this.#map.get(key);
    if (slot?.entry == null || slot.value !== undefined || !sameRev(slot.entry, e)) return;
    if (value.length > this.#limits.maxValueBytes) return;
    slot.value = value;
    slot.bytes += value.length;
    this.#bytes += value.length;
    this.#evict();
  }

  /** Moves `slot` to the most recently used end. */
  #touch(slot: Slot): void {
    if (slot === this.#tail) return;
    // Unlink (slot is not the tail, so it has a next).
    const next = slot.next as Slot;
    if (slot.prev !== undefined) slot.prev.next = next;
    else this.#head = next;
    next.prev = slot.prev;
    // Append.
    slot.prev = this.#tail;
    slot.next = undefined;
    (this.#tail as Slot).next = slot;
    this.#tail = slot;
  }

  #evict(): void {
    while (this.#map.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes) {
      const oldest = this.#head;
      if (oldest === undefined) return;
      this.#head = oldest.next;
      if (this.#head !== undefined) this.#head.prev = undefined;
      else this.#tail = undefined;
      this.#map.delete(oldest.key);
      this.#bytes -= oldest.bytes;
    }
  }

  /** Keys from least to most recently used (for tests). */
  *keysByRecency(): IterableIterator<string> {
    for (let s = this.#head; s !== undefined; s = s.next) yield s.key;
  }

  get size(): number {
    return this.#map.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

function sameRev(a: IndexEntry, b: IndexEntry): boolean {
  return a.rev.main === b.rev.main && a.rev.sub === b.rev.sub;
}

/** A key as the string the cache (and the pending-write chain) index it by. */
export const cacheKey = latin1;
