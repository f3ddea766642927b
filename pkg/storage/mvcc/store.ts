/**
 * MvccStore: etcd's multi-version key-value model on the engine (see docs/mvcc.md).
 *
 * Writes are two-phase so that the server can commit the effects of raft entry i and "applied = i"
 * in ONE batch: `prepareX(req)` computes the response, the watch events and the batch ops without
 * writing; the caller then either `commit(p, { extraOps })` (the store writes p.ops + extraOps in one
 * batch) or writes p.ops itself inside a larger batch and calls `markCommitted(p)`. Prepares run one
 * at a time (apply is serial) and may be CHAINED: a prepare made while others are pending sees their
 * effects (it starts at the newest pending revision), so the server can apply many raft entries and
 * write them in one batch, then markCommitted them in order. A prepare that would need pending
 * history the chain view cannot answer cheaply (a range over pending keys below the newest
 * revision, a range scan covering a pending key, a compaction) throws ChainConflict: commit the
 * pending writes, then prepare again. `put`/`deleteRange`/`txn`/`compact` are prepare+commit in one
 * call. Reads never see a prepared-but-uncommitted write.
 *
 * Memory: O(1) besides the request being served; the key index lives in RocksDB.
 */
import type { BatchOp } from '../engine/index.js';
import { put as putOp } from '../engine/index.js';
import type { MvccBackend } from './backend.js';
import { compactHistory, decodeRev, encodeRev } from './compactor.js';
import { err, ok, type Result } from './errors.js';
import { readEvents, type EventChunk, type ReadEventsOptions } from './events.js';
import { hashAll, hashHistory } from './hash.js';
import { entryAt, fetchRecords, scanIndex, type ScanOptions, type ScanResult } from './index-scan.js';
import { cacheKey, LatestCache } from './latest-cache.js';
import { decodeRevisionKey, headKey, indexRangeBounds, inRange, META_COMPACT_FINISHED, META_COMPACT_SCHEDULED, META_HEADS, META_REVISION_FLOOR, REVISION_KEYSPACE } from './keys.js';
import { decodeHeadRecord, eventRecordValue, type IndexEntry } from './record.js';
import { executeRange, kvOf, type RangeSource } from './range.js';
import { executeDeleteRange, executePut, executeTxn, type TxnContext } from './txn.js';
import { DEFAULT_MAX_TXN_OPS, validateDeleteRange, validatePut, validateRange, validateTxn } from './validate.js';
import { WriteTxn, type BaseScan, type Change, type LatestLookup, type ValueLookup } from './write-txn.js';
import {
  EventType,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type Event,
  type HashKVResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
} from './types.js';

export interface StoreOptions {
  /** etcd's --max-txn-ops. Default 128. */
  readonly maxTxnOps?: number;
  /** When given, a put naming a lease this returns false for fails with 'lease-not-found'. */
  readonly leaseExists?: (id: bigint) => boolean;
  /** Attach prev_kv to the events of writes (one extra read per overwritten key). Default true. */
  readonly prevKvInEvents?: boolean;
  /**
   * Keys whose newest index entry (and value, if ≤ cacheValueBytes) is kept in memory: saves the seek
   * of writes and point reads, and the value read of point reads and of events' prev_kv.
   * Default 16384 entries; 0 disables the cache.
   */
  readonly cacheEntries?: number;
  /** Upper bound on the cache's memory (keys + values + ~200 bytes per entry). Default 16 MiB. */
  readonly cacheBytes?: number;
  /** Larger values are not cached. Default 16 KiB. */
  readonly cacheValueBytes?: number;
  /** Deletions per physical-compaction batch. Default 1000. */
  readonly compactionBatchSize?: number;
  /**
   * Test hook, asked after each physical-compaction batch; returning false stops the compaction as if
   * the process crashed there (it resumes on the next open).
   */
  readonly compactionHook?: (info: { revision: bigint; batch: number }) => boolean | Promise<boolean>;
  /** Metrics: revisions removed by each physical-compaction batch (etcd_debugging_mvcc_db_compaction_keys_total). */
  readonly onCompactionRemoved?: (revisions: number) => void;
  /** Metrics: a physical compaction completed, `ms` after it started (etcd_debugging_mvcc_db_compaction_total_duration_milliseconds). */
  readonly onCompactionDone?: (ms: number) => void;
}

