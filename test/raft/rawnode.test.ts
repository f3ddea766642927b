import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry, Message } from '../../pkg/raft/index.js';
import { EntryType, MemoryStorage, RawNode, newMessage } from '../../pkg/raft/index.js';
import { Cluster, bytes, seededRand } from './network.js';

const ent = (index: number, term: number, s: string): Entry => ({ index, term, type: EntryType.Normal, data: bytes(s) });
const app = (fields: Partial<Message>): Message => newMessage({ type: 'app', from: 1n, to: 2n, ...fields });

function follower(): { rn: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage({ voters: [1n, 2n, 3n] });
  return { rn: new RawNode({ id: 2n, storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(2) }), storage };
}

describe('RawNode Ready/advance contract', () => {
  it('one Ready is outstanding at a time: hasReady() is false and ready() throws until advance()', () => {
    const { rn } = follower();
    rn.step(app({ term: 1, entries: [ent(1, 1, 'a')] }));
    assert.equal(rn.hasReady(), true);
    rn.ready();
    rn.step(app({ term: 1, index: 1, logTerm: 1, entries: [ent(2, 1, 'b')] }));
    assert.equal(rn.hasReady(), false);
    assert.throws(() => rn.ready(), /before advance/);
    rn.advance();
    assert.throws(() => rn.advance(), /without an outstanding Ready/);
    const rd = rn.ready();
    assert.deepEqual(rd.entries.map((e) => e.index), [2], 'entries are handed out once');
    rn.advance();
  });

  it('inputs between ready() and advance() are safe, even a truncation of the entries being persisted', () => {
    const { rn, storage } = follower();
    rn.step(app({ term: 1, entries: [ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 1, 'c')] }));
    const rd1 = rn.ready();
    // while rd1 is being written, a new leader of term 2 overwrites entries 2..3
    rn.step(app({ from: 3n, term: 2, index: 1, logTerm: 1, entries: [ent(2, 2, 'B')] }));
    storage.append(rd1.entries);
    if (rd1.hardState) storage.setHardState(rd1.hardState);
    rn.advance();
    const rd2 = rn.ready();
    assert.deepEqual(rd2.entries.map((e) => [e.index, e.term]), [[2, 2]]);
    const acks = (rd: { messagesAfterPersist: readonly Message[] }): unknown[] =>
      rd.messagesAfterPersist.filter((m) => m.type === 'app-resp').map((m) => [m.to, m.term, m.index]);
    assert.deepEqual(acks(rd1), [[1n, 1, 3]], 'the term-1 ack leaves once rd1 is durable');
    assert.deepEqual(acks(rd2), [[3n, 2, 2]]);
    storage.append(rd2.entries);
    rn.advance();
    assert.equal(storage.lastIndex(), 2);
    assert.equal(storage.term(2), 2);
    assert.equal(rn.status().lastIndex, 2);
  });

  it('softState and hardState appear only when changed; mustSync is false for a commit-only change', () => {
    const { rn, storage } = follower();
    rn.step(app({ term: 1, entries: [ent(1, 1, 'a')] }));
    const rd = rn.ready();
    assert.deepEqual(rd.softState, { lead: 1n, role: 'follower' });
    assert.deepEqual(rd.hardState, { term: 1, vote: 0n, commit: 0 });
    storage.append(rd.entries);
    rn.advance();
    rn.step(newMessage({ type: 'heartbeat', from: 1n, to: 2n, term: 1, commit: 1 }));
    const rd2 = rn.ready();
    assert.equal(rd2.softState, undefined);
    assert.deepEqual(rd2.hardState, { term: 1, vote: 0n, commit: 1 });
    assert.equal(rd2.mustSync, false);
    assert.deepEqual(rd2.committedEntries.map((e) => e.index), [1]);
    rn.advance();
    assert.equal(rn.status().applied, 1);
  });

  it('step() refuses local-only kinds and responses from non-members', () => {
    const { rn } = follower();
    assert.equal(rn.step(newMessage({ type: 'hup', from: 2n })).ok, false);
    const r = rn.step(newMessage({ type: 'app-resp', from: 9n, to: 2n, term: 1 }));
    assert.equal(!r.ok && r.reason, 'peer-not-found');
  });

  it('is deterministic: the same seed gives the same message trace', () => {
    const trace = (): string => {
      const c = new Cluster([1n, 2n, 3n], { seed: 42, preVote: true });
      c.tick(40);
      c.rn(c.leader()!).propose(bytes('x'));
      c.stabilize();
      return c.sent.map((m) => `${m.type}:${m.from}>${m.to}@${m.term}/${m.index}`).join(' ');
    };
    assert.equal(trace(), trace());
  });

  it('status() reports role, term, commit and per-peer progress on the leader', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    const s = c.rn(1n).status();
    assert.equal(s.role, 'leader');
    assert.equal(s.commit, 1);
    assert.deepEqual([...s.progress.keys()], [1n, 2n, 3n]);
    assert.equal(s.progress.get(2n)?.state, 'replicate');
    assert.equal(c.rn(2n).status().progress.size, 0);
  });
});

