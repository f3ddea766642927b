/**
 * pkg/raft — the Raft consensus algorithm as a pure, deterministic state machine (RawNode shape).
 *
 * Owns: leader election (pre-vote, check-quorum, vote lease), log replication with flow control,
 * commitment, linearizable ReadIndex, membership changes (learners, joint consensus), leadership
 * transfer, and the snapshot catch-up protocol. Does not own: persistence (the caller writes Ready
 * contents to a Storage such as pkg/storage/wal), transport, applying entries, timers.
 *
 * Invariants:
 *  - No I/O, no clocks, no timers, no global randomness: time is tick(), randomness the injected rand.
 *    Same inputs and rand sequence → same outputs (the simulation relies on it).
 *  - Durable before acknowledged: append and vote responses travel in Ready.messagesAfterPersist; the
 *    leader counts its own entries and a candidate its own vote only in advance() after persisting.
 *  - Only entries of the leader's term commit by counting replicas (Raft §5.4.2, Figure 8).
 *  - One Ready outstanding at a time; advance() acknowledges exactly that Ready.
 *  - Expected failures (dropped proposals, no leader) are returned as StepResult values; exceptions
 *    mean a broken invariant.
 *
 * Tested by test/raft/*.test.ts: scenario tests named after the paper's claims, driven through an
 * in-test message-pumping network (test/raft/network.ts) with no sleeps; test-only `knobs` switch on
 * deliberately broken variants so safety checkers can be shown to catch them.
 */
export type { Entry, HardState, ConfState, Snapshot, SnapshotMetadata, Storage, StorageErrorKind, NodeId } from './types.js';
export { EntryType, NONE, StorageError, entrySize } from './types.js';
export type { Message } from './message.js';
export { MessageType, newMessage, CAMPAIGN_TRANSFER } from './message.js';
export type { RaftErrorReason, StepResult } from './errors.js';
export type { RaftConfig, RaftKnobs } from './config.js';
export type { ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType } from './conf-change.js';
export { encodeConfChange, decodeConfChange, leaveJointChange, isLeaveJoint } from './conf-change.js';
export type { ReadState, ReadOnlyOption } from './read-only.js';
export type { Ready } from './ready.js';
export type { RaftRole } from './raft.js';
export type { Status, ProgressStatus, SoftState } from './status.js';
export type { ProgressState } from './progress.js';
export { RawNode } from './rawnode.js';
export { MemoryStorage, makeConfState } from './memory-storage.js';
export type { MemoryStorageResult } from './memory-storage.js';
