import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfChange } from '../../pkg/raft/index.js';
import { MemoryStorage, decodeConfChange, encodeConfChange, leaveJointChange } from '../../pkg/raft/index.js';
import { Cluster, bytes } from './network.js';

const EMPTY = new Uint8Array(0);
const cc = (transition: ConfChange['transition'], ...changes: ConfChange['changes']): ConfChange => ({ transition, changes, context: EMPTY });

describe('membership changes (Raft thesis ch. 4)', () => {
  it('conf change encoding round-trips', () => {
    const c = cc('explicit', { type: 'add-node', nodeId: 0xfedcba9876543210n }, { type: 'add-learner', nodeId: 7n });
    const d = decodeConfChange(encodeConfChange({ ...c, context: bytes('ctx') }));
    assert.deepEqual(d, { ...c, context: bytes('ctx') });
    assert.equal(decodeConfChange(bytes('garbage')), undefined);
  });

  it('learners receive the log but their acks do not count toward commit', () => {
    const c = new Cluster([1n, 2n, 3n], { learners: [4n] });
    c.campaign(1n);
    c.rn(1n).propose(bytes('a'));
    c.stabilize();
    assert.deepEqual(c.appliedText(4n), ['a']);
    c.cut(1n, 2n);
    c.cut(1n, 3n);
    c.rn(1n).propose(bytes('b'));
    c.stabilize();
    assert.equal(c.rn(1n).status().progress.get(4n)?.match, 3, 'learner has it');
    assert.equal(c.rn(1n).status().commit, 2, 'but it is not committed');
  });

  it('a new member joins as a learner, is promoted, and then votes', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    // A joining member starts from the cluster's current membership (berth's --initial-cluster-state=existing).
    c.addNode(4n, new MemoryStorage({ voters: [1n, 2n, 3n] }));
    assert.ok(c.rn(1n).proposeConfChange(cc('auto', { type: 'add-learner', nodeId: 4n })).ok);
    c.stabilize();
    c.tick(2, [1n]);
    assert.deepEqual(c.node(4n).confState?.learners, [4n]);
    assert.ok(c.rn(1n).proposeConfChange(cc('auto', { type: 'add-node', nodeId: 4n })).ok);
    c.stabilize();
    assert.deepEqual(c.node(1n).confState?.voters, [1n, 2n, 3n, 4n]);
    assert.deepEqual(c.node(4n).confState?.voters, [1n, 2n, 3n, 4n]);
    // Now a quorum is 3 of 4: with 2 and 3 cut off nothing commits.
    c.cut(1n, 2n);
    c.cut(1n, 3n);
    const commit = c.rn(1n).status().commit;
    c.rn(1n).propose(bytes('x'));
    c.stabilize();
    assert.equal(c.rn(1n).status().commit, commit);
  });

  it('only one conf change may be pending at a time', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(1n);
    assert.ok(c.rn(1n).proposeConfChange(cc('auto', { type: 'add-learner', nodeId: 4n })).ok);
    c.stabilize();
    const r = c.rn(1n).proposeConfChange(cc('auto', { type: 'add-learner', nodeId: 5n }));
    assert.equal(!r.ok && r.reason, 'invalid-conf-change');
  });

  it('a simple change may not change more than one voter', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    const r = c.rn(1n).proposeConfChange(cc('auto', { type: 'remove-node', nodeId: 2n }, { type: 'remove-node', nodeId: 3n }, { type: 'remove-node', nodeId: 1n }));
    assert.equal(!r.ok && r.reason, 'invalid-conf-change', 'removing every voter is refused');
  });

  it('joint consensus: while joint, commit needs a majority of both the old and the new voters', () => {
    const c = new Cluster([1n, 2n, 3n], { learners: [4n, 5n] });
    c.campaign(1n);
    const enter = cc('explicit', { type: 'add-node', nodeId: 4n }, { type: 'add-node', nodeId: 5n }, { type: 'remove-node', nodeId: 2n }, { type: 'remove-node', nodeId: 3n });
    assert.ok(c.rn(1n).proposeConfChange(enter).ok);
    c.stabilize();
    const cs = c.node(1n).confState;
    assert.deepEqual(cs?.voters, [1n, 4n, 5n]);
    assert.deepEqual(cs?.votersOutgoing, [1n, 2n, 3n]);
    // The new majority {1,4,5} alone is not enough.
    c.isolate(2n);
    c.isolate(3n);
    c.rn(1n).propose(bytes('a'));
    c.stabilize();
    assert.equal(c.rn(1n).status().commit, 2);
    assert.equal(c.rn(1n).status().progress.get(5n)?.match, 3);
    // Nor is the old majority {1,2,3} alone (for 'b'); but with it, 'a' now has both majorities.
    c.recover();
    c.isolate(4n);
    c.isolate(5n);
    c.rn(1n).propose(bytes('b'));
    c.stabilize();
    c.tick(2, [1n]);
    assert.equal(c.rn(1n).status().progress.get(2n)?.match, 4);
    assert.equal(c.rn(1n).status().commit, 3);
    assert.deepEqual(c.appliedText(1n), ['a']);
    // Both together commit it.
    c.recover();
    c.tick(2, [1n]);
    assert.deepEqual(c.appliedText(1n), ['a', 'b']);
    // Leave explicitly; afterwards {1,4,5} suffices.
    assert.ok(c.rn(1n).proposeConfChange(leaveJointChange()).ok);
    c.stabilize();
    assert.deepEqual(c.node(1n).confState?.votersOutgoing, []);
    c.isolate(2n);
    c.isolate(3n);
    c.rn(1n).propose(bytes('new-config'));
    c.stabilize();
    assert.ok(c.appliedText(4n).includes('new-config'));
  });

  it('joint consensus with auto-leave: the leader leaves the joint config once it is applied', () => {
    const c = new Cluster([1n, 2n, 3n], { learners: [4n] });
    c.campaign(1n);
    assert.ok(c.rn(1n).proposeConfChange(cc('auto', { type: 'add-node', nodeId: 4n }, { type: 'remove-node', nodeId: 3n })).ok);
    c.stabilize();
    for (const id of [1n, 2n, 4n]) {
      const s = c.node(id).confState;
      assert.deepEqual(s?.voters, [1n, 2n, 4n], `node ${id}`);
      assert.deepEqual(s?.votersOutgoing, []);
      assert.equal(s?.autoLeave, false);
    }
  });

  it('demoting a voter through a joint config makes it a learner on leaving', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    assert.ok(c.rn(1n).proposeConfChange(cc('implicit', { type: 'add-learner', nodeId: 3n })).ok);
    c.stabilize();
    const s = c.node(1n).confState;
    assert.deepEqual(s?.voters, [1n, 2n]);
    assert.deepEqual(s?.learners, [3n]);
  });

  it('a removed leader steps down and the remaining voters elect a new one', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    assert.ok(c.rn(1n).proposeConfChange(cc('auto', { type: 'remove-node', nodeId: 1n })).ok);
    c.stabilize();
    assert.notEqual(c.rn(1n).status().role, 'leader');
    c.tick(30, [2n, 3n]);
    const l = c.leader();
    assert.ok(l === 2n || l === 3n);
    c.rn(l).propose(bytes('after'));
    c.stabilize();
    assert.ok(c.appliedText(2n).includes('after'));
    assert.ok(!c.appliedText(1n).includes('after'));
  });
});
