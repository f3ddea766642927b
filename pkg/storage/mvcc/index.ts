/**
 * pkg/storage/mvcc — etcd's MVCC key-value model on RocksDB. See docs/mvcc.md.
 */
export { MvccStore, ChainConflict } from './store.js';
export type { StoreOptions, Prepared, CommitOptions, DbSize } from './store.js';
export type { MvccBackend } from './backend.js';
export type { MvccError, MvccErrorKind, Result } from './errors.js';
export type { EventChunk, ReadEventsOptions } from './events.js';
export { validateRange, validatePut, validateDeleteRange, validateTxn, DEFAULT_MAX_TXN_OPS } from './validate.js';
export * from './types.js';
export { latin1 } from './latin1.js';
