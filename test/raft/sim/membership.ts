/**
 * What membership change the simulated client asks for next, and the safety margin a careful server
 * keeps around changes that remove or demote voters. Pure functions over the leader's configuration.
 */
import type { ConfChange, ConfChangeSingle, ConfState, NodeId } from '../../../pkg/raft/index.js';
import type { Prng } from './prng.js';

const EMPTY = new Uint8Array(0);

/** Voters that a change removes or demotes. */
export function goneVoters(cc: ConfChange): Set<NodeId> {
  const gone = new Set<NodeId>();
  for (const c of cc.changes) if (c.type === 'remove-node' || c.type === 'add-learner') gone.add(c.nodeId);
  return gone;
}

/**
 * Whether cc removes or demotes so many voters that the others are no majority of the current ones.
 * pkg/raft's leader steps down as soon as it applies its own removal; the survivors may not yet know
 * that the change committed, so they still need a majority of the old voters, and the removed leader,
 * whose log may be longer, refuses them its vote: the cluster is stuck for good (regressions.test.ts).
 * A careful server therefore never lets a leaving voter lead when such a change is applied.
 */
export function strandsSurvivors(cs: ConfState, cc: ConfChange): boolean {
  const gone = goneVoters(cc);
  const survivors = cs.voters.filter((v) => !gone.has(v)).length;
  return survivors <= cs.voters.length / 2;
}

/**
 * A random change against a non-joint configuration: add a learner or a voter, promote, demote,
 * remove, replace the leader (joint), or a joint change of two or three members. `fresh` are ids that
 * may join (never members, never removed). Undefined when nothing applies.
 */
export function planChange(rand: Prng, leader: NodeId, cs: ConfState, fresh: readonly NodeId[]): ConfChange | undefined {
  const voters = [...cs.voters];
  const learners = [...cs.learners];
  const one = (type: ConfChangeSingle['type'], nodeId: NodeId): ConfChange => ({ transition: 'auto', changes: [{ type, nodeId }], context: EMPTY });
  const options: string[] = [];
  if (fresh.length > 0) options.push('add-learner', 'add-voter');
  if (learners.length > 0) options.push('promote', 'remove-learner');
  if (voters.length > 1) options.push('remove-voter', 'demote');
  if (fresh.length + learners.length > 0) options.push('replace-leader', 'joint');
  if (options.length === 0) return undefined;
  const pickOf = (xs: readonly NodeId[]): NodeId => rand.pick(xs);
  switch (rand.pick(options)) {
    case 'add-learner':
      return one('add-learner', pickOf(fresh));
    case 'add-voter':
      return one('add-node', pickOf(fresh));
    case 'promote':
      return one('add-node', pickOf(learners));
    case 'remove-learner':
      return one('remove-node', pickOf(learners));
    case 'remove-voter':
      return one('remove-node', pickOf(voters));
    case 'demote':
      return one('add-learner', pickOf(voters));
    case 'replace-leader': {
      const incoming = pickOf([...learners, ...fresh]);
      return {
        transition: rand.pick(['auto', 'implicit', 'explicit'] as const),
        changes: [{ type: 'add-node', nodeId: incoming }, { type: 'remove-node', nodeId: leader }],
        context: EMPTY,
      };
    }
    default: {
      const changes: ConfChangeSingle[] = [];
      const used = new Set<NodeId>();
      const k = rand.range(2, 3);
      for (let i = 0; i < k * 3 && changes.length < k; i++) {
        const kind = rand.int(3);
        const pool = kind === 0 ? [...learners, ...fresh] : voters;
        const avail = pool.filter((id) => !used.has(id));
        if (avail.length === 0) continue;
        const id = pickOf(avail);
        used.add(id);
        changes.push({ type: kind === 0 ? 'add-node' : kind === 1 ? 'remove-node' : 'add-learner', nodeId: id });
      }
      if (changes.length === 0) return undefined;
      return { transition: rand.pick(['auto', 'implicit', 'explicit'] as const), changes, context: EMPTY };
    }
  }
}
