/**
 * A bounded LRU of recently used keys' newest index entry (null = the key has no entry at all) and,
 * when small enough, that revision's value. It only saves work: the key index in RocksDB stays the
 * record. Entries are filled from committed reads and from committed writes, so a hit is the committed
 * latest state of the key. A cached tombstone may outlive its physical deletion by compaction; both
 * mean "absent". Bounded by entry count and by bytes (keys + values + a fixed overhead per entry).
 */
import type { IndexEntry } from './record.js';

interface Slot {
  readonly entry: IndexEntry | null;
  value: Uint8Array | undefined;
  bytes: number;
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
  #bytes = 0;

  constructor(limits: CacheLimits) {
    this.#limits = limits;
  }

  /** The cached newest entry, null for "no entry", undefined for "not cached". */
  get(key: string): IndexEntry | null | undefined {
    const slot = this.#map.get(key);
    if (slot === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, slot);
    return slot.entry;
  }

  /** Drops everything (the store underneath was replaced, e.g. by a raft snapshot install). */
  clear(): void {
    this.#map.clear();
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
    this.#drop(key);
    // A copy: the caller keeps ownership of the request's bytes.
    const v = value !== undefined && value.length <= this.#limits.maxValueBytes ? new Uint8Array(value) : undefined;
    const slot: Slot = { entry, value: v, bytes: OVERHEAD + key.length + (v?.length ?? 0) };
    this.#map.set(key, slot);
    this.#bytes += slot.bytes;
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

  #drop(key: string): void {
    const old = this.#map.get(key);
    if (old === undefined) return;
    this.#bytes -= old.bytes;
    this.#map.delete(key);
  }

  #evict(): void {
    while (this.#map.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) return;
      this.#drop(oldest.value);
    }
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

export function cacheKey(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1');
}
