/**
 * Wal: the raft log, hard state and snapshot metadata, durable in the engine and mirrored in memory so
 * raft's synchronous Storage reads never touch the disk.
 *
 * Memory bound: the cache holds exactly the retained log, i.e. the entries after the log start (the
 * last compaction point). Nothing else bounds it; the server keeps it bounded by compacting after each
 * snapshot (etcd's policy: snapshot every --snapshot-count entries, keep a catch-up tail, compact
 * below). `stats()` reports the cached entry count and bytes.
 *
 * Writes: save() queues one batch per raft Ready; one synced engine write carries one Ready, or
 * several if they queued up while the previous fsync ran (group commit). The cache is updated at
 * call time, so the synchronous view reflects every Ready handed to save() while the returned
 * promise says when it is durable. Saves reach disk in call order. If a write fails, memory is ahead
 * of disk and the Wal refuses further writes with kind 'failed'; the process must restart.
 */
import { Keyspace, del, put, type BatchOp, type Engine } from '../engine/index.js';
import {
  NONE,
  StorageError,
  entrySize,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type Storage,
} from '../../raft/types.js';
import {
  decodeEntry,
  decodeHardState,
  decodeLogStart,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeLogStart,
  encodeSnapshot,
  type LogStart,
} from './codec.js';
import { WalError } from './errors.js';
import { Committer, type WriteInfo } from './committer.js';
import {
  FORMAT_KEY,
  HARD_STATE_KEY,
  LOG_START_KEY,
  SNAPSHOT_KEY,
  WAL_FORMAT,
  entryKey,
  indexOfEntryKey,
} from './keys.js';

/** What one raft Ready asks to persist. Any field may be absent. */
export interface WalUpdate {
  /** Contiguous entries; the first may be at or below lastIndex()+1 and replaces the log from there. */
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
  /** A snapshot received from the leader: replaces the whole log (see applySnapshot). */
  readonly snapshot?: Snapshot;
  /**
   * fsync before resolving. Default true. raft's Ready.mustSync is false when only the commit index
   * moved (no entries, snapshot, term or vote): like etcd, such a batch is written without fsync (the
   * commit index is recomputed after a crash; a later synced batch makes it durable with everything
   * before it, since the engine has one log).
   */
  readonly sync?: boolean;
}

/** An update applied to the Wal's view by stage(), waiting to be written (see Wal.write). */
export interface StagedSave {
  readonly ops: BatchOp[];
  readonly entries: number;
  readonly bytes: number;
  readonly sync: boolean;
  /** Stored entries up to here are deleted in the background once written (-1: none). */
  readonly clearThrough: number;
  written: boolean;
}

export interface WalOptions {
  /**
   * Called after each engine write of the log (a group of batches), e.g. to feed etcd_disk_wal_*:
   * `seconds` is the write call's duration, including the fsync when `synced` (RocksDB writes and
   * fsyncs its log in one call), `bytes` the encoded entry records written.
   */
  readonly onWrite?: (info: WriteInfo) => void;
  /** Background deletion of compacted entries failed (harmless: retried on next open). */
  readonly onBackgroundError?: (err: unknown) => void;
}

export interface WalStats {
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly cachedEntries: number;
  /** Sum of raft's entrySize over cached entries. */
  readonly cachedBytes: number;
}

const EMPTY_CONF: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const EMPTY_SNAPSHOT: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF }, data: new Uint8Array(0) };
const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };
const LOG_END = Uint8Array.of(Keyspace.RaftLog + 1);
const LOG_BEGIN = Uint8Array.of(Keyspace.RaftLog);

export class Wal implements Storage {
  readonly #engine: Engine;
  readonly #opts: WalOptions;
  #hardState: HardState;
  #snapshot: Snapshot;
  /** The entry just before the first cached one. Invariant: #start.index <= snapshot index <= lastIndex. */
  #start: LogStart;
  /** #entries[k].index === #start.index + 1 + k */
  #entries: Entry[];
  #bytes: number;
  readonly #committer: Committer;
  #closed = false;
  readonly #background = new Set<Promise<void>>();

  private constructor(engine: Engine, opts: WalOptions, hs: HardState, snap: Snapshot, start: LogStart, entries: Entry[]) {
    this.#engine = engine;
    this.#opts = opts;
    this.#committer = new Committer(engine, { onWrite: opts.onWrite });
    this.#hardState = hs;
    this.#snapshot = snap;
    this.#start = start;
    this.#entries = entries;
    this.#bytes = entries.reduce((n, e) => n + entrySize(e), 0);
  }

