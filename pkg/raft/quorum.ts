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
  // Insertion sort (descending) into a reused array: a leader runs this for every append response, and
  // Array.prototype.sort allocates its own work space each call. Voters are a handful.
  const acked = scratch;
  let k = 0;
  for (const id of voters) {
    const v = ackedIndex(id) ?? 0;
    let j = k++;
    while (j > 0 && (acked[j - 1] as number) < v) {
      acked[j] = acked[j - 1] as number;
      j--;
    }
    acked[j] = v;
  }
  return acked[n >> 1] as number;
}

const scratch: number[] = [];

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
