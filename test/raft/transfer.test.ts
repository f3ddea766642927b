import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, bytes } from './network.js';

describe('leadership transfer (thesis §3.10)', () => {
  it('transfers to an up-to-date follower at once', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.rn(1n).transferLeader(2n);
    c.stabilize();
    assert.equal(c.leader(), 2n);
    assert.equal(c.rn(1n).status().lead, 2n);
    assert.equal(c.rn(2n).status().term, 2);
  });

  it('catches a lagging target up first, then sends TimeoutNow', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.cut(1n, 3n);
    for (let i = 0; i < 5; i++) c.rn(1n).propose(bytes(`p${i}`));
    c.stabilize();
    c.recover();
    c.rn(1n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.leader(), 3n);
    assert.equal(c.appliedText(3n).length, 5);
    assert.ok(c.sent.some((m) => m.type === 'timeout-now' && m.to === 3n));
  });

  it('drops proposals while a transfer is in progress', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(3n);
    c.rn(1n).transferLeader(3n);
    c.stabilize();
    const r = c.rn(1n).propose(bytes('x'));
    assert.deepEqual(r, { ok: false, reason: 'proposal-dropped', detail: 'leadership transfer in progress' });
  });

  it('aborts the transfer after an election timeout', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(3n);
    c.rn(1n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.rn(1n).status().leadTransferee, 3n);
    c.tick(10, [1n]);
    assert.equal(c.rn(1n).status().leadTransferee, 0n);
    assert.ok(c.rn(1n).propose(bytes('x')).ok);
  });

  it('a follower forwards the transfer request to the leader', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.rn(3n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.leader(), 3n);
  });

  it('the transfer election bypasses the vote lease of check-quorum', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true, preVote: true });
    c.campaign(1n);
    c.rn(1n).transferLeader(2n);
    c.stabilize();
    assert.equal(c.leader(), 2n);
  });

  it('a learner cannot become the transfer target', () => {
    const c = new Cluster([1n, 2n], { learners: [3n] });
    c.campaign(1n);
    c.rn(1n).transferLeader(3n);
    c.stabilize();
    assert.equal(c.leader(), 1n);
    assert.equal(c.rn(1n).status().leadTransferee, 0n);
  });
});