  /**
   * Loads hard state, snapshot metadata and every entry after the log start, verifying each record's
   * checksum, that entry keys match their contents, that indexes are contiguous and terms never
   * decrease. Rejects with WalError 'corrupt' or 'unsupported-version', or the engine's error.
   */
  static async open(engine: Engine, opts: WalOptions = {}): Promise<Wal> {
    const [fmt, hsRec, snapRec, startRec] = await engine.getMany([FORMAT_KEY, HARD_STATE_KEY, SNAPSHOT_KEY, LOG_START_KEY]);
    if (fmt === undefined) {
      if (hsRec !== undefined || snapRec !== undefined || startRec !== undefined) {
        throw new WalError('corrupt', 'format record missing');
      }
      await engine.write([put(FORMAT_KEY, Uint8Array.of(WAL_FORMAT))], { sync: true });
    } else if (fmt.length !== 1 || fmt[0] !== WAL_FORMAT) {
      throw new WalError('unsupported-version', `format ${fmt[0] ?? 'empty'}`);
    }
    const hs = hsRec === undefined ? EMPTY_HARD_STATE : decodeHardState(hsRec);
    const snap = snapRec === undefined ? EMPTY_SNAPSHOT : decodeSnapshot(snapRec);
    const start = startRec === undefined ? { index: 0, term: 0 } : decodeLogStart(startRec);
    if (start.index > snap.metadata.index) throw new WalError('corrupt', 'log start is above the snapshot');

    const entries: Entry[] = [];
    let prevTerm = start.term;
    const range = { gt: entryKey(start.index), lt: LOG_END, fillCache: false, chunkBytes: 1 << 20 };
    for await (const chunk of engine.iterateChunks(range)) {
      for (const kv of chunk) {
        const want = start.index + 1 + entries.length;
        const at = indexOfEntryKey(kv.key);
        if (at !== want) throw new WalError('corrupt', `log gap: expected index ${want}, found ${at}`);
        const e = decodeEntry(kv.value);
        if (e.index !== at) throw new WalError('corrupt', `entry at key ${at} says index ${e.index}`);
        if (e.term < prevTerm) throw new WalError('corrupt', `term decreases at index ${at}`);
        prevTerm = e.term;
        entries.push(e);
      }
    }
    const last = start.index + entries.length;
    if (snap.metadata.index > last) throw new WalError('corrupt', `snapshot index ${snap.metadata.index} above last index ${last}`);
    if (hs.commit > last) throw new WalError('corrupt', `commit ${hs.commit} above last index ${last}`);
    const wal = new Wal(engine, opts, hs, snap, start, entries);
    // A compaction interrupted by a crash leaves entries at or below the start: finish it.
    wal.#clearThrough(start.index);
    return wal;
  }

