/**
 * One write request in the making: accumulates batch operations for main revision beginRev+1 and keeps
 * an overlay of the keys it wrote, so that reads later in the same Txn see earlier writes (as in etcd).
 * Nothing touches the database until the caller commits `ops`.
 */
import { del as delOp, put as putOp, type BatchOp } from '../engine/index.js';
import type { ScanOptions, ScanResult } from './index-scan.js';
import { compareBytes, headKey, indexKey, inRange, revisionKey } from './keys.js';
import { encodeEventRecord, encodeHeadRecord, encodeIndexRecord, type IndexEntry } from './record.js';
import type { RangeSource } from './range.js';
import { cacheKey } from './latest-cache.js';

interface OverlayItem {
  /** The key's newest state inside this txn (a tombstone after a delete). */
  readonly entry: IndexEntry;
  /** Its state before the txn (at beginRev), for prev_kv of events and for count adjustments. */
  readonly before: IndexEntry | undefined;
}

/** A change made by the txn, with the key's state before the txn. */
export interface Change {
  readonly entry: IndexEntry;
  readonly value: Uint8Array;
  readonly before: IndexEntry | undefined;
}

const EMPTY = new Uint8Array(0);

const mapKey = cacheKey;

/** The committed newest entry of a key (possibly a tombstone), or undefined: one seek or a cache hit. */
export type LatestLookup = (key: Uint8Array) => Promise<IndexEntry | undefined>;
/** Values of committed entries (undefined where compaction removed one): cache hits or multi-gets. */
export type ValueLookup = (entries: readonly IndexEntry[]) => Promise<(Uint8Array | undefined)[]>;
/** Live entries of etcd's [key, rangeEnd) at `atMain` (≤ beginRev), without this txn's writes. */
export type BaseScan = (key: Uint8Array, rangeEnd: Uint8Array | undefined, atMain: bigint, opts: ScanOptions) => Promise<ScanResult>;

function live(e: IndexEntry | undefined): e is IndexEntry {
  return e !== undefined && !e.tombstone;
}

export class WriteTxn implements RangeSource {
  readonly beginRev: bigint;
  readonly ops: BatchOp[] = [];
  readonly changes: Change[] = [];
  readonly #baseScan: BaseScan;
  readonly #latest: LatestLookup;
  readonly #committedValues: ValueLookup;
  readonly #overlay = new Map<string, OverlayItem>();
  readonly #values = new Map<IndexEntry, Uint8Array>();

  constructor(beginRev: bigint, lookups: { readonly latest: LatestLookup; readonly values: ValueLookup; readonly scan: BaseScan }) {
    this.#baseScan = lookups.scan;
    this.#latest = lookups.latest;
    this.#committedValues = lookups.values;
    this.beginRev = beginRev;
  }

  /** The revision reads in this txn see: beginRev, or beginRev+1 once it changed something. */
  rev(): bigint {
    return this.changes.length > 0 ? this.beginRev + 1n : this.beginRev;
  }

  /** The key's current state in this txn (possibly a tombstone), or undefined if it never existed. */
  async entry(key: Uint8Array): Promise<IndexEntry | undefined> {
    const item = this.#overlay.get(mapKey(key));
    if (item !== undefined) return item.entry;
    return this.#latest(key);
  }

  async put(key: Uint8Array, value: Uint8Array, lease: bigint): Promise<void> {
    const item = this.#overlay.get(mapKey(key));
    const before = item !== undefined ? item.before : await this.#latest(key);
    const prev = item !== undefined ? item.entry : before;
    const main = this.beginRev + 1n;
    const entry: IndexEntry = {
      key,
      rev: { main, sub: BigInt(this.changes.length) },
      tombstone: false,
      createRevision: live(prev) ? prev.createRevision : main,
      version: live(prev) ? prev.version + 1n : 1n,
      lease,
    };
    this.#record(entry, value, before);
  }

