import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../pkg/raft/index.js';
import { MemoryStorage, RawNode } from '../../pkg/raft/index.js';
import { Cluster, bytes, seededRand } from './network.js';

/**
 * Raft Figure 8 (c): leader 1 of term 3 holds an entry of term 1 that it replicates to a majority
 * before any entry of term 3 is acknowledged. Counting replicas must not commit it.
 */
function figure8(knobs: { unsafeCommitOldTermByCounting?: boolean }): Cluster {
  const c = new Cluster([1n, 2n, 3n], { maxSizePerMsg: 1, knobs });
  c.campaign(1n); // term 1, index 1 committed everywhere
  c.isolate(1n);
  assert.ok(c.rn(1n).propose(bytes('x')).ok); // index 2, term 1, only on node 1
  c.stabilize();
  c.recover();
  c.cut(1n, 2n);
  c.cut(1n, 3n);
  c.dropIf = (m) => m.type === 'app' && m.from === 2n; // node 2's term-2 entry stays on node 2
  c.campaign(2n);
  assert.equal(c.leader(), 2n);
  assert.equal(c.rn(2n).status().term, 2);
  c.recover();
  c.isolate(2n);
  c.restart(1n); // node 1 crashes and comes back as a follower of term 1, its entry durable
  // Let node 1's term-1 entry reach node 3, but none of its term-3 entries. The first append (a probe
  // that node 3 rejects for lack of entry 2) may pass.
  let probes = 0;
  c.dropIf = (m) => m.type === 'app' && m.entries.some((e) => e.term === 3) && probes++ > 0;
  for (let i = 0; i < 3 && c.rn(1n).status().role !== 'leader'; i++) c.campaign(1n);
  assert.equal(c.rn(1n).status().role, 'leader');
  assert.equal(c.rn(1n).status().term, 3);
  return c;
}

/** Node 1, the only voter of `storage`'s configuration, campaigns and persists until it leads. */
function electedAlone(storage: MemoryStorage): RawNode {
  const rn = new RawNode({ id: 1n, storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(1) });
  rn.campaign();
  for (let i = 0; i < 3 && rn.hasReady(); i++) {
    const rd = rn.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    rn.advance();
  }
  return rn;
}

describe('commitment (Raft §5.3, §5.4.2)', () => {
  it('Figure 8: a leader does not commit an older-term entry by counting replicas', () => {
    const c = figure8({});
    const s = c.rn(1n).status();
    assert.equal(s.progress.get(3n)?.match, 2, 'the term-1 entry is on a majority');
    assert.equal(s.commit, 1, 'but it is not committed');
    // Once an entry of term 3 is replicated, everything up to it commits.
    c.dropIf = () => false;
    c.tick(1, [1n]);
    assert.equal(c.rn(1n).status().commit, 3);
    assert.deepEqual(c.appliedText(3n), ['x']);
  });

  it('Figure 8 mutation: unsafeCommitOldTermByCounting commits it (the knob breaks the rule)', () => {
    const c = figure8({ unsafeCommitOldTermByCounting: true });
    assert.equal(c.rn(1n).status().commit, 2);
  });

  it('replicates proposals to all nodes, which apply them in the same order', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    for (let i = 0; i < 20; i++) assert.ok(c.rn(1n).propose(bytes(`v${i}`)).ok);
    c.stabilize();
    const want = Array.from({ length: 20 }, (_, i) => `v${i}`);
    for (const id of [1n, 2n, 3n]) assert.deepEqual(c.appliedText(id), want);
  });

  it('a follower forwards proposals to the leader', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    assert.ok(c.rn(3n).propose(bytes('from-3')).ok);
    c.stabilize();
    assert.deepEqual(c.appliedText(1n), ['from-3']);
  });

  it('proposals without a leader are dropped with an error value', () => {
    const c = new Cluster([1n, 2n, 3n]);
    const r = c.rn(2n).propose(bytes('x'));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'proposal-dropped');
  });

  it('log matching: a deposed leader\'s uncommitted suffix is truncated and replaced', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(1n);
    for (let i = 0; i < 5; i++) c.rn(1n).propose(bytes(`lost${i}`));
    c.stabilize();
    c.campaign(2n);
    c.rn(2n).propose(bytes('kept'));
    c.stabilize();
    c.recover();
    c.tick(2, [2n]);
    const l2 = c.node(2n).storage;
    const l1 = c.node(1n).storage;
    assert.equal(l1.lastIndex(), l2.lastIndex());
    for (let i = 1; i <= l2.lastIndex(); i++) assert.equal(l1.term(i), l2.term(i), `term at ${i}`);
    assert.deepEqual(c.appliedText(1n), ['kept']);
  });

  it('fast backtracking: a follower with a long divergent tail is repaired in a few round trips', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(1n);
    for (let i = 0; i < 100; i++) c.rn(1n).propose(bytes(`stale${i}`));
    c.stabilize();
    c.campaign(2n);
    for (let i = 0; i < 50; i++) c.rn(2n).propose(bytes(`new${i}`));
    c.stabilize();
    c.recover();
    const before = c.sent.length;
    c.tick(2, [2n]);
    const rejects = c.sent.slice(before).filter((m) => m.type === 'app-resp' && m.reject && m.from === 1n);
    assert.ok(rejects.length <= 3, `took ${rejects.length} rejections`);
    assert.equal(c.appliedText(1n).length, 50);
  });
});