  // ---- raft Storage (synchronous) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#snapshot.metadata.confState };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo <= this.#start.index) throw new StorageError('compacted');
    if (hi > this.lastIndex() + 1) throw new StorageError('unavailable');
    if (lo > hi) throw new RangeError(`wal: invalid range [${lo}, ${hi})`);
    if (lo === hi) return [];
    const off = this.#start.index + 1;
    const first = this.#entries[lo - off] as Entry;
    const out = [first];
    let size = entrySize(first);
    for (let i = lo + 1; i < hi; i++) {
      const e = this.#entries[i - off] as Entry;
      size += entrySize(e);
      if (size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(index: number): number {
    if (index < this.#start.index) throw new StorageError('compacted');
    if (index === this.#start.index) return this.#start.term;
    if (index > this.lastIndex()) throw new StorageError('unavailable');
    return (this.#entries[index - this.#start.index - 1] as Entry).term;
  }

  firstIndex(): number {
    return this.#start.index + 1;
  }

  lastIndex(): number {
    return this.#start.index + this.#entries.length;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  // ---- writes ----

  get hardState(): HardState {
    return this.#hardState;
  }

  stats(): WalStats {
    return {
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      cachedEntries: this.#entries.length,
      cachedBytes: this.#bytes,
    };
  }

  /**
   * The lowest index from which the retained entries up to lastIndex() add up to at most `maxBytes`
   * (raft's entrySize); lastIndex()+1 if even the last entry alone is larger.
   */
  tailStart(maxBytes: number): number {
    let sum = 0;
    let k = this.#entries.length;
    while (k > 0) {
      const size = entrySize(this.#entries[k - 1] as Entry);
      if (sum + size > maxBytes) break;
      sum += size;
      k--;
    }
    return this.#start.index + 1 + k;
  }

  /**
   * Persists one Ready in ONE synced batch: the snapshot (if any) first, then entries (truncating any
   * conflicting suffix), then the hard state. The in-memory view changes before this returns; the
   * promise resolves once the batch is fsynced, after every earlier save. Rejects (changing nothing)
   * with 'closed', 'failed', 'snapshot-out-of-date', or a RangeError if the entries break raft's
   * invariants (not contiguous, below the log start, leaving a gap, or decreasing terms).
   */
  save(u: WalUpdate): Promise<void> {
    let staged: StagedSave;
    try {
      staged = this.stage(u);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.write(staged);
  }

  /**
   * The first half of save(): validates `u` and applies it to the in-memory view now, returning the
   * batch to write. The caller must then write() it exactly once (before any other stage or save),
   * possibly together with other ops: this is how a Ready's log batch and its apply batch become one
   * engine write (pkg/server/raft-node.ts). Throws (changing nothing) what save() rejects with.
   */
  stage(u: WalUpdate): StagedSave {
    const refused = this.#refusal();
    if (refused !== null) throw refused;
    const snap = u.snapshot;
    const ents = u.entries ?? [];

    // Validate everything before changing anything.
    let start = this.#start;
    let last = this.lastIndex();
    if (snap !== undefined) {
      if (snap.metadata.index <= this.#snapshot.metadata.index) {
        throw new WalError('snapshot-out-of-date', `${snap.metadata.index} <= ${this.#snapshot.metadata.index}`);
      }
      start = { index: snap.metadata.index, term: snap.metadata.term };
      last = start.index;
    }
    const first = ents[0];
    if (first !== undefined) {
      const bad = checkAppend(ents, start, last, (i) => (snap !== undefined ? start.term : this.term(i)));
      if (bad !== null) throw new RangeError(`wal: ${bad}`);
    }

    const ops: BatchOp[] = [];
    let clearThrough = -1;
    if (snap !== undefined) {
      ops.push(put(SNAPSHOT_KEY, encodeSnapshot(snap)), put(LOG_START_KEY, encodeLogStart(start)));
      // Entries above the snapshot belong to the log it replaces and must go atomically with it;
      // those at or below are unreachable once the log start is durable and go in the background.
      for (const e of this.#entries) if (e.index > start.index) ops.push(del(entryKey(e.index)));
      clearThrough = start.index;
      this.#snapshot = snap;
      this.#start = start;
      this.#entries = [];
      this.#bytes = 0;
    }
    let bytes = 0;
    if (first !== undefined) {
      const keep = first.index - this.#start.index - 1;
      for (let k = this.#entries.length - 1; k >= keep; k--) {
        const old = this.#entries[k] as Entry;
        this.#bytes -= entrySize(old);
        if (old.index >= first.index + ents.length) ops.push(del(entryKey(old.index)));
      }
      this.#entries.length = keep;
      for (const e of ents) {
        const rec = encodeEntry(e);
        bytes += rec.byteLength;
        ops.push(put(entryKey(e.index), rec));
        this.#entries.push(e);
        this.#bytes += entrySize(e);
      }
    }
    if (u.hardState !== undefined) {
      ops.push(put(HARD_STATE_KEY, encodeHardState(u.hardState)));
      this.#hardState = u.hardState;
    }
    return { ops, entries: ents.length, bytes, sync: u.sync ?? true, clearThrough, written: false };
  }

  /**
   * Writes a staged update (with `extra` ops of the caller's, in the same engine batch, after the
   * log's) through the group committer; resolves once durable as the update asked (fsynced unless
   * it said sync: false). Rejects with 'failed' if a write failed.
   */
  write(staged: StagedSave, extra: readonly BatchOp[] = []): Promise<void> {
    if (staged.written) return Promise.reject(new Error('wal: staged update written twice'));
    staged.written = true;
    const ops = extra.length === 0 ? staged.ops : [...staged.ops, ...extra];
    const done = this.#enqueue(ops, staged.entries, staged.bytes, staged.sync);
    const clearThrough = staged.clearThrough;
    if (clearThrough >= 0) void done.then(() => this.#clearThrough(clearThrough), () => {});
    return done;
  }

  /** A snapshot received from the leader replaces the whole log. Same as save({ snapshot }). */
  applySnapshot(snap: Snapshot): Promise<void> {
    return this.save({ snapshot: snap });
  }

  /**
   * Records a snapshot this node took of its own state at `index` (which must be in the log and above
   * the current snapshot); the term comes from the log. The log is not compacted: call compact() for
   * that, typically keeping a catch-up tail. Rejects with 'snapshot-out-of-date', 'closed', 'failed',
   * or RangeError if `index` is beyond the log.
   */
  createSnapshot(index: number, opts: { readonly confState: ConfState; readonly data: Uint8Array }): Promise<Snapshot> {
    const refused = this.#refusal();
    if (refused !== null) return Promise.reject(refused);
    if (index <= this.#snapshot.metadata.index) {
      return Promise.reject(new WalError('snapshot-out-of-date', `${index} <= ${this.#snapshot.metadata.index}`));
    }
    if (index > this.lastIndex()) return Promise.reject(new RangeError(`wal: snapshot index ${index} above last index`));
    const snap: Snapshot = { metadata: { index, term: this.term(index), confState: opts.confState }, data: opts.data };
    this.#snapshot = snap;
    return this.#enqueue([put(SNAPSHOT_KEY, encodeSnapshot(snap))], 0, 0).then(() => snap);
  }

  /**
   * Discards entries up to and including `index` (which must not exceed the snapshot index, so every
   * discarded entry is covered by a snapshot). The new log start is written synced; the entries are
   * then deleted in the background in bounded engine batches. No-op if already compacted that far.
   * Resolves when both are done.
   */
  compact(index: number): Promise<void> {
    const refused = this.#refusal();
    if (refused !== null) return Promise.reject(refused);
    if (index <= this.#start.index) return this.#enqueue([], 0, 0);
    if (index > this.#snapshot.metadata.index) {
      return Promise.reject(new RangeError(`wal: compact ${index} above snapshot index ${this.#snapshot.metadata.index}`));
    }
    const start = { index, term: this.term(index) };
    const removed = this.#entries.splice(0, index - this.#start.index);
    for (const e of removed) this.#bytes -= entrySize(e);
    this.#start = start;
    return this.#enqueue([put(LOG_START_KEY, encodeLogStart(start))], 0, 0).then(() => this.#clearThrough(index));
  }

  /** Resolves once every write queued so far is durable and background deletions have finished. */
  async idle(): Promise<void> {
    await this.#enqueue([], 0, 0).catch(() => {}); // barrier: resolves after every earlier batch
    // A deletion may be scheduled when the tail settles; bounded: each round drains what exists.
    for (let round = 0; round < 3 && this.#background.size > 0; round++) {
      await Promise.allSettled([...this.#background]);
    }
  }

  /** Refuses new writes, then waits for idle(). Does not close the engine (others share it). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  #refusal(): WalError | null {
    if (this.#closed) return new WalError('closed');
    return this.#committer.failed;
  }

  #enqueue(ops: BatchOp[], entries: number, bytes: number, sync = true): Promise<void> {
    return this.#committer.commit(ops, { entries, bytes, sync });
  }

  /** Deletes stored entries with index <= `index` (unsynced, bounded batches, off the write queue). */
  #clearThrough(index: number): Promise<void> {
    if (index <= 0 || !this.#engine.isOpen) return Promise.resolve();
    const p = this.#engine
      .clear({ gte: LOG_BEGIN, lt: entryKey(index + 1) })
      .catch((err: unknown) => this.#opts.onBackgroundError?.(err));
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
    return p;
  }
}

/** Why `ents` cannot follow a log whose start is `start` and last index `last`, or null if it can. */
function checkAppend(ents: readonly Entry[], start: LogStart, last: number, termAt: (i: number) => number): string | null {
  const first = ents[0] as Entry;
  if (first.index <= start.index) return `append at ${first.index} overwrites compacted index ${start.index}`;
  if (first.index > last + 1) return `append at ${first.index} leaves a gap after ${last}`;
  let prev = termAt(first.index - 1);
  for (let k = 0; k < ents.length; k++) {
    const e = ents[k] as Entry;
    if (e.index !== first.index + k) return `entries not contiguous at ${e.index}`;
    if (e.term < prev) return `term decreases at index ${e.index}`;
    prev = e.term;
  }
  return null;
}
