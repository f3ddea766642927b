/**
 * Engine: berth's only handle on RocksDB. Promise-based, Uint8Array keys and values, atomic write
 * batches, snapshot-consistent iterators, and the maintenance calls (sizes, properties, compaction).
 *
 * Concurrency: every call runs on libuv's thread pool. Writes issued without awaiting each other may
 * commit in any order; a caller that needs order (the WAL's Ready batches, apply's batches) awaits the
 * previous write. Reads see every write whose promise has resolved.
 */
import { mkdir } from 'node:fs/promises';
import { native, type NativeDb, type NativeOp, type NativeRange } from './binding.js';
import { Cursor, type KeyValue } from './cursor.js';
import type { BatchOp, WriteOptions } from './batch.js';
import { EngineError, fromNative } from './errors.js';
import { failpoint } from '../../failpoint/index.js';
import type { PowerLossModel } from './power-loss.js';

export interface OpenOptions {
  /** Create the directory and database if absent. Default true. */
  readonly createIfMissing?: boolean;
  /** Fail with 'already-exists' if a database is there. Default false. */
  readonly errorIfExists?: boolean;
  /** Open without taking the write lock; writes fail with 'io'. Default false. */
  readonly readOnly?: boolean;
  /**
   * Block cache size (uncompressed data blocks; index and filter blocks live with the table readers).
   * Default 32 MiB: the OS page cache holds the compressed files anyway, and a 64 MiB cache cost
   * ~50 MiB of RSS after a 1,000,000-key load for no measurable point-read gain (docs/storage.md).
   */
  readonly cacheSizeBytes?: number;
  /** Memtable size before a flush to L0. Default 16 MiB. */
  readonly writeBufferSizeBytes?: number;
  /** Snappy block compression. Default true. */
  readonly compression?: boolean;
  /** Default 1000. */
  readonly maxOpenFiles?: number;
  /** Upper bound on keys one `delRange` batch op may expand to. Default 100_000. */
  readonly maxDeleteRangeKeys?: number;
  /** TEST ONLY: lose unsynced writes on demand (see power-loss.ts). Never set in production. */
  readonly powerLoss?: PowerLossModel;
}

/** Key bounds; unset bounds are open. Empty bounds are treated as unset (keys are never empty). */
export interface Range {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
}

export interface IterateOptions extends Range {
  /** Descending key order. Default false. */
  readonly reverse?: boolean;
  /** At most this many entries. Default unlimited. */
  readonly limit?: number;
  /** Return values; when false, every `value` is an empty array (cheaper). Default true. */
  readonly values?: boolean;
  /** Populate the block cache (false for one-off scans like snapshots). Default true. */
  readonly fillCache?: boolean;
  /** Soft bound on bytes per chunk fetched from the thread pool (at most 1000 entries). Default 64 KiB. */
  readonly chunkBytes?: number;
  /**
   * iterateChunks only: fetch the next chunk on the thread pool while the caller processes the current
   * one. For scans that read to the end of their range (counting, snapshots); a caller that stops
   * early wastes one chunk's read. Default false.
   */
  readonly readAhead?: boolean;
}

export type { KeyValue } from './cursor.js';

const INT32_MAX = 0x7fffffff;