describe('flow control', () => {
  it('the inflight window bounds unacknowledged append messages per follower', () => {
    const c = new Cluster([1n, 2n], { maxInflightMsgs: 3, maxSizePerMsg: 1 });
    c.campaign(1n);
    c.dropIf = (m) => m.type === 'app-resp';
    const before = c.sent.length;
    for (let i = 0; i < 20; i++) c.rn(1n).propose(bytes(`p${i}`));
    c.stabilize();
    const apps = c.sent.slice(before).filter((m) => m.type === 'app' && m.to === 2n);
    assert.equal(apps.length, 3);
    assert.equal(c.rn(1n).status().progress.get(2n)?.paused, true);
  });

  it('the inflight window is also bounded by bytes', () => {
    const c = new Cluster([1n, 2n], { maxInflightMsgs: 100, maxInflightBytes: 250, maxSizePerMsg: 1 });
    c.campaign(1n);
    c.dropIf = (m) => m.type === 'app-resp';
    const before = c.sent.length;
    for (let i = 0; i < 20; i++) c.rn(1n).propose(new Uint8Array(100));
    c.stabilize();
    const apps = c.sent.slice(before).filter((m) => m.type === 'app' && m.to === 2n);
    assert.equal(apps.length, 3);
  });

  it('an append message carries at most maxSizePerMsg bytes (but at least one entry)', () => {
    const c = new Cluster([1n, 2n], { maxSizePerMsg: 300 });
    c.campaign(1n);
    c.cut(1n, 2n);
    for (let i = 0; i < 10; i++) c.rn(1n).propose(new Uint8Array(100));
    c.stabilize();
    c.recover();
    const before = c.sent.length;
    c.tick(2, [1n]);
    const apps = c.sent.slice(before).filter((m) => m.type === 'app' && m.entries.length > 0);
    assert.ok(apps.length > 1);
    for (const m of apps) assert.ok(m.entries.length <= 2, `${m.entries.length} entries`);
  });

  it('proposals beyond the uncommitted-size cap are dropped with a clear error value', () => {
    const c = new Cluster([1n, 2n, 3n], { maxUncommittedEntriesSize: 1000 });
    c.campaign(1n);
    c.isolate(1n);
    let dropped: unknown;
    for (let i = 0; i < 20; i++) {
      const r = c.rn(1n).propose(new Uint8Array(300));
      if (!r.ok) {
        dropped = r;
        break;
      }
    }
    assert.deepEqual(dropped, { ok: false, reason: 'proposal-dropped', detail: 'uncommitted entries size limit exceeded' });
    // Once the tail commits, proposals are accepted again.
    c.recover();
    c.tick(2, [1n]);
    assert.ok(c.rn(1n).propose(new Uint8Array(300)).ok);
  });

  it('heartbeats never carry a commit index beyond the follower\'s match', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.cut(1n, 3n);
    for (let i = 0; i < 5; i++) c.rn(1n).propose(bytes(`p${i}`));
    c.stabilize();
    c.recover();
    c.dropIf = (m) => m.type === 'app';
    const before = c.sent.length;
    c.tick(1, [1n]);
    const hb = c.sent.slice(before).find((m): m is Message => m.type === 'heartbeat' && m.to === 3n);
    assert.ok(hb !== undefined);
    assert.equal(hb.commit, 1);
    assert.equal(c.rn(1n).status().commit, 6);
  });
});

