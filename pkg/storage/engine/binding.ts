/**
 * Typed view of the `rocksdb` npm package's native binding (Level's leveldown for RocksDB 6.17).
 *
 * Why the raw binding instead of the package's abstract-leveldown wrapper: the wrapper hands out
 * iterator entries one per callback (a nextTick each), while the binding returns up to 1000 entries
 * per thread-pool round trip; the wrapper's type coercions are also things we do not want. The price
 * is that the binding dereferences a closed database without checking, so every call goes through
 * Engine, which refuses calls once closed.
 *
 * This is the only file in berth that loads the binding (architecture: pkg/storage/engine is the
 * only module that imports RocksDB).
 *
 * Keys and values going in are any Uint8Array (views included): the binding reads them with
 * `napi_is_buffer` / `napi_get_buffer_info`, which accept a Uint8Array as well as a Buffer (Node-API
 * docs), and copies the bytes. Wrapping each one in a Buffer first cost ~0.4 µs per key or value on
 * the main thread (test/storage/engine: views at an offset round-trip).
 */
import { createRequire } from 'node:module';

/** Opaque native handles. */
export interface NativeDb { readonly __nativeDb: unique symbol }
export interface NativeIterator { readonly __nativeIterator: unique symbol }

export type Callback = (err: Error | null) => void;
export type ValueCallback<T> = (err: Error | null, value: T) => void;

export interface NativeOpenOptions {
  createIfMissing: boolean;
  errorIfExists: boolean;
  compression: boolean;
  readOnly: boolean;
  cacheSize: number;
  writeBufferSize: number;
  blockSize: number;
  maxOpenFiles: number;
  maxFileSize: number;
}

export interface NativeRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
  limit?: number;
}

export interface NativeIteratorOptions extends NativeRange {
  keys: boolean;
  values: boolean;
  fillCache: boolean;
  highWaterMark: number;
}

/** A native WriteBatch (an external; freed when collected). */
export type NativeBatch = { readonly __nativeBatch: unique symbol };

export type NativeOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

export interface NativeBinding {
  db_init(): NativeDb;
  db_open(db: NativeDb, location: string, options: NativeOpenOptions, cb: Callback): void;
  db_close(db: NativeDb, cb: Callback): void;
  db_get(db: NativeDb, key: Uint8Array, options: { fillCache: boolean }, cb: ValueCallback<Buffer | undefined>): void;
  db_get_many(
    db: NativeDb,
    keys: Uint8Array[],
    options: { fillCache: boolean },
    cb: ValueCallback<(Buffer | undefined)[] | undefined>,
  ): void;
  db_clear(db: NativeDb, options: NativeRange, cb: Callback): void;
  db_approximate_size(db: NativeDb, start: Uint8Array, end: Uint8Array, cb: ValueCallback<number | undefined>): void;
  db_compact_range(db: NativeDb, start: Uint8Array, end: Uint8Array, cb: Callback): void;
  db_get_property(db: NativeDb, property: string): string;
  destroy_db(location: string, cb: Callback): void;
  repair_db(location: string, cb: Callback): void;
  iterator_init(db: NativeDb, options: NativeIteratorOptions): NativeIterator;
  /** Synchronous; must not overlap an in-flight iterator_next (the binding does not check). */
  iterator_seek(it: NativeIterator, target: Uint8Array): void;
  iterator_end(it: NativeIterator, cb: Callback): void;
  /** `entries` is [value_n, key_n, ..., value_1, key_1] (reversed, for pop()); `finished` when exhausted. */
  iterator_next(it: NativeIterator, cb: (err: Error | null, entries: Buffer[] | undefined, finished: boolean) => void): void;
  batch_do(db: NativeDb, ops: NativeOp[], options: { sync: boolean }, cb: Callback): void;
  /** A native WriteBatch filled by batch_put/batch_del: one N-API call per op, no op objects. */
  batch_init(db: NativeDb): NativeBatch;
  batch_put(batch: NativeBatch, key: Uint8Array, value: Uint8Array): void;
  batch_del(batch: NativeBatch, key: Uint8Array): void;
  batch_write(batch: NativeBatch, options: { sync: boolean }, cb: Callback): void;
}

const require = createRequire(import.meta.url);

/** Loaded once, on first import of pkg/storage/engine. */
export const native = require('rocksdb/binding.js') as NativeBinding;
