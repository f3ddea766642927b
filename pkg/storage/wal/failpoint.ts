/**
 * WAL failpoints (`wal-before-sync`: group batch built, not yet written; `wal-after-sync`: batch
 * durable, callers not yet told). The mechanism lives in pkg/failpoint; this re-export keeps the
 * storage imports stable.
 */
export { failpoint } from '../../failpoint/index.js';