  /** Final entry (and value) of every key this txn wrote, for the store's cache after commit. */
  finalEntries(): { entry: IndexEntry; value: Uint8Array | undefined }[] {
    return [...this.#overlay.values()].map((i) => ({ entry: i.entry, value: i.entry.tombstone ? undefined : this.#values.get(i.entry) }));
  }

  /** Deletes every live key in etcd's [key, rangeEnd); returns how many. */
  async deleteRange(key: Uint8Array, rangeEnd: Uint8Array | undefined): Promise<IndexEntry[]> {
    const { entries } = await this.scan(key, rangeEnd, this.rev(), { limit: 0, count: false, collect: true });
    const main = this.beginRev + 1n;
    for (const e of entries) {
      const item = this.#overlay.get(mapKey(e.key));
      const before = item !== undefined ? item.before : e;
      const tomb: IndexEntry = {
        key: e.key,
        rev: { main, sub: BigInt(this.changes.length) },
        tombstone: true,
        createRevision: 0n,
        version: 0n,
        lease: 0n,
      };
      this.#record(tomb, EMPTY, before);
    }
    return entries;
  }

  #record(entry: IndexEntry, value: Uint8Array, before: IndexEntry | undefined): void {
    this.ops.push(putOp(indexKey(entry.key, entry.rev), encodeIndexRecord(entry)));
    this.ops.push(putOp(revisionKey(entry.rev), encodeEventRecord(entry, value)));
    // The head: newest live entry; a deleted key has none (absent and tombstone mean the same to writes).
    this.ops.push(entry.tombstone ? delOp(headKey(entry.key)) : putOp(headKey(entry.key), encodeHeadRecord(entry)));
    this.#overlay.set(mapKey(entry.key), { entry, before });
    this.#values.set(entry, value);
    this.changes.push({ entry, value, before });
  }

  async scan(key: Uint8Array, rangeEnd: Uint8Array | undefined, atMain: bigint, opts: ScanOptions): Promise<ScanResult> {
    if ((rangeEnd === undefined || rangeEnd.length === 0) && atMain >= this.beginRev) {
      // One key at the newest state (the overlay, else the committed latest entry, often cached), or
      // at exactly the committed revision (ignoring this txn's own writes).
      const e = atMain > this.beginRev ? await this.entry(key) : await this.#latest(key);
      const found = e !== undefined && !e.tombstone ? [e] : [];
      return { entries: opts.collect ? found : [], count: found.length };
    }
    const mine: OverlayItem[] = [];
    if (atMain > this.beginRev) for (const item of this.#overlay.values()) if (inRange(item.entry.key, key, rangeEnd)) mine.push(item);
    if (mine.length === 0) return this.#baseScan(key, rangeEnd, atMain > this.beginRev ? this.beginRev : atMain, opts);
    // Each overlay key can hide at most one stored key, so limit + |mine| stored entries suffice.
    const stored = await this.#baseScan(key, rangeEnd, this.beginRev, {
      limit: opts.limit === 0 ? 0 : opts.limit + mine.length,
      count: opts.count,
      collect: opts.collect,
    });
    let count = stored.count;
    const hidden = new Set<string>();
    for (const item of mine) {
      if (live(item.before)) count--;
      if (!item.entry.tombstone) count++;
      hidden.add(mapKey(item.entry.key));
    }
    if (!opts.collect) return { entries: [], count };
    const merged = stored.entries.filter((e) => !hidden.has(mapKey(e.key)));
    for (const item of mine) if (!item.entry.tombstone) merged.push(item.entry);
    merged.sort((a, b) => compareBytes(a.key, b.key));
    return { entries: opts.limit === 0 ? merged : merged.slice(0, opts.limit), count };
  }

  async values(entries: readonly IndexEntry[]): Promise<(Uint8Array | undefined)[]> {
    const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(entries.length);
    const missing: IndexEntry[] = [];
    const at: number[] = [];
    entries.forEach((e, i) => {
      const v = this.#values.get(e);
      if (v !== undefined) out[i] = v;
      else {
        missing.push(e);
        at.push(i);
      }
    });
    const got = await this.#committedValues(missing);
    got.forEach((v, j) => {
      out[at[j] as number] = v;
    });
    return out;
  }
}