/** A computed, not yet committed write. */
export interface Prepared<R> {
  readonly response: R;
  /** Watch events of this write, in (main, sub) order. Empty when nothing changed. */
  readonly events: readonly Event[];
  /** The batch operations to commit atomically (empty for a read-only txn or a no-op delete). */
  readonly ops: readonly BatchOp[];
  /** The store's revision after commit. */
  readonly revision: bigint;
}

export interface CommitOptions {
  /** Written in the same batch (the applied index, lease/auth effects of the same entry, ...). */
  readonly extraOps?: readonly BatchOp[];
  /** fsync before resolving. Default false (raft's log is the durable record). */
  readonly sync?: boolean;
  /** Writes the batch instead of the store's engine (e.g. together with other ops); `sync` is then the writer's. */
  readonly write?: (ops: readonly BatchOp[]) => Promise<void>;
}

export interface DbSize {
  /** Bytes of the whole database on disk (SST files + memtables). */
  readonly dbSize: bigint;
  /** RocksDB's estimate of live bytes (what a full compaction would leave). */
  readonly dbSizeInUse: bigint;
}

interface Pending {
  readonly p: Prepared<unknown>;
  readonly compactTo: bigint | undefined;
  readonly written: { entry: IndexEntry; value: Uint8Array | undefined }[];
}

/**
 * Thrown by a prepare made while other writes are pending when it needs state the chain view cannot
 * give exactly (see the header comment). Nothing was prepared; commit the pending writes and retry.
 */
export class ChainConflict extends Error {
  constructor() {
    super('mvcc: this write needs the pending writes committed first');
    this.name = 'ChainConflict';
  }
}

const EMPTY = new Uint8Array(0);
const PREFETCH_IN_FLIGHT = 16;

function revString(e: IndexEntry): string {
  return `${e.rev.main}/${e.rev.sub}`;
}

/** Remembers the count of a paginated range so the next page (same end, same revision) needs no full count scan. */
interface CountMemo {
  readonly lt: string;
  readonly atMain: bigint;
  /** The page's start (user key) and the live keys it collected, in order. */
  readonly from: string;
  readonly keys: string[];
  readonly count: number;
}
const COUNT_MEMOS = 32;
const MEMO_MAX_KEYS = 5000;

export class MvccStore {
  readonly #db: MvccBackend;
  readonly #opts: StoreOptions;
  #current: bigint;
  /** Logical compaction revision; -1 before the first compaction (as etcd). */
  #compacted: bigint;
  /** Prepared, not yet committed writes, oldest first. */
  #pending: Pending[] = [];
  /** Newest entry (and value) of every key written by the pending writes. */
  readonly #chain = new Map<string, { entry: IndexEntry; value: Uint8Array | undefined }>();
  /** Values of the pending writes' entries, by revision. */
  readonly #chainValues = new Map<string, Uint8Array>();
  #countMemos: CountMemo[] = [];
  /** Every key's head record is maintained (META_HEADS): a missing head means "no live entry". */
  #heads = false;
  /** A prepare is computing (not yet pending). */
  #preparing = false;
  #physical: Promise<void> = Promise.resolve();
  #closed = false;
  /** Background compaction held while the state is replaced underneath (suspend/reload). */
  #suspended = false;
  #compactionError: unknown = undefined;
  readonly #source: RangeSource;
  readonly #cache: LatestCache;
  readonly #cacheEntries: number;
  readonly #latest: LatestLookup;
  readonly #values: ValueLookup;
  /** The same three as seen by a write: committed state plus the pending writes (see ChainConflict). */
  readonly #latestW: LatestLookup;
  readonly #valuesW: ValueLookup;
  readonly #baseScan: BaseScan;
  readonly #sourceW: RangeSource;

