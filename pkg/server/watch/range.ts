/**
 * The key range of a watcher, normalised the way etcd's watch server does it before matching.
 */
import { compareBytes } from '../../storage/mvcc/keys.js';

export interface KeyRange {
  readonly key: Uint8Array;
  /** undefined: exactly `key`; empty: every key ≥ `key`; otherwise [key, end). */
  readonly end?: Uint8Array;
}

const ZERO = new Uint8Array([0]);

/**
 * etcd's rules: an empty key means `\0` (the smallest key), an empty range_end means one key, a
 * range_end of `\0` means "every key ≥ key". Returns null for an empty interval (key ≥ range_end),
 * which etcd refuses with "mvcc: watcher range is empty".
 */
export function normalizeRange(key: Uint8Array, rangeEnd: Uint8Array): KeyRange | null {
  const k = key.length === 0 ? ZERO : key;
  if (rangeEnd.length === 0) return { key: k };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { key: k, end: new Uint8Array(0) };
  if (compareBytes(k, rangeEnd) >= 0) return null;
  return { key: k, end: rangeEnd };
}

export function rangeContains(r: KeyRange, k: Uint8Array): boolean {
  if (r.end === undefined) return compareBytes(k, r.key) === 0;
  if (compareBytes(k, r.key) < 0) return false;
  return r.end.length === 0 || compareBytes(k, r.end) < 0;
}
