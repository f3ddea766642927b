/**
 * Construction options of a raft node, with defaults and validation. Invalid options are programming
 * errors and throw at construction.
 */
import type { ReadOnlyOption } from './read-only.js';
import type { NodeId, Storage } from './types.js';

/**
 * TEST-ONLY deliberately broken variants, for checking that the safety checkers of the simulation
 * catch real bugs. All default to false; never set them outside tests.
 */
export interface RaftKnobs {
  /** Commit any quorum-replicated index even from an older term (violates Raft Figure 8 / §5.4.2). */
  readonly unsafeCommitOldTermByCounting?: boolean;
  /** Grant votes without checking the candidate's log is at least as up to date (violates §5.4.1). */
  readonly unsafeSkipVoteLogCheck?: boolean;
  /** Send append/vote responses and count the node's own log and vote before persisting them. */
  readonly unsafeAckBeforePersist?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: Storage;
  /** Followers campaign after a random timeout in [electionTick, 2*electionTick) ticks. */
  readonly electionTick: number;
  /** Leader heartbeat interval in ticks; must be < electionTick. */
  readonly heartbeatTick: number;
  /** Injected randomness: returns an integer in [0, n). The only source of nondeterminism. */
  readonly rand: (n: number) => number;
  /** Last index the state machine applied before a restart (0 for a new node). */
  readonly applied?: number;
  /** Max payload bytes per append message (at least one entry is always sent). Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Max bytes of committed entries handed out per Ready. Default 64 MiB. */
  readonly maxCommittedSizePerReady?: number;
  /** Cap on the leader's uncommitted payload bytes; proposals beyond it are dropped. 0 = no cap. */
  readonly maxUncommittedEntriesSize?: number;
  /** Max in-flight append messages per follower. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Max in-flight payload bytes per follower. 0 = no cap. */
  readonly maxInflightBytes?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout; enables the vote lease. */
  readonly checkQuorum?: boolean;
  /** Pre-vote round before a real election, so a partitioned node cannot disrupt the cluster (thesis §9.6). */
  readonly preVote?: boolean;
  readonly readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
  readonly knobs?: RaftKnobs;
}

export interface ResolvedConfig {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly rand: (n: number) => number;
  readonly applied: number;
  readonly maxSizePerMsg: number;
  readonly maxCommittedSizePerReady: number;
  readonly maxUncommittedEntriesSize: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  readonly disableProposalForwarding: boolean;
  readonly knobs: Required<RaftKnobs>;
}

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  if (c.id === 0n) throw new Error('raft: cannot use none as id');
  if (c.heartbeatTick <= 0) throw new Error('raft: heartbeat tick must be greater than 0');
  if (c.electionTick <= c.heartbeatTick) throw new Error('raft: election tick must be greater than heartbeat tick');
  const readOnlyOption = c.readOnlyOption ?? 'safe';
  if (readOnlyOption === 'lease-based' && c.checkQuorum !== true) {
    throw new Error('raft: lease-based reads require checkQuorum');
  }
  const maxInflightMsgs = c.maxInflightMsgs ?? 256;
  if (maxInflightMsgs <= 0) throw new Error('raft: maxInflightMsgs must be greater than 0');
  return {
    id: c.id,
    storage: c.storage,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    rand: c.rand,
    applied: c.applied ?? 0,
    maxSizePerMsg: c.maxSizePerMsg ?? 1024 * 1024,
    maxCommittedSizePerReady: c.maxCommittedSizePerReady ?? 64 * 1024 * 1024,
    maxUncommittedEntriesSize: c.maxUncommittedEntriesSize ?? 0,
    maxInflightMsgs,
    maxInflightBytes: c.maxInflightBytes ?? 0,
    checkQuorum: c.checkQuorum ?? false,
    preVote: c.preVote ?? false,
    readOnlyOption,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    knobs: {
      unsafeCommitOldTermByCounting: c.knobs?.unsafeCommitOldTermByCounting ?? false,
      unsafeSkipVoteLogCheck: c.knobs?.unsafeSkipVoteLogCheck ?? false,
      unsafeAckBeforePersist: c.knobs?.unsafeAckBeforePersist ?? false,
    },
  };
}