  private constructor(db: MvccBackend, opts: StoreOptions, current: bigint, compacted: bigint) {
    this.#db = db;
    this.#opts = opts;
    this.#current = current;
    this.#compacted = compacted;
    this.#cacheEntries = opts.cacheEntries ?? 16384;
    this.#cache = new LatestCache({
      maxEntries: this.#cacheEntries,
      maxBytes: opts.cacheBytes ?? 16 << 20,
      maxValueBytes: opts.cacheValueBytes ?? 16 << 10,
    });
    this.#latest = async (key) => {
      const ck = cacheKey(key);
      const hit = this.#cache.get(ck);
      if (hit !== undefined) return hit ?? undefined;
      const at = this.#current;
      let e: IndexEntry | undefined;
      if (this.#heads) {
        const v = await db.get(headKey(key));
        e = v === undefined ? undefined : decodeHeadRecord(key, v);
        // A write committed meanwhile: the head may be newer than `at`; read exactly at `at`.
        if (this.#current !== at || (e !== undefined && e.rev.main > at)) return entryAt(db, key, at);
      } else {
        e = await entryAt(db, key, at);
      }
      // Cache only if no write committed meanwhile (then `e` may be stale).
      if (this.#current === at) this.#cache.set(ck, e ?? null);
      return e;
    };
    this.#values = async (entries) => {
      const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(entries.length);
      const missing: IndexEntry[] = [];
      const at: number[] = [];
      entries.forEach((e, i) => {
        const v = this.#cache.valueOf(cacheKey(e.key), e);
        if (v !== undefined) out[i] = v;
        else {
          missing.push(e);
          at.push(i);
        }
      });
      if (missing.length === 0) return out;
      const recs = await fetchRecords(db, missing);
      recs.forEach((r, j) => {
        if (r === undefined) return;
        const e = missing[j] as IndexEntry;
        const v = eventRecordValue(r);
        out[at[j] as number] = v;
        // Values are immutable per revision: attaching is safe whenever the slot holds that revision.
        this.#cache.addValue(cacheKey(e.key), e, v);
      });
      return out;
    };
    this.#source = {
      scan: async (key, rangeEnd, atMain, o) => {
        if ((rangeEnd === undefined || rangeEnd.length === 0) && atMain === this.#current) {
          const e = await this.#latest(key);
          const found = e !== undefined && !e.tombstone ? [e] : [];
          return { entries: o.collect ? found : [], count: found.length };
        }
        return this.#scanCounted(key, rangeEnd, atMain, o);
      },
      values: (entries) => this.#values(entries),
    };
    this.#latestW = async (key) => {
      if (this.#chain.size > 0) {
        const c = this.#chain.get(cacheKey(key));
        if (c !== undefined) return c.entry;
      }
      return this.#latest(key);
    };
    this.#valuesW = async (entries) => {
      if (this.#chainValues.size === 0) return this.#values(entries);
      const out: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(entries.length);
      const missing: IndexEntry[] = [];
      const at: number[] = [];
      entries.forEach((e, i) => {
        const v = this.#chainValues.get(revString(e));
        if (v !== undefined) out[i] = v;
        else {
          missing.push(e);
          at.push(i);
        }
      });
      if (missing.length === 0) return out;
      const got = await this.#values(missing);
      got.forEach((v, j) => {
        out[at[j] as number] = v;
      });
      return out;
    };
    this.#baseScan = async (key, rangeEnd, atMain, o) => {
      // The engine holds committed revisions only, so above #current it answers "as of #current": exact
      // unless a pending write touched a key in the range.
      if (this.#pending.length > 0 && atMain > this.#current) {
        for (const c of this.#chain.values()) if (inRange(c.entry.key, key, rangeEnd)) throw new ChainConflict();
      }
      return scanIndex(db, indexRangeBounds(key, rangeEnd), atMain, o);
    };
    this.#sourceW = {
      scan: async (key, rangeEnd, atMain, o) => {
        if ((rangeEnd === undefined || rangeEnd.length === 0) && atMain === this.#head) {
          const e = await this.#latestW(key);
          const found = e !== undefined && !e.tombstone ? [e] : [];
          return { entries: o.collect ? found : [], count: found.length };
        }
        return this.#baseScan(key, rangeEnd, atMain, o);
      },
      values: (entries) => this.#valuesW(entries),
    };
  }

  /** The revision after every pending write (the current revision when none is pending). */
  get #head(): bigint {
    const last = this.#pending[this.#pending.length - 1];
    return last === undefined ? this.#current : last.p.revision;
  }

  /**
   * A committed range scan. Pagination (kube's lists: the same range end and revision, each page
   * starting after the previous page's last key) would count the whole rest of the range on every
   * page; the state at a revision never changes, so the count of a page is derived from the previous
   * page's count minus the live keys that page collected before the new start.
   */
  async #scanCounted(key: Uint8Array, rangeEnd: Uint8Array | undefined, atMain: bigint, o: ScanOptions): Promise<ScanResult> {
    const bounds = indexRangeBounds(key, rangeEnd);
    if (!(o.count && o.collect && o.limit > 0)) return scanIndex(this.#db, bounds, atMain, o);
    const lt = cacheKey(bounds.lt);
    const from = cacheKey(key);
    let count: number | undefined;
    for (const m of this.#countMemos) {
      if (m.lt !== lt || m.atMain !== atMain || from < m.from) continue;
      const last = m.keys[m.keys.length - 1];
      // Every live key in [m.from, from) must be among the memo's collected keys.
      if (m.keys.length < m.count && (last === undefined || from > last)) continue;
      let before = 0;
      while (before < m.keys.length && (m.keys[before] as string) < from) before++;
      count = m.count - before;
      break;
    }
    const res = await scanIndex(this.#db, bounds, atMain, count === undefined ? o : { ...o, count: false });
    const total = count ?? res.count;
    if (atMain <= this.#current && res.entries.length <= MEMO_MAX_KEYS) {
      const memo: CountMemo = { lt, atMain, from, keys: res.entries.map((e) => cacheKey(e.key)), count: total };
      this.#countMemos = [memo, ...this.#countMemos.slice(0, COUNT_MEMOS - 1)];
    }
    return { entries: res.entries, count: total };
  }

  /**
   * Looks up the newest committed entry of `keys` concurrently (several thread-pool round trips in
   * flight), warming the latest-entry cache for the writes about to be prepared one by one.
   */
  async prefetch(keys: readonly Uint8Array[]): Promise<void> {
    const todo = keys.filter((k) => !this.#cache.has(cacheKey(k)));
    if (this.#heads && todo.length > 0) {
      // One multi-get for all heads (bloom filters make absent keys cheap).
      const at = this.#current;
      const got = await this.#db.getMany(todo.map(headKey));
      if (this.#current !== at) return;
      const live: IndexEntry[] = [];
      todo.forEach((k, i) => {
        const v = got[i];
        const e = v === undefined ? null : decodeHeadRecord(k, v);
        this.#cache.set(cacheKey(k), e);
        if (e !== null) live.push(e);
      });
      // Overwrites need the previous value for their events' prev_kv: one more multi-get, not one per write.
      if (this.#opts.prevKvInEvents === false || live.length === 0) return;
      const recs = await fetchRecords(this.#db, live);
      if (this.#current !== at) return;
      recs.forEach((r, i) => {
        const e = live[i] as IndexEntry;
        if (r !== undefined) this.#cache.addValue(cacheKey(e.key), e, eventRecordValue(r));
      });
      return;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) await this.#latest(todo[next++] as Uint8Array);
    };
    await Promise.all(Array.from({ length: Math.min(PREFETCH_IN_FLIGHT, todo.length) }, worker));
  }

  /**
   * Loads the revision counters from `db` and resumes an interrupted physical compaction in the
   * background. A fresh database is at revision 1.
   */
  /**
   * Whether every key's head record is maintained: true once META_HEADS is set, which a store sets on
   * a database without history (a database written before heads existed keeps seeking instead).
   */
  static async #headsMaintained(db: MvccBackend, empty: boolean): Promise<boolean> {
    if ((await db.get(META_HEADS)) !== undefined) return true;
    if (!empty) return false;
    await db.write([putOp(META_HEADS, Uint8Array.of(1))], { sync: true });
    return true;
  }

  static async open(db: MvccBackend, opts: StoreOptions = {}): Promise<MvccStore> {
    const [sched, fin, floor] = await db.getMany([META_COMPACT_SCHEDULED, META_COMPACT_FINISHED, META_REVISION_FLOOR]);
    const scheduled = decodeRev(sched) ?? -1n;
    const finished = decodeRev(fin) ?? -1n;
    let last = decodeRev(floor) ?? 1n;
    let empty = true;
    for await (const { key } of db.iterate({ ...REVISION_KEYSPACE, reverse: true, limit: 1, values: false })) {
      const main = decodeRevisionKey(key).main;
      if (main > last) last = main;
      empty = false;
    }
    const current = [1n, last, scheduled].reduce((a, b) => (b > a ? b : a));
    const store = new MvccStore(db, opts, current, scheduled);
    store.#heads = await MvccStore.#headsMaintained(db, empty);
    if (scheduled > finished) store.#schedulePhysical(scheduled);
    return store;
  }

  /**
   * Stops background compaction at its next batch boundary and waits for it: the caller is about to
   * replace the state keyspaces underneath (raft snapshot install). Call reload() afterwards.
   */
  async suspend(): Promise<void> {
    this.#suspended = true;
    await this.#physical;
  }

  /**
   * Re-reads the revision counters after the state keyspaces were replaced (a raft snapshot install),
   * drops the caches and resumes background compaction like open() does. No write may be pending.
   */
  async reload(): Promise<void> {
    if (this.#pending.length > 0 || this.#preparing) throw new Error('mvcc: reload with a write pending');
    // Same counters as open().
    const [sched, fin, floor] = await this.#db.getMany([META_COMPACT_SCHEDULED, META_COMPACT_FINISHED, META_REVISION_FLOOR]);
    const scheduled = decodeRev(sched) ?? -1n;
    let last = decodeRev(floor) ?? 1n;
    for await (const { key } of this.#db.iterate({ ...REVISION_KEYSPACE, reverse: true, limit: 1, values: false })) {
      const main = decodeRevisionKey(key).main;
      if (main > last) last = main;
    }
    this.#current = [1n, last, scheduled].reduce((a, b) => (b > a ? b : a));
    this.#compacted = scheduled;
    this.#cache.clear();
    this.#countMemos = [];
    this.#heads = (await this.#db.get(META_HEADS)) !== undefined;
    this.#suspended = false;
    if (scheduled > (decodeRev(fin) ?? -1n)) this.#schedulePhysical(scheduled);
  }

  /** The revision of the last committed write (1 for a fresh store). */
  get currentRevision(): bigint {
    return this.#current;
  }

  /** The revision after every pending (prepared, uncommitted) write; currentRevision when none. */
  get headRevision(): bigint {
    return this.#head;
  }

  /** How many prepared writes are waiting to be committed. */
  get pendingWrites(): number {
    return this.#pending.length;
  }

  /** The last compaction revision (logical: reads below it fail), -1 if never compacted. */
  get compactRevision(): bigint {
    return this.#compacted;
  }

  /** Stops background compaction at the next batch boundary and waits for it. Does not close the engine. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#physical;
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** etcd Range. Fails with empty-key, future-rev or compacted. header.revision = current revision. */
  async range(r: RangeRequest): Promise<Result<RangeResponse>> {
    const v = validateRange(r);
    if (!v.ok) return v;
    const current = this.#current;
    const res = await executeRange(this.#source, r, current, this.#compacted);
    if (!res.ok) return res;
    if (!this.#stillReadable(r.revision ?? 0n, current)) return err('compacted');
    return ok({ header: { revision: current }, ...res.value });
  }

  /** A read at `rev` is exact unless a compaction above it started meanwhile. */
  #stillReadable(requested: bigint, current: bigint): boolean {
    const at = requested <= 0n ? current : requested;
    return at >= this.#compacted;
  }

  /**
   * Events of revisions [fromRevision, current], whole revisions, at most ~maxEvents per call.
   * Fails with 'compacted' when fromRevision < the compaction revision (or compaction overtook the read).
   */
  async readEvents(fromRevision: bigint, opts: ReadEventsOptions = {}): Promise<Result<EventChunk>> {
    if (fromRevision < this.#compacted) return err('compacted');
    const current = this.#current;
    if (fromRevision > current) return ok({ events: [], nextRevision: fromRevision });
    const chunk = await readEvents(this.#db, fromRevision, current, this.#compacted, opts);
    if (chunk === null || fromRevision < this.#compacted) return err('compacted');
    return ok(chunk);
  }

  /**
   * Async iteration over readEvents chunks from `fromRevision` up to the current revision as of each
   * step; ends when caught up. Yields a Result so a 'compacted' failure reaches the consumer.
   */
  async *events(fromRevision: bigint, opts: ReadEventsOptions = {}): AsyncGenerator<Result<EventChunk>, void, undefined> {
    let from = fromRevision;
    while (from <= this.#current) {
      const res = await this.readEvents(from, opts);
      yield res;
      if (!res.ok) return;
      from = res.value.nextRevision;
    }
  }

  /** etcd HashKV: hash of history up to `revision` (0 = current). Waits for physical compaction. */
  async hashKV(revision: bigint): Promise<Result<HashKVResponse>> {
    await this.#physical;
    const current = this.#current;
    const resolved = revision <= 0n ? current : revision;
    if (resolved > current) return err('future-rev');
    if (resolved < this.#compacted) return err('compacted');
    const hash = await hashHistory(this.#db, resolved);
    return ok({ header: { revision: current }, hash, compactRevision: this.#compacted, hashRevision: resolved });
  }

  /** etcd Hash (MVCC part): hash of both MVCC keyspaces. Waits for physical compaction. */
  async hash(): Promise<{ hash: number; revision: bigint }> {
    await this.#physical;
    return { hash: await hashAll(this.#db), revision: this.#current };
  }

  /** Database size and RocksDB's live-data estimate (whole engine). */
  size(): DbSize {
    const num = (name: string): bigint => BigInt(this.#db.getProperty(name) ?? '0');
    const mem = num('rocksdb.cur-size-all-mem-tables');
    return { dbSize: num('rocksdb.total-sst-files-size') + mem, dbSizeInUse: num('rocksdb.estimate-live-data-size') + mem };
  }

  /** Resolves when every compaction committed so far has been physically carried out. */
  whenCompacted(): Promise<void> {
    return this.#physical;
  }

  // ---- two-phase writes ------------------------------------------------------------------------

  /** Runs one prepare, chained after the pending ones; only one may run at a time (apply is serial). */
  async #prepare<R>(body: (w: WriteTxn) => Promise<Result<R>>, compactTo?: bigint, extra?: readonly BatchOp[]): Promise<Result<Prepared<R>>> {
    if (this.#preparing) throw new Error('mvcc: a prepare is already running (apply must be serial)');
    this.#preparing = true;
    try {
      const w = new WriteTxn(this.#head, { latest: this.#latestW, values: this.#valuesW, scan: this.#baseScan });
      const res = await body(w);
      if (!res.ok) return res;
      return ok(await this.#finish(w, res.value, compactTo, extra));
    } finally {
      this.#preparing = false;
    }
  }

  #ctx(w: WriteTxn): TxnContext {
    return { w, before: this.#sourceW, compactRev: this.#compacted, leaseExists: this.#opts.leaseExists };
  }

  async #finish<R>(w: WriteTxn, response: R, compactTo?: bigint, extra: readonly BatchOp[] = []): Promise<Prepared<R>> {
    const events = await this.#events(w);
    const p: Prepared<R> = { response, events, ops: [...w.ops, ...extra], revision: w.rev() };
    const written = w.finalEntries();
    this.#pending.push({ p, compactTo, written });
    this.#addToChain(written);
    return p;
  }

  async #events(w: WriteTxn): Promise<Event[]> {
    const events: Event[] = w.changes.map((c) => ({
      type: c.entry.tombstone ? EventType.DELETE : EventType.PUT,
      kv: c.entry.tombstone
        ? { key: c.entry.key, createRevision: 0n, modRevision: c.entry.rev.main, version: 0n, value: EMPTY, lease: 0n }
        : kvOf(c.entry, c.value),
    }));
    if (this.#opts.prevKvInEvents === false) return events;
    const want: number[] = [];
    w.changes.forEach((c, i) => {
      // Like etcd's watch, a create event never carries prev_kv (even after a delete earlier in the txn).
      const create = !c.entry.tombstone && c.entry.createRevision === c.entry.rev.main;
      if (c.before !== undefined && !c.before.tombstone && !create) want.push(i);
    });
    const befores = want.map((i) => (w.changes[i] as Change).before as IndexEntry);
    const values = await this.#valuesW(befores);
    want.forEach((i, j) => {
      const v = values[j];
      const ev = events[i];
      if (v !== undefined && ev !== undefined) ev.prevKv = kvOf(befores[j] as IndexEntry, v);
    });
    return events;
  }

  /** Put. Fails (nothing pending) with empty-key, value-provided, lease-provided, lease-not-found, key-not-found. */
  async preparePut(r: PutRequest): Promise<Result<Prepared<PutResponse>>> {
    const v = validatePut(r);
    if (!v.ok) return v;
    const lease = r.lease ?? 0n;
    if (lease !== 0n && this.#opts.leaseExists !== undefined && !this.#opts.leaseExists(lease)) return err('lease-not-found');
    return this.#prepare((w) => executePut(this.#ctx(w), r));
  }

  /** DeleteRange. Deleting nothing does not create a revision. Fails with empty-key. */
  async prepareDeleteRange(r: DeleteRangeRequest): Promise<Result<Prepared<DeleteRangeResponse>>> {
    const v = validateDeleteRange(r);
    if (!v.ok) return v;
    return this.#prepare(async (w) => ok(await executeDeleteRange(this.#ctx(w), r)));
  }

  /**
   * Txn. One revision for all its writes (none if it writes nothing). Fails with too-many-ops,
   * empty-key, key-not-found, value-provided, lease-provided, duplicate-key, lease-not-found,
   * future-rev or compacted; on failure nothing is written.
   */
  async prepareTxn(r: TxnRequest): Promise<Result<Prepared<TxnResponse>>> {
    const v = validateTxn(r, this.#opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS);
    if (!v.ok) return v;
    return this.#prepare((w) => executeTxn(this.#ctx(w), r));
  }

  /**
   * Compact: schedules compaction of history below `revision`. Fails with compacted (≤ the previous
   * compaction) or future-rev (> current). Reads below it fail once committed; the physical deletion
   * runs afterwards in batches (see whenCompacted).
   */
  async prepareCompact(r: CompactionRequest): Promise<Result<Prepared<CompactionResponse>>> {
    if (this.#pending.length > 0) throw new ChainConflict();
    if (r.revision <= this.#compacted) return err('compacted');
    if (r.revision > this.#current) return err('future-rev');
    const response: CompactionResponse = { header: { revision: this.#current } };
    return this.#prepare(async () => ok(response), r.revision, [putOp(META_COMPACT_SCHEDULED, encodeRev(r.revision))]);
  }

  /** Writes `p.ops` (+ extraOps) in one batch and makes the write visible. `p` must be the oldest pending write. */
  async commit(p: Prepared<unknown>, opts: CommitOptions = {}): Promise<void> {
    this.#expect(p);
    const ops = opts.extraOps === undefined ? p.ops : [...p.ops, ...opts.extraOps];
    try {
      await (opts.write !== undefined ? opts.write(ops) : this.#db.write(ops, opts.sync === true ? { sync: true } : {}));
    } catch (e) {
      this.abortAll();
      throw e;
    }
    this.markCommitted(p);
  }

  /**
   * For callers that wrote `p.ops` inside their own batch (with every pending write before it, in
   * order): makes the write visible. `p` must be the oldest pending write.
   */
  markCommitted(p: Prepared<unknown>): void {
    const pending = this.#expect(p);
    this.#pending.shift();
    if (this.#pending.length === 0) this.#clearChain();
    this.#current = p.revision;
    // A write larger than a quarter of the cache (a big DeleteRange or Txn) only refreshes the keys the
    // cache holds: inserting all of them would evict every hot entry for keys written once, and cost a
    // map insert plus an eviction per key.
    const refreshOnly = pending.written.length > this.#cacheEntries / 4;
    for (const { entry, value } of pending.written) {
      const ck = cacheKey(entry.key);
      if (!refreshOnly || this.#cache.has(ck)) this.#cache.set(ck, entry, value);
    }
    if (pending.compactTo !== undefined) {
      this.#compacted = pending.compactTo;
      this.#schedulePhysical(pending.compactTo);
    }
  }

  /** Drops a prepared write that will not be committed: the newest pending one (later ones built on it). */
  abort(p: Prepared<unknown>): void {
    const last = this.#pending[this.#pending.length - 1];
    if (last === undefined || last.p !== p) throw new Error('mvcc: abort of a write that is not the newest pending one');
    this.#pending.pop();
    this.#clearChain();
    for (const q of this.#pending) this.#addToChain(q.written);
  }

  /** Drops every pending write (their batch failed). */
  abortAll(): void {
    this.#pending = [];
    this.#clearChain();
  }

  #expect(p: Prepared<unknown>): Pending {
    const pending = this.#pending[0];
    if (pending === undefined || pending.p !== p) throw new Error('mvcc: commit of a write that is not the oldest pending one');
    return pending;
  }

  #addToChain(written: readonly { entry: IndexEntry; value: Uint8Array | undefined }[]): void {
    for (const x of written) {
      this.#chain.set(cacheKey(x.entry.key), x);
      if (x.value !== undefined) this.#chainValues.set(revString(x.entry), x.value);
    }
  }

  #clearChain(): void {
    this.#chain.clear();
    this.#chainValues.clear();
  }

  /** The last physical-compaction failure (it is retried on the next open), for diagnostics. */
  get compactionError(): unknown {
    return this.#compactionError;
  }

  #schedulePhysical(rev: bigint): void {
    this.#physical = this.#physical.then(async () => {
      if (this.#closed || this.#suspended) return;
      try {
        const t0 = performance.now();
        const done = await compactHistory(this.#db, rev, {
          batchSize: this.#opts.compactionBatchSize ?? 1000,
          proceed: async (batch) => {
            if (this.#closed || this.#suspended) return false;
            const hook = this.#opts.compactionHook;
            return hook === undefined ? true : hook({ revision: rev, batch });
          },
          stopping: () => this.#closed || this.#suspended,
          ...(this.#opts.onCompactionRemoved === undefined ? {} : { removed: this.#opts.onCompactionRemoved }),
        });
        if (done) this.#opts.onCompactionDone?.(performance.now() - t0);
      } catch (e) {
        // Retried from the markers on the next open; kept for diagnostics and tests.
        this.#compactionError = e;
      }
    });
  }

  // ---- one-call writes ---------------------------------------------------------------------------

  async put(r: PutRequest, opts?: CommitOptions): Promise<Result<Prepared<PutResponse>>> {
    return this.#oneCall(await this.preparePut(r), opts);
  }

  async deleteRange(r: DeleteRangeRequest, opts?: CommitOptions): Promise<Result<Prepared<DeleteRangeResponse>>> {
    return this.#oneCall(await this.prepareDeleteRange(r), opts);
  }

  async txn(r: TxnRequest, opts?: CommitOptions): Promise<Result<Prepared<TxnResponse>>> {
    return this.#oneCall(await this.prepareTxn(r), opts);
  }

  async compact(r: CompactionRequest, opts?: CommitOptions): Promise<Result<Prepared<CompactionResponse>>> {
    const res = await this.#oneCall(await this.prepareCompact(r), opts);
    if (res.ok && r.physical === true) await this.#physical;
    return res;
  }

  async #oneCall<R>(res: Result<Prepared<R>>, opts: CommitOptions | undefined): Promise<Result<Prepared<R>>> {
    if (res.ok) await this.commit(res.value, opts);
    return res;
  }
}
