/**
 * Bugs the deterministic simulation (test/raft/sim) found in pkg/raft, each reduced to the minimal
 * scripted scenario. Every test names the seed that first showed it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfChange } from '../../pkg/raft/index.js';
import { MemoryStorage } from '../../pkg/raft/index.js';
import { Cluster, bytes } from './network.js';

const EMPTY = new Uint8Array(0);
const change = (type: ConfChange['changes'][number]['type'], nodeId: bigint): ConfChange => ({
  transition: 'auto',
  changes: [{ type, nodeId }],
  context: EMPTY,
});

describe('regressions found by the simulation', () => {
  // Seed 981 (before the fix, with the parameter set of the time): a member partitioned through several conf changes keeps a stale
  // configuration that does not contain the new leader, and inflates its term by campaigning. Without
  // check-quorum and pre-vote, it ignored the leader's lower-term appends without answering, and its
  // own vote requests never reached the leader (not in its stale configuration): the leader, which
  // needs that member for its quorum, could never commit again. Raft (§5.1) answers a stale-term
  // request with the current term so the stale leader steps down; pkg/raft now always does.
  it('a member with a stale configuration and a higher term makes the unknown leader step down, then rejoins it', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.addNode(4n, new MemoryStorage({ voters: [1n, 2n, 3n] }));
    c.isolate(3n);
    assert.ok(c.rn(1n).proposeConfChange(change('add-node', 4n)).ok);
    c.stabilize();
    c.tick(1, [1n]);
    assert.ok(c.rn(1n).proposeConfChange(change('remove-node', 2n)).ok);
    c.stabilize();
    c.tick(1, [1n]);
    c.rn(1n).transferLeader(4n);
    c.stabilize();
    assert.equal(c.leader(), 4n);
    assert.ok(c.rn(4n).proposeConfChange(change('remove-node', 1n)).ok);
    c.stabilize();
    c.tick(1, [4n]);
    assert.deepEqual(c.node(4n).confState?.voters, [3n, 4n]);
    // Node 3 still believes in {1,2,3} and campaigns alone for a while.
    c.tick(40, [3n]);
    assert.ok(c.rn(3n).status().term > c.rn(4n).status().term);
    c.recover();
    let committed = false;
    for (let i = 0; i < 100 && !committed; i++) {
      c.tick(1, [3n, 4n]);
      const l = c.leader();
      if (l === 3n || l === 4n) {
        c.rn(l).propose(bytes('after'));
        c.stabilize();
        committed = c.appliedText(3n).includes('after') && c.appliedText(4n).includes('after');
      }
    }
    assert.ok(committed, 'the {3,4} cluster commits again once the partition heals');
  });

  // Seeds 120, 490, 880 (replay.ts --leader-removal direct): a leader removed (or demoted) by a change that
  // leaves no majority of the old voters behind steps down as soon as it applies the change. The
  // survivors may not know yet that the change committed, so they still count the old voters; the
  // removed leader, whose log is longer (it appended after the change), refuses them its vote and,
  // no longer a voter itself, never campaigns: the cluster is stuck for good. etcd's raft keeps a
  // removed leader leading by default (StepDownOnRemoval=false) so the survivors learn the commit.
  // The same happens when leadership moves, during a joint configuration, to a voter the change
  // removes or demotes (seed 525 of the 200-tick 'partitions' runs, before the workaround). Fixed:
  // a vote rejection carries the rejecter's commit index and its term, and a candidate whose entry at
  // that index has the same term adopts it (Log Matching makes that safe), applies the change, and
  // then campaigns under the new configuration.
  it(
    'a leader that removes itself from a two-voter configuration leaves the survivor able to take over',
    () => {
      const c = new Cluster([1n, 2n]);
      c.campaign(1n);
      c.rn(1n).propose(bytes('a'));
      c.stabilize();
      assert.ok(c.rn(1n).proposeConfChange(change('remove-node', 1n)).ok);
      // Node 2 gets the removal and acks it; then node 1 appends more, and nothing more reaches node 2
      // (neither the new entry nor the commit index that covers the removal).
      c.processReady(1n);
      while (c.deliverOne()) c.processReady(2n);
      c.rn(1n).propose(bytes('b'));
      c.dropIf = (m) => m.to === 2n;
      c.stabilize();
      assert.notEqual(c.rn(1n).status().role, 'leader', 'the removed leader stepped down');
      assert.ok(c.rn(2n).status().commit < c.rn(1n).status().commit, 'node 2 does not know the removal committed');
      c.recover();
      c.tick(100);
      assert.equal(c.leader(), 2n, 'the survivor leads the one-voter cluster');
    },
  );
});
