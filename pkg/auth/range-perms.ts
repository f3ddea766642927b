/**
 * Key-range permission checks (etcd's range permission cache): a user's READ and WRITE grants, merged
 * from all of its roles into sorted, disjoint half-open intervals [start, end) over byte strings.
 * `end === undefined` means "every key >= start" (etcd's range_end "\0"). A grant with an empty
 * range_end covers exactly its key, i.e. [key, key‖0x00).
 *
 * A request is permitted when its whole range is covered by the union of the intervals: a single
 * key (empty range_end) must lie in one; a range [key, range_end) must be covered without a gap;
 * range_end "\0" asks for every key >= key, which only an open-ended interval covers.
 */
import { Permission_Type, type Permission } from '../proto/gen/authpb/auth.js';

export interface Interval {
  readonly start: Uint8Array;
  /** Exclusive; undefined = unbounded. */
  readonly end: Uint8Array | undefined;
}

export interface UserPerms {
  readonly read: readonly Interval[];
  readonly write: readonly Interval[];
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** a < b where undefined is +infinity. */
function endBefore(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  return cmp(a, b) < 0;
}

function isOpenEnd(rangeEnd: Uint8Array): boolean {
  return rangeEnd.byteLength === 1 && rangeEnd[0] === 0;
}

function pointEnd(key: Uint8Array): Uint8Array {
  const e = new Uint8Array(key.byteLength + 1);
  e.set(key);
  return e;
}

/** The interval a permission (or a request) names; undefined when it is empty (end <= start). */
export function intervalOf(key: Uint8Array, rangeEnd: Uint8Array): Interval | undefined {
  if (rangeEnd.byteLength === 0) return { start: key, end: pointEnd(key) };
  if (isOpenEnd(rangeEnd)) return { start: key, end: undefined };
  if (cmp(rangeEnd, key) <= 0) return undefined;
  return { start: key, end: rangeEnd };
}

/** Sorts and merges overlapping or touching intervals. */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => cmp(a.start, b.start));
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (last.end === undefined || cmp(iv.start, last.end) <= 0)) {
      if (endBefore(last.end, iv.end)) out[out.length - 1] = { start: last.start, end: iv.end };
    } else {
      out.push(iv);
    }
  }
  return out;
}

/** The merged READ and WRITE intervals of a set of permissions (READWRITE counts for both). */
export function buildUserPerms(perms: Iterable<Permission>): UserPerms {
  const read: Interval[] = [];
  const write: Interval[] = [];
  for (const p of perms) {
    const iv = intervalOf(p.key, p.rangeEnd);
    if (iv === undefined) continue;
    if (p.permType === Permission_Type.READ || p.permType === Permission_Type.READWRITE) read.push(iv);
    if (p.permType === Permission_Type.WRITE || p.permType === Permission_Type.READWRITE) write.push(iv);
  }
  return { read: mergeIntervals(read), write: mergeIntervals(write) };
}

/** True when the merged `intervals` cover the request [key, rangeEnd) (etcd request encoding). */
export function covers(intervals: readonly Interval[], key: Uint8Array, rangeEnd: Uint8Array): boolean {
  const want = intervalOf(key, rangeEnd);
  // An empty request range (range_end <= key) reads nothing; etcd still asks about its start key.
  const need = want ?? { start: key, end: pointEnd(key) };
  // Merged intervals are disjoint and non-touching: one of them must contain the whole range.
  for (const iv of intervals) {
    if (cmp(iv.start, need.start) > 0) return false;
    if (iv.end === undefined) return true;
    if (cmp(need.start, iv.end) < 0) return !endBefore(iv.end, need.end);
  }
  return false;
}
