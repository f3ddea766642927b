/**
 * The closed set of engine failures. Callers switch on `kind`; messages are lowercase with a colon
 * before the detail (the RocksDB status string), matching the project's error style.
 */
export type EngineErrorKind =
  /** The data directory is held by another open engine (this or another process). */
  | 'locked'
  /** RocksDB found corrupt files (MANIFEST, CURRENT, SST or WAL checksum). `Engine.repair` may help. */
  | 'corruption'
  /** The directory holds no database and `createIfMissing` was false. */
  | 'not-found'
  /** The directory already holds a database and `errorIfExists` was true. */
  | 'already-exists'
  /** The engine was closed (or is closing); the call was not performed. */
  | 'closed'
  /** A delete-range in a write batch covers more keys than the configured bound. */
  | 'range-too-large'
  /** Any other I/O or RocksDB failure (disk full, permissions, ...). */
  | 'io';

export class EngineError extends Error {
  readonly kind: EngineErrorKind;
  constructor(kind: EngineErrorKind, detail?: string) {
    super(detail === undefined ? `engine: ${describe(kind)}` : `engine: ${describe(kind)}: ${detail}`);
    this.name = 'EngineError';
    this.kind = kind;
  }
}

export function isEngineError(e: unknown, kind?: EngineErrorKind): e is EngineError {
  return e instanceof EngineError && (kind === undefined || e.kind === kind);
}

function describe(kind: EngineErrorKind): string {
  switch (kind) {
    case 'locked':
      return 'database is locked by another process';
    case 'corruption':
      return 'database is corrupt';
    case 'not-found':
      return 'database does not exist';
    case 'already-exists':
      return 'database already exists';
    case 'closed':
      return 'database is closed';
    case 'range-too-large':
      return 'delete range covers too many keys';
    case 'io':
      return 'i/o error';
  }
}

/**
 * Maps a RocksDB status string (what the binding puts in Error.message) to a kind.
 * Examples: "IO error: While lock file: /d/LOCK: Resource temporarily unavailable",
 * "IO error: lock hold by current process, acquire time ...", "Corruption: ...",
 * "Invalid argument: /d/CURRENT: does not exist (create_if_missing is false)",
 * "Invalid argument: /d: exists (error_if_exists is true)".
 */
export function fromNative(err: Error): EngineError {
  const msg = err.message;
  if (/^IO error: .*lock/i.test(msg)) return new EngineError('locked', msg);
  if (msg.startsWith('Corruption:')) return new EngineError('corruption', msg);
  if (/create_if_missing is false/.test(msg)) return new EngineError('not-found', msg);
  if (/error_if_exists is true/.test(msg)) return new EngineError('already-exists', msg);
  if (msg === 'iterator has ended') return new EngineError('closed', msg);
  return new EngineError('io', msg);
}