describe('RawNode paging', () => {
  it('committed entries are handed out in Readies of at most maxCommittedSizePerReady bytes', () => {
    const c = new Cluster([1n], { maxCommittedSizePerReady: 1000 });
    c.campaign(1n);
    const rn = c.rn(1n);
    const storage = c.node(1n).storage;
    for (let i = 0; i < 10; i++) rn.propose(new Uint8Array(300));
    // a sole replica's entries are committed as appended: the first page comes with the append
    const rd = rn.ready();
    storage.append(rd.entries);
    rn.advance();
    const sizes: number[] = [rd.committedEntries.length];
    for (let i = 0; i < 20 && rn.hasReady(); i++) {
      const r = rn.ready();
      storage.append(r.entries);
      if (r.hardState) storage.setHardState(r.hardState);
      sizes.push(r.committedEntries.length);
      rn.advance();
    }
    assert.equal(sizes.reduce((a, b) => a + b, 0), 10);
    assert.ok(Math.max(...sizes) <= 3, `pages of ${sizes}`);
  });
});

describe('restart with a persisted commit index that trails the applied index', () => {
  // pkg/server/raft-node.ts does not write a Ready whose only change is the commit index, so the WAL's
  // commit may be behind what the state machine applied (and behind the log's snapshot).
  const restarted = (hs: { term: number; vote: bigint; commit: number }, applied: number, last: number, snapshotIndex = 0): RawNode => {
    const storage = new MemoryStorage({ voters: [1n, 2n, 3n] });
    if (snapshotIndex > 0) {
      storage.applySnapshot({
        metadata: { index: snapshotIndex, term: 1, confState: { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
        data: new Uint8Array(0),
      });
    }
    const ents: Entry[] = [];
    for (let i = snapshotIndex + 1; i <= last; i++) ents.push(ent(i, 1, `e${i}`));
    storage.append(ents);
    storage.setHardState(hs);
    return new RawNode({ id: 2n, storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(2), applied });
  };

  it('starts the commit index at the applied index, and applies from there on', () => {
    const rn = restarted({ term: 1, vote: 0n, commit: 3 }, 5, 8);
    assert.equal(rn.status().commit, 5);
    assert.equal(rn.status().applied, 5);
    assert.equal(rn.hasReady(), false, 'entries 4..5 are not handed out to be applied again');
    rn.step(newMessage({ type: 'heartbeat', from: 1n, to: 2n, term: 1, commit: 7 }));
    assert.deepEqual(rn.ready().committedEntries.map((e) => e.index), [6, 7]);
  });

  it('a persisted commit below the snapshot index starts at the snapshot index', () => {
    const rn = restarted({ term: 1, vote: 0n, commit: 2 }, 4, 6, 4);
    assert.equal(rn.status().commit, 4);
  });

  it('refuses an applied index beyond the log, and a persisted commit beyond the log', () => {
    assert.throws(() => restarted({ term: 1, vote: 0n, commit: 3 }, 9, 8), /applied 9 is beyond the last log index 8/);
    assert.throws(() => restarted({ term: 1, vote: 0n, commit: 9 }, 3, 8), /persisted commit 9 is beyond the last log index 8/);
  });
});
