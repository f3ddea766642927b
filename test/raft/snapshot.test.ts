import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryType, MemoryStorage, StorageError } from '../../pkg/raft/index.js';
import { Cluster, bytes } from './network.js';

describe('snapshots (Raft §7)', () => {
  it('a follower behind the compacted log is caught up by a snapshot, then by entries', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(3n);
    for (let i = 0; i < 10; i++) c.rn(1n).propose(bytes(`p${i}`));
    c.stabilize();
    const ls = c.node(1n).storage;
    const applied = c.node(1n).appliedIndex;
    assert.equal(ls.createSnapshot(applied, { data: bytes('state@' + applied) }), 'ok');
    assert.equal(ls.compact(applied), 'ok');
    c.recover();
    c.tick(2, [1n]);
    const n3 = c.node(3n);
    assert.equal(n3.snapshotsInstalled.length, 1);
    assert.equal(n3.snapshotsInstalled[0]?.metadata.index, applied);
    assert.equal(c.rn(1n).status().progress.get(3n)?.state, 'replicate');
    c.rn(1n).propose(bytes('after'));
    c.stabilize();
    assert.deepEqual(c.appliedText(3n), ['after']);
    assert.equal(c.rn(3n).status().commit, c.rn(1n).status().commit);
  });

  it('a snapshot that fails to send leaves the follower probing; reportSnapshot(ok) resumes replication', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    c.isolate(3n);
    for (let i = 0; i < 3; i++) c.rn(1n).propose(bytes(`p${i}`));
    c.stabilize();
    const ls = c.node(1n).storage;
    ls.createSnapshot(c.node(1n).appliedIndex);
    ls.compact(c.node(1n).appliedIndex);
    c.recover();
    c.rn(1n).tick();
    // Pump until the leader has put a snapshot for node 3 on the wire, but do not deliver it.
    for (let i = 0; i < 50 && !c.queue.some((m) => m.type === 'snap'); i++) {
      for (const id of [1n, 2n, 3n]) c.processReady(id);
      if (!c.queue.some((m) => m.type === 'snap')) c.deliverOne();
    }
    assert.ok(c.queue.some((m) => m.type === 'snap' && m.to === 3n), 'a snapshot is in flight');
    assert.equal(c.rn(1n).status().progress.get(3n)?.state, 'snapshot');
    assert.equal(c.rn(1n).status().progress.get(3n)?.paused, true, 'nothing else is sent meanwhile');
    const snap = c.queue.splice(c.queue.findIndex((m) => m.type === 'snap'), 1)[0]!;
    c.drop(snap); // the transport reports the failure: reportSnapshot(3, false)
    assert.equal(c.rn(1n).status().progress.get(3n)?.state, 'probe');
    c.tick(3, [1n]);
    assert.equal(c.node(3n).snapshotsInstalled.length, 1);
    assert.equal(c.rn(1n).status().progress.get(3n)?.state, 'replicate');
  });

  it('reportUnreachable moves a replicating follower back to probe', () => {
    const c = new Cluster([1n, 2n]);
    c.campaign(1n);
    c.rn(1n).propose(bytes('x'));
    c.stabilize();
    assert.equal(c.rn(1n).status().progress.get(2n)?.state, 'replicate');
    c.rn(1n).reportUnreachable(2n);
    assert.equal(c.rn(1n).status().progress.get(2n)?.state, 'probe');
  });

  it('with periodic compaction a lagging follower still converges', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.compactEvery = 5;
    c.campaign(1n);
    c.isolate(2n);
    for (let i = 0; i < 40; i++) {
      c.rn(1n).propose(bytes(`p${i}`));
      c.stabilize();
    }
    c.recover();
    c.tick(3, [1n]);
    assert.equal(c.rn(2n).status().commit, c.rn(1n).status().commit);
    assert.equal(c.node(2n).storage.lastIndex(), c.node(1n).storage.lastIndex());
  });

  it('a restarted node resumes from its snapshot and log', () => {
    const c = new Cluster([1n, 2n, 3n]);
    c.campaign(1n);
    for (let i = 0; i < 5; i++) c.rn(1n).propose(bytes(`p${i}`));
    c.stabilize();
    const n2 = c.node(2n);
    n2.storage.createSnapshot(4);
    n2.storage.compact(4);
    c.restart(2n);
    assert.equal(c.rn(2n).status().commit, 6);
    c.rn(1n).propose(bytes('q'));
    c.stabilize();
    assert.equal(c.rn(2n).status().commit, 7);
  });
});

describe('MemoryStorage', () => {
  const ent = (index: number, term: number) => ({ index, term, type: EntryType.Normal, data: new Uint8Array(10) });

  it('appends, truncates conflicts, compacts and answers the Storage contract', () => {
    const s = new MemoryStorage({ voters: [1n] });
    s.append([ent(1, 1), ent(2, 1), ent(3, 1)]);
    s.append([ent(3, 2), ent(4, 2)]);
    assert.equal(s.lastIndex(), 4);
    assert.equal(s.term(3), 2);
    assert.equal(s.entries(1, 5, Infinity).length, 4);
    assert.equal(s.entries(1, 5, 40).length, 1, 'size limit keeps at least one entry');
    assert.equal(s.createSnapshot(2), 'ok');
    assert.equal(s.compact(2), 'ok');
    assert.equal(s.firstIndex(), 3);
    assert.equal(s.term(2), 1);
    assert.throws(() => s.term(1), (e: unknown) => e instanceof StorageError && e.kind === 'compacted');
    assert.throws(() => s.entries(2, 3, 100), (e: unknown) => e instanceof StorageError && e.kind === 'compacted');
    assert.throws(() => s.term(9), (e: unknown) => e instanceof StorageError && e.kind === 'unavailable');
    assert.equal(s.compact(2), 'compacted');
    assert.equal(s.createSnapshot(1), 'snapshot-out-of-date');
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 2)]);
    assert.equal(s.lastIndex(), 5);
  });

  it('applySnapshot replaces the log and the conf state', () => {
    const s = new MemoryStorage({ voters: [1n] });
    s.append([ent(1, 1)]);
    const cs = { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    assert.equal(s.applySnapshot({ metadata: { index: 10, term: 3, confState: cs }, data: new Uint8Array() }), 'ok');
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 3);
    assert.deepEqual(s.initialState().confState, cs);
  });
});
