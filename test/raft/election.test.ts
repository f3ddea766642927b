import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage, RawNode } from '../../pkg/raft/index.js';
import { Cluster, seededRand } from './network.js';

describe('leader election (Raft §5.2)', () => {
  it('election safety: one leader is elected and all nodes agree on it and its term', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    assert.deepEqual(c.leaders(), [1n]);
    for (const id of [1n, 2n, 3n]) {
      const s = c.rn(id).status();
      assert.equal(s.lead, 1n);
      assert.equal(s.term, 1);
    }
  });

  it('election safety: at most one leader per term over many seeds with ticks only', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new Cluster([1n, 2n, 3n, 4n, 5n], { seed });
      const leadersByTerm = new Map<number, Set<bigint>>();
      for (let t = 0; t < 60; t++) {
        c.tick(1);
        for (const [id, n] of c.nodes) {
          const s = n.rn.status();
          if (s.role !== 'leader') continue;
          const set = leadersByTerm.get(s.term) ?? new Set();
          set.add(id);
          leadersByTerm.set(s.term, set);
        }
      }
      assert.ok(leadersByTerm.size > 0, `seed ${seed}: a leader was elected`);
      for (const [term, set] of leadersByTerm) assert.equal(set.size, 1, `seed ${seed} term ${term}: ${[...set]}`);
    }
  });

  it('a candidate without a majority does not become leader', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.isolate(1n);
    c.campaign(1n);
    assert.equal(c.rn(1n).status().role, 'candidate');
    assert.deepEqual(c.leaders(), []);
  });

  it('randomized election timeout: a follower campaigns within [electionTick, 2*electionTick) ticks', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rn = new RawNode({ id: 1n, storage: new MemoryStorage({ voters: [1n, 2n] }), electionTick: 10, heartbeatTick: 1, rand: seededRand(seed) });
      let ticks = 0;
      while (rn.status().role === 'follower' && ticks < 100) {
        rn.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `seed ${seed}: campaigned after ${ticks} ticks`);
    }
  });

  it('§5.4.1 election restriction: a node with a less up-to-date log cannot win', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.cut(1n, 3n);
    c.rn(1n).propose(new TextEncoder().encode('x'));
    c.stabilize();
    // 1 and 2 have entry 2; 3 does not.
    c.isolate(1n);
    c.campaign(3n);
    assert.notEqual(c.rn(3n).status().role, 'leader');
    c.campaign(2n);
    assert.equal(c.rn(2n).status().role, 'leader');
  });

  it('a single-node cluster elects itself, but its own vote counts only once persisted', () => {
    const storage = new MemoryStorage({ voters: [1n] });
    const rn = new RawNode({ id: 1n, storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(1) });
    rn.campaign();
    assert.equal(rn.status().role, 'candidate');
    const rd = rn.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 1n, commit: 0 });
    assert.equal(rd.mustSync, true);
    storage.setHardState(rd.hardState!);
    rn.advance();
    assert.equal(rn.status().role, 'leader');
  });

  it('learners do not vote and never campaign', () => {
    const c = new Cluster([1n, 2n], { learners: [3n] });
    c.tick(50, [3n]);
    assert.equal(c.rn(3n).status().role, 'follower');
    assert.equal(c.rn(3n).status().term, 0);
    c.campaign(3n);
    assert.equal(c.rn(3n).status().term, 0);
    // A candidate does not ask the learner, and learner answers are not counted.
    c.campaign(1n);
    assert.equal(c.leader(), 1n);
    assert.ok(!c.sent.some((m) => m.type === 'vote' && m.to === 3n));
  });
});

describe('pre-vote (thesis §9.6)', () => {
  it('a partitioned node does not inflate its term and does not disrupt the leader on rejoining', () => {
    const c = new Cluster([1n, 2n, 3n], { preVote: true });
    c.campaign(1n);
    const term = c.rn(1n).status().term;
    c.isolate(3n);
    c.tick(100, [3n]);
    assert.equal(c.rn(3n).status().term, term, 'pre-vote failed, term unchanged');
    assert.equal(c.rn(3n).status().role, 'pre-candidate');
    c.recover();
    c.tick(30);
    assert.equal(c.leader(), 1n);
    assert.equal(c.rn(1n).status().term, term);
    assert.equal(c.rn(3n).status().lead, 1n);
  });

  it('without pre-vote the rejoining node forces a new election (the disruption pre-vote prevents)', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    const term = c.rn(1n).status().term;
    c.isolate(3n);
    c.tick(100, [3n]);
    assert.ok(c.rn(3n).status().term > term);
    c.recover();
    c.tick(30);
    assert.ok(c.rn(1n).status().term > term, 'the old leader was deposed');
  });

  it('a pre-vote succeeds when a quorum has lost the leader', () => {
    const c = new Cluster([1n, 2n, 3n], { preVote: true });
    c.campaign(1n);
    c.isolate(1n);
    c.tick(30, [2n, 3n]);
    const l = c.leader();
    assert.ok(l === 2n || l === 3n);
    assert.equal(c.rn(l).status().term, 2);
  });
});

describe('check-quorum and the vote lease (thesis §4.2.3, §6.2)', () => {
  it('a leader that stops hearing from a quorum steps down within an election timeout', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true });
    c.campaign(1n);
    c.isolate(1n);
    c.tick(21, [1n]);
    assert.equal(c.rn(1n).status().role, 'follower');
  });

  it('a leader that hears from a quorum stays leader', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true });
    c.campaign(1n);
    c.cut(1n, 3n);
    c.tick(50, [1n]);
    assert.equal(c.rn(1n).status().role, 'leader');
  });

  it('vote lease: followers that hear from the leader ignore a higher-term vote request', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true });
    c.campaign(1n);
    c.campaign(3n);
    assert.equal(c.leader(), 1n);
    assert.equal(c.rn(2n).status().term, 1, 'follower 2 ignored the request and kept its term');
    assert.ok(!c.sent.some((m) => m.type === 'vote-resp' && m.from === 2n && m.to === 3n));
  });

  it('the lease expires: once no leader is heard for an election timeout, votes are granted', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true });
    c.campaign(1n);
    c.isolate(1n);
    c.tick(25, [2n, 3n]);
    const l = c.leader();
    assert.ok(l === 2n || l === 3n, `new leader elected, got ${l}`);
  });

  it('a stale leader learns the new term from the answers to its heartbeats and steps down', () => {
    const c = new Cluster([1n, 2n, 3n], { checkQuorum: true, preVote: true });
    c.campaign(1n);
    c.isolate(1n);
    c.tick(25, [2n, 3n]);
    const l = c.leader()!;
    assert.notEqual(l, 1n);
    c.recover();
    c.rn(1n).tick();
    c.stabilize();
    assert.equal(c.rn(1n).status().role, 'follower');
    c.tick(1, [l]);
    assert.equal(c.rn(1n).status().lead, l);
  });
});
