/**
 * etcd's Range semantics on top of a source of live index entries: revision checks, limit/more/count,
 * min/max mod/create filters, sort, keys_only and count_only.
 */
import { err, ok, type Result } from './errors.js';
import { compareBytes } from './keys.js';
import type { IndexEntry } from './record.js';
import type { ScanOptions, ScanResult } from './index-scan.js';
import { SortOrder, SortTarget, type KeyValue, type RangeRequest } from './types.js';

/** Where a range reads from: the committed store, or a write txn's view (store + its own writes). */
export interface RangeSource {
  scan(key: Uint8Array, rangeEnd: Uint8Array | undefined, atMain: bigint, opts: ScanOptions): Promise<ScanResult>;
  /** Values of `entries`; undefined where the record vanished (compacted during the read). */
  values(entries: readonly IndexEntry[]): Promise<(Uint8Array | undefined)[]>;
}

export interface RangeOutcome {
  kvs: KeyValue[];
  count: bigint;
  more: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Resolves etcd's requested revision: ≤0 = `current`; > current → future-rev; < compacted → compacted
 * (the compaction revision itself stays readable).
 */
export function resolveRevision(requested: bigint, current: bigint, compacted: bigint): Result<bigint> {
  if (requested > current) return err('future-rev');
  const rev = requested <= 0n ? current : requested;
  if (rev < compacted) return err('compacted');
  return ok(rev);
}

export function kvOf(e: IndexEntry, value: Uint8Array): KeyValue {
  return { key: e.key, createRevision: e.createRevision, modRevision: e.rev.main, version: e.version, value, lease: e.lease };
}

export async function executeRange(
  src: RangeSource,
  r: RangeRequest,
  current: bigint,
  compacted: bigint,
): Promise<Result<RangeOutcome>> {
  const resolved = resolveRevision(r.revision ?? 0n, current, compacted);
  if (!resolved.ok) return resolved;
  const atMain = resolved.value;
  const limit = r.limit ?? 0n;
  const filtered =
    (r.minModRevision ?? 0n) !== 0n ||
    (r.maxModRevision ?? 0n) !== 0n ||
    (r.minCreateRevision ?? 0n) !== 0n ||
    (r.maxCreateRevision ?? 0n) !== 0n;
  let order: SortOrder = r.sortOrder ?? SortOrder.NONE;
  const target = r.sortTarget ?? SortTarget.KEY;
  // Without sort/filter, fetch limit+1 to learn `more`; otherwise everything, then sort and cut.
  const fetchLimit = order === SortOrder.NONE && !filtered && limit > 0n ? Number(limit) + 1 : 0;

  if (r.countOnly === true) {
    const { count } = await src.scan(r.key, r.rangeEnd, atMain, { limit: 0, count: true, collect: false });
    return ok({ kvs: [], count: BigInt(count), more: false });
  }
  const { entries, count } = await src.scan(r.key, r.rangeEnd, atMain, { limit: fetchLimit, count: true, collect: true });
  if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
  const needValues = r.keysOnly !== true || (order !== SortOrder.NONE && target === SortTarget.VALUE);
  let kvs: KeyValue[];
  if (needValues) {
    const values = await src.values(entries);
    kvs = [];
    for (let i = 0; i < entries.length; i++) {
      const v = values[i];
      if (v === undefined) return err('compacted');
      kvs.push(kvOf(entries[i] as IndexEntry, v));
    }
  } else {
    kvs = entries.map((e) => kvOf(e, EMPTY));
  }
  const maxMod = r.maxModRevision ?? 0n;
  const minMod = r.minModRevision ?? 0n;
  const maxCreate = r.maxCreateRevision ?? 0n;
  const minCreate = r.minCreateRevision ?? 0n;
  if (filtered) {
    kvs = kvs.filter(
      (kv) =>
        (maxMod === 0n || kv.modRevision <= maxMod) &&
        (minMod === 0n || kv.modRevision >= minMod) &&
        (maxCreate === 0n || kv.createRevision <= maxCreate) &&
        (minCreate === 0n || kv.createRevision >= minCreate),
    );
  }
  if (order !== SortOrder.NONE) sortKvs(kvs, target, order === SortOrder.DESCEND);
  let more = false;
  if (limit > 0n && kvs.length > Number(limit)) {
    kvs = kvs.slice(0, Number(limit));
    more = true;
  }
  if (r.keysOnly === true) for (const kv of kvs) kv.value = EMPTY;
  return ok({ kvs, count: BigInt(count), more });
}

/**
 * Stable sort; ties keep ascending key order for both ASCEND and DESCEND. That is what etcd returns
 * for small ranges (Go's sort.Sort over sort.Reverse is an insertion sort up to 12 elements, stable
 * with respect to the reversed order); for larger ranges etcd's tie order is unspecified.
 */
export function sortKvs(kvs: KeyValue[], target: SortTarget, descend: boolean): void {
  const cmp = (a: KeyValue, b: KeyValue): number => {
    switch (target) {
      case SortTarget.KEY:
        return compareBytes(a.key, b.key);
      case SortTarget.VERSION:
        return big(a.version, b.version);
      case SortTarget.CREATE:
        return big(a.createRevision, b.createRevision);
      case SortTarget.MOD:
        return big(a.modRevision, b.modRevision);
      case SortTarget.VALUE:
        return compareBytes(a.value, b.value);
    }
  };
  kvs.sort(descend ? (a, b) => cmp(b, a) : cmp);
}

function big(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