/** A zero-copy Buffer view of a Uint8Array (the binding copies into RocksDB anyway). */
function buf(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const SYNC = { sync: true };
const NO_SYNC = { sync: false };

/**
 * Above this many key and value bytes a write goes through batch_do, whose native batch is freed as
 * soon as it is written; a chained batch (batch_init) lives until V8 collects its handle, which V8
 * does not know is holding the bytes.
 */
const CHAINED_BATCH_MAX_BYTES = 1 << 20;

/** Whether `ops` can go through a chained batch: no delRange (it needs expanding) and at most CHAINED_BATCH_MAX_BYTES. */
function chainable(ops: readonly BatchOp[]): boolean {
  let n = 0;
  for (const op of ops) {
    if (op.type === 'delRange') return false;
    n += op.key.byteLength + (op.type === 'put' ? op.value.byteLength : 0);
  }
  return n <= CHAINED_BATCH_MAX_BYTES;
}

function key(u: Uint8Array): Uint8Array {
  if (u.byteLength === 0) throw new RangeError('engine: empty key');
  return u;
}

function nativeRange(r: Range): NativeRange {
  const out: NativeRange = {};
  if (r.gt !== undefined) out.gt = r.gt;
  if (r.gte !== undefined) out.gte = r.gte;
  if (r.lt !== undefined) out.lt = r.lt;
  if (r.lte !== undefined) out.lte = r.lte;
  return out;
}

function inRange(k: Uint8Array, gte: Uint8Array, lt: Uint8Array): boolean {
  return Buffer.compare(buf(k), buf(gte)) >= 0 && Buffer.compare(buf(k), buf(lt)) < 0;
}

function settle(resolve: () => void, reject: (e: EngineError) => void) {
  return (err: Error | null): void => (err ? reject(fromNative(err)) : resolve());
}

export class Engine {
  readonly dir: string;
  #db: NativeDb | null;
  #closing: Promise<void> | null = null;
  /** Pins the native handle while the binding closes it (see close()). */
  #closingDb: NativeDb | null = null;
  readonly #maxDeleteRangeKeys: number;
  readonly #powerLoss: PowerLossModel | undefined;

  private constructor(dir: string, db: NativeDb, maxDeleteRangeKeys: number, powerLoss: PowerLossModel | undefined) {
    this.dir = dir;
    this.#db = db;
    this.#maxDeleteRangeKeys = maxDeleteRangeKeys;
    this.#powerLoss = powerLoss;
    powerLoss?.attach({
      read: (keys) => this.getMany(keys),
      write: (ops, sync) => this.#nativeWrite([...ops], sync),
    });
  }

  /**
   * Opens (by default creating) the database in `dir`. Rejects with EngineError of kind 'locked'
   * (another engine, in this or another process, holds the directory), 'corruption', 'not-found',
   * 'already-exists' or 'io'.
   */
  static async open(dir: string, opts: OpenOptions = {}): Promise<Engine> {
    const createIfMissing = opts.createIfMissing ?? true;
    if (createIfMissing && opts.readOnly !== true) await mkdir(dir, { recursive: true });
    const db = native.db_init();
    await new Promise<void>((resolve, reject) => {
      native.db_open(
        db,
        dir,
        {
          createIfMissing,
          errorIfExists: opts.errorIfExists ?? false,
          readOnly: opts.readOnly ?? false,
          compression: opts.compression ?? true,
          cacheSize: opts.cacheSizeBytes ?? 32 << 20,
          writeBufferSize: opts.writeBufferSizeBytes ?? 16 << 20,
          blockSize: 4096,
          maxOpenFiles: opts.maxOpenFiles ?? 1000,
          maxFileSize: 2 << 20,
        },
        settle(resolve, reject),
      );
    });
    return new Engine(dir, db, opts.maxDeleteRangeKeys ?? 100_000, opts.powerLoss);
  }

  /** Runs RocksDB's repair on a closed database directory (salvages what SSTs and WALs it can). */
  static async repair(dir: string): Promise<void> {
    await new Promise<void>((resolve, reject) => native.repair_db(dir, settle(resolve, reject)));
  }

  /** Deletes a closed database's files (RocksDB DestroyDB). */
  static async destroy(dir: string): Promise<void> {
    await new Promise<void>((resolve, reject) => native.destroy_db(dir, settle(resolve, reject)));
  }

  get isOpen(): boolean {
    return this.#db !== null;
  }

  /**
   * Closes the database after in-flight calls finish; open iterators are ended (their next step
   * rejects with 'closed'). Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const db = this.#db;
    this.#db = null;
    this.#closing =
      db === null
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            // The binding's close worker does not pin the handle: if it were garbage collected while
            // RocksDB closes on the thread pool, its finalizer would delete the DB a second time
            // (seen as an abort in ~ColumnFamilySet). Keep it reachable until the callback.
            this.#closingDb = db;
            native.db_close(db, (err) => {
              this.#closingDb = null;
              settle(resolve, reject)(err);
            });
          });
    return this.#closing;
  }

  #open(): NativeDb {
    if (this.#db === null) throw new EngineError('closed');
    return this.#db;
  }

  /** The value stored under `key`, or undefined. */
  async get(k: Uint8Array): Promise<Uint8Array | undefined> {
    const db = this.#open();
    return new Promise((resolve, reject) => {
      native.db_get(db, key(k), { fillCache: true }, (err, value) => {
        if (err === null) resolve(value ?? new Uint8Array(0));
        else if (err.message.startsWith('NotFound')) resolve(undefined);
        else reject(fromNative(err));
      });
    });
  }

  /** Values for `keys` in order (undefined where absent), read from one consistent snapshot. */
  async getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const db = this.#open();
    if (keys.length === 0) return [];
    const bufs = keys.map(key);
    return new Promise((resolve, reject) => {
      native.db_get_many(db, bufs, { fillCache: true }, (err, values) => {
        if (err !== null) reject(fromNative(err));
        else resolve(values ?? []);
      });
    });
  }

  /**
   * Applies `ops` atomically, in order. With `sync`, resolves only after RocksDB's WAL is fsynced.
   * Rejects with 'range-too-large' (nothing written) if a delRange expands beyond the bound.
   */
  async write(ops: readonly BatchOp[], opts: WriteOptions = {}): Promise<void> {
    failpoint('engine-write');
    const db = this.#open();
    if (ops.length === 0) return;
    if (this.#powerLoss === undefined && chainable(ops)) {
      // The common case: the ops go straight into a native WriteBatch, one binding call each (half the
      // main-thread cost of batch_do, which reads a JS object per op).
      const batch = native.batch_init(db);
      for (const op of ops) {
        if (op.type === 'put') native.batch_put(batch, key(op.key), op.value);
        else if (op.type === 'del') native.batch_del(batch, key(op.key));
      }
      const o = opts.sync === true ? SYNC : NO_SYNC;
      return new Promise<void>((resolve, reject) => native.batch_write(batch, o, settle(resolve, reject)));
    }
    const out: NativeOp[] = [];
    for (const op of ops) {
      if (op.type === 'put') out.push({ type: 'put', key: key(op.key), value: op.value });
      else if (op.type === 'del') out.push({ type: 'del', key: key(op.key) });
      else await this.#expandDelRange(op.gte, op.lt, out);
    }
    if (out.length === 0) return;
    if (this.#powerLoss !== undefined) return this.#powerLoss.write(out, opts.sync ?? false);
    return this.#nativeWrite(out, opts.sync ?? false);
  }

  #nativeWrite(ops: NativeOp[], sync: boolean): Promise<void> {
    const db = this.#open();
    return new Promise<void>((resolve, reject) => native.batch_do(db, ops, { sync }, settle(resolve, reject)));
  }

  async #expandDelRange(gte: Uint8Array, lt: Uint8Array, out: NativeOp[]): Promise<void> {
    const max = this.#maxDeleteRangeKeys;
    // Keys put earlier in this batch are not in the database yet; delete them explicitly.
    const pending: NativeOp[] = [];
    for (const op of out) if (inRange(op.key, gte, lt)) pending.push({ type: 'del', key: op.key });
    let n = 0;
    for await (const chunk of this.iterateChunks({ gte, lt, values: false, limit: max + 1, fillCache: false })) {
      for (const kv of chunk) {
        if (++n > max) throw new EngineError('range-too-large', `more than ${max} keys`);
        out.push({ type: 'del', key: kv.key });
      }
    }
    for (const op of pending) out.push(op);
  }

  /**
   * Entries within the bounds, in key order (or reverse), from an implicit RocksDB snapshot taken when
   * iteration starts: writes made after that are not seen. Breaking out of the loop releases the
   * snapshot. Rejects with 'closed' if the engine closes mid-iteration.
   */
  async *iterate(opts: IterateOptions = {}): AsyncGenerator<KeyValue, void, undefined> {
    for await (const chunk of this.iterateChunks(opts)) yield* chunk;
  }

  /**
   * Like iterate, but yields the chunks the thread pool returns (up to 1000 entries or about
   * `chunkBytes`), so bulk scans (snapshots, compaction) cost one await per chunk, not per entry.
   */
  async *iterateChunks(opts: IterateOptions = {}): AsyncGenerator<KeyValue[], void, undefined> {
    const cursor = this.cursor(opts);
    let ahead: Promise<KeyValue[]> | undefined;
    try {
      for (;;) {
        const chunk = await (ahead ?? cursor.next());
        ahead = undefined;
        if (chunk.length === 0) return;
        if (opts.readAhead === true) {
          ahead = cursor.next();
          ahead.catch(() => {}); // surfaced by the await above, or dropped when the caller stops early
        }
        yield chunk;
      }
    } finally {
      // the binding must not end an iterator with a next() in flight
      if (ahead !== undefined) await ahead.catch(() => {});
      await cursor.close();
    }
  }

  /**
   * An explicitly driven iterator with seek(), over the implicit snapshot taken now. The caller must
   * close() it (an open cursor pins old data in RocksDB); Engine.close ends it too.
   */
  cursor(opts: IterateOptions = {}): Cursor {
    const db = this.#open();
    const limit = opts.limit === undefined ? -1 : Math.min(Math.max(0, Math.floor(opts.limit)), INT32_MAX);
    const values = opts.values ?? true;
    const it = native.iterator_init(db, {
      ...nativeRange(opts),
      reverse: opts.reverse ?? false,
      limit,
      keys: true,
      values,
      fillCache: opts.fillCache ?? true,
      highWaterMark: opts.chunkBytes ?? 64 * 1024,
    });
    return new Cursor(it, { engineOpen: () => this.#db !== null, values });
  }

  /**
   * Deletes every key in the bounds with point deletes in ~16 KiB batches, on the thread pool. NOT
   * atomic and NOT synced: a crash may leave a prefix of the range deleted, and keys written during the
   * call may survive. For garbage (compacted raft log, compacted MVCC history) where both are fine.
   */
  async clear(range: Range & { readonly limit?: number }): Promise<void> {
    if (this.#powerLoss !== undefined) return this.#powerLoss.run(() => this.#clear(range));
    return this.#clear(range);
  }

  async #clear(range: Range & { readonly limit?: number }): Promise<void> {
    const db = this.#open();
    const opts = nativeRange(range);
    if (range.limit !== undefined) opts.limit = Math.min(Math.max(0, Math.floor(range.limit)), INT32_MAX);
    await new Promise<void>((resolve, reject) => native.db_clear(db, opts, settle(resolve, reject)));
  }

  /** RocksDB's estimate of on-disk bytes in [gte, lt) (SST files only; the memtable is not counted). */
  async approximateSize(range: { readonly gte: Uint8Array; readonly lt: Uint8Array }): Promise<number> {
    const db = this.#open();
    return new Promise((resolve, reject) => {
      native.db_approximate_size(db, range.gte, range.lt, (err, size) =>
        err !== null ? reject(fromNative(err)) : resolve(size ?? 0),
      );
    });
  }

  /**
   * Compacts [gte, lt] (all keys by default) down the LSM tree, dropping deleted and overwritten data.
   * This is what etcd's Defragment maps to. Runs on the thread pool; reads and writes continue meanwhile.
   */
  async compactRange(range: { readonly gte: Uint8Array; readonly lt: Uint8Array } = ALL): Promise<void> {
    const db = this.#open();
    await new Promise<void>((resolve, reject) =>
      native.db_compact_range(db, range.gte, range.lt, settle(resolve, reject)),
    );
  }

  /**
   * A RocksDB property such as 'rocksdb.estimate-num-keys', 'rocksdb.total-sst-files-size',
   * 'rocksdb.cur-size-all-mem-tables', 'rocksdb.stats'; undefined when unknown. Synchronous (cheap).
   */
  getProperty(name: string): string | undefined {
    const db = this.#open();
    const v = native.db_get_property(db, name);
    return v === '' ? undefined : v;
  }
}

/** Every key berth writes: the first byte is a keyspace prefix below 0xff. */
const ALL = { gte: Uint8Array.of(0x00), lt: Uint8Array.of(0xff) };
