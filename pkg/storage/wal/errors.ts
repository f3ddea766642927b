/**
 * The closed set of WAL failures (the raft-facing read methods throw raft's StorageError instead).
 */
export type WalErrorKind =
  /** A stored record failed its checksum or decoding, or the log has a gap. Fatal: do not serve. */
  | 'corrupt'
  /** The data was written by a newer, unknown WAL format. */
  | 'unsupported-version'
  /** An earlier write failed, so memory is ahead of disk; every later save rejects. Restart. */
  | 'failed'
  /** applySnapshot/createSnapshot with an index not above the current snapshot's. */
  | 'snapshot-out-of-date'
  /** The WAL was closed. */
  | 'closed';

export class WalError extends Error {
  readonly kind: WalErrorKind;
  constructor(kind: WalErrorKind, detail?: string, opts?: { cause?: unknown }) {
    super(detail === undefined ? `wal: ${kind}` : `wal: ${kind}: ${detail}`, opts);
    this.name = 'WalError';
    this.kind = kind;
  }
}

export function isWalError(e: unknown, kind?: WalErrorKind): e is WalError {
  return e instanceof WalError && (kind === undefined || e.kind === kind);
}
