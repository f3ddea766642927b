/** A read-only picture of a node for monitoring, tests and the simulation's safety checkers. */
import type { ProgressState } from './progress.js';
import type { Raft, RaftRole } from './raft.js';
import type { ConfState, NodeId } from './types.js';

export interface SoftState {
  readonly lead: NodeId;
  readonly role: RaftRole;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
  readonly paused: boolean;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly role: RaftRole;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  readonly lastIndex: number;
  /** Per member, only on the leader (empty elsewhere). */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

export function getStatus(r: Raft): Status {
  const progress = new Map<NodeId, ProgressStatus>();
  if (r.role === 'leader') {
    for (const [id, pr] of r.trk.progress) {
      progress.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        recentActive: pr.recentActive,
        isLearner: pr.isLearner,
        pendingSnapshot: pr.pendingSnapshot,
        inflight: pr.inflights.count(),
        paused: pr.isPaused(),
      });
    }
  }
  return {
    id: r.id,
    term: r.term,
    vote: r.vote,
    commit: r.log.committed,
    applied: r.log.applied,
    lead: r.lead,
    role: r.role,
    leadTransferee: r.leadTransferee,
    config: r.trk.confState(),
    lastIndex: r.log.lastIndex(),
    progress,
  };
}
