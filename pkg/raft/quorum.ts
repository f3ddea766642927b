/**
 * Quorum arithmetic for a majority configuration and for a joint one (two majorities that must both
 * agree). Pure functions over sets of voter IDs.
 */
import type { NodeId } from './types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

/** [incoming, outgoing]; outgoing is empty unless the configuration is joint. */
export type JointVoters = readonly [ReadonlySet<NodeId>, ReadonlySet<NodeId>];

/** An empty majority agrees to anything, so a joint config with empty outgoing acts like incoming. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/** The largest index acknowledged by a majority of `voters` (missing acks count as 0). */
export function majorityCommitted(voters: ReadonlySet<NodeId>, ackedIndex: (id: NodeId) => number | undefined): number {
  const n = voters.size;
  if (n === 0) return UNBOUNDED;
  const acked: number[] = [];
  for (const id of voters) acked.push(ackedIndex(id) ?? 0);
  acked.sort((a, b) => b - a);
  return acked[n >> 1] ?? 0;
}

export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = (voters.size >> 1) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

/** Committed index under a joint config: the smaller of both majorities' answers. */
export function jointCommitted(voters: JointVoters, ackedIndex: (id: NodeId) => number | undefined): number {
  return Math.min(majorityCommitted(voters[0], ackedIndex), majorityCommitted(voters[1], ackedIndex));
}

/** A joint vote is won only when both majorities are won, lost as soon as either is lost. */
export function jointVoteResult(voters: JointVoters, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const a = majorityVoteResult(voters[0], votes);
  const b = majorityVoteResult(voters[1], votes);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}
