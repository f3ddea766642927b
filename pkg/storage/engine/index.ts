/**
 * pkg/storage/engine — the only module in berth that touches RocksDB. See docs/storage.md.
 */
export { Engine } from './engine.js';
export { PowerLossModel } from './power-loss.js';
export type { Cursor } from './cursor.js';
export type { OpenOptions, Range, IterateOptions, KeyValue } from './engine.js';
export { put, del, delRange, batchBytes } from './batch.js';
export type { BatchOp, WriteOptions } from './batch.js';
export { EngineError, isEngineError } from './errors.js';
export type { EngineErrorKind } from './errors.js';
export { Keyspace, STATE_KEYSPACES_START, keyIn, keyspaceRange, prefixRange } from './keyspace.js';
