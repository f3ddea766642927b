/**
 * Core data types of the raft log, shared by the consensus state machine and by whoever persists it
 * (pkg/storage/wal implements {@link Storage}).
 *
 * Why `number` for index and term: they grow by one per entry / election, so 2^53 is out of reach for
 * centuries, and number arithmetic on the hot path is several times cheaper than bigint. Decoders at
 * the wire/storage boundary reject anything above Number.MAX_SAFE_INTEGER. Node IDs are 64-bit and
 * random-looking, so they are `bigint` (architecture invariant 5).
 */

/** A member's 64-bit ID. 0n means "none". */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export const EntryType = {
  Normal: 0,
  ConfChange: 1,
  ConfChangeV2: 2,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to raft. An empty normal entry is the leader's no-op appended on election. */
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** The membership that a snapshot or applied config change describes. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Voters of the outgoing config while in a joint configuration; empty otherwise. */
  readonly votersOutgoing: readonly NodeId[];
  /** Learners that become learners once the joint config is left (they are outgoing voters now). */
  readonly learnersNext: readonly NodeId[];
  /** True when the joint config is left automatically once it is applied. */
  readonly autoLeave: boolean;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** Opaque to raft; for berth, a small descriptor of the state checkpoint (streamed separately). */
  readonly data: Uint8Array;
}

/** Why a Storage call could not answer; the only failures raft expects and handles. */
export type StorageErrorKind =
  /** The requested index is below the first retained entry (log compacted away). */
  | 'compacted'
  /** The requested index is above the last entry. */
  | 'unavailable'
  /** A snapshot is being produced; ask again later. */
  | 'snapshot-temporarily-unavailable';

export class StorageError extends Error {
  readonly kind: StorageErrorKind;
  constructor(kind: StorageErrorKind) {
    super(`raft: storage: ${kind}`);
    this.kind = kind;
  }
}

/**
 * Read-only view of the persisted log that the consensus state machine consults. Implementations are
 * synchronous: berth keeps the unapplied tail of the log in memory and RocksDB holds the durable copy.
 * Writes happen outside raft, by the caller handling a Ready.
 *
 * Invariants: firstIndex() = snapshot.index + 1; lastIndex() >= snapshot.index; term(snapshot.index) is
 * answerable. Methods throw {@link StorageError} for the kinds above and nothing else.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes total, but always at least one if any exist. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}
