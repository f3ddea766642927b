/**
 * The current membership configuration and, on the leader, the progress of every member; also the
 * votes of the election in progress. Commit index, quorum activity and election results are all
 * computed here from the (possibly joint) configuration.
 */
import type { Progress } from './progress.js';
import type { JointVoters, VoteResult } from './quorum.js';
import { jointCommitted, jointVoteResult } from './quorum.js';
import type { ConfState, NodeId } from './types.js';

export interface TrackerConfig {
  /** [incoming, outgoing]; outgoing is non-empty only in a joint configuration. */
  readonly voters: readonly [Set<NodeId>, Set<NodeId>];
  readonly learners: Set<NodeId>;
  /** Outgoing voters that become learners when the joint config is left. */
  readonly learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export function emptyConfig(): TrackerConfig {
  return { voters: [new Set(), new Set()], learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: [new Set(c.voters[0]), new Set(c.voters[1])],
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

const byId = (a: NodeId, b: NodeId): number => (a < b ? -1 : a > b ? 1 : 0);

export function configToConfState(c: TrackerConfig): ConfState {
  return {
    voters: [...c.voters[0]].sort(byId),
    learners: [...c.learners].sort(byId),
    votersOutgoing: [...c.voters[1]].sort(byId),
    learnersNext: [...c.learnersNext].sort(byId),
    autoLeave: c.autoLeave,
  };
}

export class ProgressTracker {
  config: TrackerConfig = emptyConfig();
  progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  confState(): ConfState {
    return configToConfState(this.config);
  }

  isJoint(): boolean {
    return this.config.voters[1].size > 0;
  }

  jointVoters(): JointVoters {
    return this.config.voters;
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters[0].has(id) || this.config.voters[1].has(id);
  }

  /** A single-voter configuration (not joint) whose only voter is `id`. */
  isSingleton(id: NodeId): boolean {
    return !this.isJoint() && this.config.voters[0].size === 1 && this.config.voters[0].has(id);
  }

  /** The highest index replicated (durably acked) on a quorum of voters. */
  committed(): number {
    return jointCommitted(this.config.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a quorum of voters was recently active (the leader always counts itself via recentActive). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) if (!pr.isLearner) votes.set(id, pr.recentActive);
    return jointVoteResult(this.config.voters, votes) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records the first answer of each voter; later answers from the same voter are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.voters, this.votes) };
  }

  /** Voter IDs of both halves, deduplicated, in a deterministic order. */
  voterIds(): NodeId[] {
    const s = new Set<NodeId>([...this.config.voters[0], ...this.config.voters[1]]);
    return [...s].sort(byId);
  }
}
