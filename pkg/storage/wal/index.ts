/**
 * pkg/storage/wal — raft's Storage on the engine. See docs/storage.md.
 */
export { Wal } from './wal.js';
export type { StagedSave, WalUpdate, WalOptions, WalStats } from './wal.js';
export { WalError, isWalError } from './errors.js';
export type { WalErrorKind } from './errors.js';
export { crc32c } from './crc32c.js';
export { ENTRY_OVERHEAD } from './codec.js';
export type { WriteInfo } from './committer.js';
