import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage, RawNode } from '../../pkg/raft/index.js';
import { Cluster, bytes, seededRand, text } from './network.js';

describe('ReadIndex (thesis §6.4)', () => {
  it('a read on the leader returns the commit index after a heartbeat quorum', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.rn(1n).propose(bytes('a'));
    c.stabilize();
    assert.ok(c.rn(1n).readIndex(bytes('r1')).ok);
    c.stabilize();
    const rs = c.node(1n).readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]?.index, 2);
    assert.equal(text(rs[0]!.requestCtx), 'r1');
  });

  it('is safe right after election: waits until an entry of the new term commits', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.dropIf = (m) => m.type === 'app-resp';
    c.campaign(2n); // node 2 wins term 2 but its no-op is not yet committed
    assert.equal(c.leader(), 2n);
    c.rn(2n).readIndex(bytes('early'));
    c.stabilize();
    assert.equal(c.node(2n).readStates.length, 0, 'no read state before a current-term commit');
    c.recover();
    c.tick(1, [2n]);
    const rs = c.node(2n).readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]?.index, c.rn(2n).status().commit);
  });

  it('batches: several requests are confirmed by one heartbeat round', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.dropIf = (m) => m.type === 'heartbeat-resp';
    for (let i = 0; i < 5; i++) c.rn(1n).readIndex(bytes(`r${i}`));
    c.stabilize();
    assert.equal(c.node(1n).readStates.length, 0);
    c.recover();
    const before = c.sent.length;
    c.tick(1, [1n]);
    assert.equal(c.node(1n).readStates.length, 5);
    const hbs = c.sent.slice(before).filter((m) => m.type === 'heartbeat');
    assert.equal(hbs.length, 2, 'one heartbeat per follower confirmed all five');
  });

  it('a follower forwards the read to the leader and gets the read state back', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.rn(1n).propose(bytes('a'));
    c.stabilize();
    assert.ok(c.rn(3n).readIndex(bytes('f')).ok);
    c.stabilize();
    const rs = c.node(3n).readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]?.index, 2);
  });

  it('a read without a known leader is dropped with an error value', () => {
    const c = new Cluster([1n, 2n, 3n]);
    const r = c.rn(1n).readIndex(bytes('x'));
    assert.equal(!r.ok && r.reason, 'read-dropped');
  });

  it('a partitioned leader cannot confirm a read (no stale reads)', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(1n);
    c.rn(1n).readIndex(bytes('stale?'));
    c.tick(5, [1n]);
    assert.equal(c.node(1n).readStates.length, 0);
  });

  it('lease-based reads answer at once, and require check-quorum', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true, readOnlyOption: 'lease-based' });
    c.campaign(1n);
    c.isolate(1n);
    c.rn(1n).readIndex(bytes('lease'));
    c.stabilize();
    assert.equal(c.node(1n).readStates.length, 1);
    assert.throws(
      () => new RawNode({ id: 1n, storage: new MemoryStorage({ voters: [1n] }), electionTick: 10, heartbeatTick: 1, rand: seededRand(1), readOnlyOption: 'lease-based' }),
      /require checkQuorum/,
    );
  });
});