describe('durability: durable before acknowledged', () => {
  function twoNodes(knobs = {}): { leader: RawNode; follower: RawNode; ls: MemoryStorage; fs: MemoryStorage } {
    const ls = new MemoryStorage({ voters: [1n, 2n] });
    const fs = new MemoryStorage({ voters: [1n, 2n] });
    const mk = (id: bigint, storage: MemoryStorage): RawNode =>
      new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(Number(id)), knobs });
    return { leader: mk(1n, ls), follower: mk(2n, fs), ls, fs };
  }

  it('a follower\'s append response leaves only after the entries of the same Ready are persisted', () => {
    const { follower, fs } = twoNodes();
    const r = follower.step({
      type: 'app', from: 1n, to: 2n, term: 1, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0,
      entries: [{ term: 1, index: 1, type: 0, data: bytes('x') }], context: new Uint8Array(0), snapshot: undefined,
    });
    assert.ok(r.ok);
    const rd = follower.ready();
    assert.equal(rd.entries.length, 1);
    assert.ok(!rd.messages.some((m) => m.type === 'app-resp'));
    assert.equal(rd.messagesAfterPersist.filter((m) => m.type === 'app-resp').length, 1);
    fs.append(rd.entries);
    follower.advance();
  });

  it('vote responses, rejections included, leave only after persisting', () => {
    const { follower } = twoNodes();
    const vote = {
      type: 'vote' as const, from: 1n, to: 2n, term: 1, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0,
      entries: [], context: new Uint8Array(0), snapshot: undefined,
    };
    follower.step(vote);
    const rd = follower.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 1n, commit: 0 });
    assert.equal(rd.messages.length, 0);
    assert.equal(rd.messagesAfterPersist[0]?.type, 'vote-resp');
    follower.advance();
    follower.step({ ...vote, from: 3n });
    const rd2 = follower.ready();
    assert.equal(rd2.messages.length, 0);
    assert.equal(rd2.messagesAfterPersist[0]?.reject, true);
  });

  it('the leader sends appends before its own fsync but counts itself only after advance()', () => {
    // a learner makes the leader not the sole replica: it must see no commit index the leader could lose
    const storage = new MemoryStorage({ voters: [1n], learners: [2n] });
    const rn = electedAlone(storage);
    assert.equal(rn.status().commit, 1);
    rn.propose(bytes('x'));
    const rd = rn.ready();
    assert.equal(rd.entries.length, 1);
    assert.equal(rd.committedEntries.length, 0, 'not committed before the leader persisted it');
    storage.append(rd.entries);
    rn.advance();
    const rd2 = rn.ready();
    assert.equal(rd2.committedEntries.length, 1);
    rn.advance();
  });

  it('a sole replica commits its entries in the Ready that appends them (applied only after persisting them)', () => {
    const storage = new MemoryStorage({ voters: [1n] });
    const rn = electedAlone(storage);
    rn.propose(bytes('x'));
    const rd = rn.ready();
    assert.equal(rd.entries.length, 1);
    assert.deepEqual(rd.committedEntries.map((e) => e.index), rd.entries.map((e) => e.index));
    assert.equal(rd.mustSync, true, 'the append is fsynced before the entry is applied');
    assert.equal(rd.hardState?.commit, rd.entries[0]?.index, 'the commit index travels in the same write');
    storage.append(rd.entries);
    rn.advance();
    assert.equal(rn.hasReady(), false, 'nothing left: one Ready per proposal');
    // a restart after a crash before that write persisted: the entry is simply not there, and no other
    // member ever saw the commit index
  });

  it('appends to followers go out in the immediate list, before the leader persists', () => {
    const c = new Cluster([1n, 2n]);
    c.campaign(1n);
    c.rn(1n).propose(bytes('x'));
    const rd = c.rn(1n).ready();
    assert.ok(rd.messages.some((m) => m.type === 'app' && m.entries.length === 1));
    c.rn(1n).advance();
  });

  it('unsafeAckBeforePersist puts acknowledgements in the immediate list (mutation for the simulation)', () => {
    const { follower } = twoNodes({ unsafeAckBeforePersist: true });
    follower.step({
      type: 'app', from: 1n, to: 2n, term: 1, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0,
      entries: [{ term: 1, index: 1, type: 0, data: bytes('x') }], context: new Uint8Array(0), snapshot: undefined,
    });
    const rd = follower.ready();
    assert.ok(rd.messages.some((m) => m.type === 'app-resp'));
  });

  it('a restarted node keeps its term, vote and log', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.rn(1n).propose(bytes('a'));
    c.stabilize();
    c.restart(2n);
    const s = c.rn(2n).status();
    assert.equal(s.term, 1);
    assert.equal(s.vote, 1n);
    assert.equal(s.commit, 2);
    c.rn(1n).propose(bytes('b'));
    c.stabilize();
    assert.deepEqual(c.appliedText(2n), ['a', 'b']);
  });
});
