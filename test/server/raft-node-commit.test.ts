/**
 * RaftNode does not write a Ready whose only change is the commit index (raft's mustSync false): the
 * commit index reaches the WAL with the next entries, and a restart starts it at the durable applied
 * index. A voter with a learner that never answers gets such a Ready for every proposal (the commit
 * follows its own fsync, one Ready later).
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine } from '../../pkg/storage/engine/index.js';
import { Wal, type WalUpdate } from '../../pkg/storage/wal/index.js';
import type { RaftNode, StateMachine } from '../../pkg/server/raft-node.js';
import { startSoleLeader } from './raft-node-helpers.js';
import type { Entry } from '../../pkg/raft/index.js';
import { tempDir } from '../storage/engine/helpers.js';

const t = tempDir('raft-node-commit');
after(() => t.remove());

const CONF = { voters: [1n], learners: [2n], votersOutgoing: [], learnersNext: [], autoLeave: false };

interface Run {
  readonly node: RaftNode;
  readonly saves: WalUpdate[];
  readonly applied: () => number;
  readonly whenApplied: (index: number) => Promise<void>;
  readonly stop: () => Promise<void>;
}

async function startNode(engine: Engine, applied: number): Promise<Run> {
  const wal = await Wal.open(engine);
  const saves: WalUpdate[] = [];
  const save = wal.save.bind(wal);
  wal.save = (u: WalUpdate) => {
    saves.push(u);
    return save(u);
  };
  let last = applied;
  const waiters: { index: number; resolve: () => void }[] = [];
  const sm: StateMachine = {
    apply(entries: readonly Entry[]) {
      last = (entries[entries.length - 1] as Entry).index;
      for (const w of waiters.splice(0)) if (w.index <= last) w.resolve(); else waiters.push(w);
      return Promise.resolve();
    },
    installSnapshot: () => Promise.resolve(),
  };
  // The learner never answers.
  const { node, fatal } = await startSoleLeader({ wal, stateMachine: sm, applied });
  return {
    node,
    saves,
    applied: () => last,
    whenApplied: (index) => (index <= last ? Promise.resolve() : new Promise((resolve) => waiters.push({ index, resolve }))),
    stop: async () => {
      await node.stop();
      await wal.close();
      assert.equal(fatal(), undefined);
    },
  };
}

it('commit-only Readies write nothing; a restart starts from the applied index and goes on', async () => {
  const engine = await Engine.open(join(t.dir, 'db'));
  try {
    const wal = await Wal.open(engine);
    await wal.save({ snapshot: { metadata: { index: 1, term: 1, confState: CONF }, data: new Uint8Array(0) }, hardState: { term: 1, vote: 0n, commit: 1 } });
    await wal.close();

    const first = await startNode(engine, 1);
    for (let i = 0; i < 20; i++) {
      const idx = first.node.status().lastIndex + 1;
      assert.equal(first.node.propose(Buffer.from(`p${i}`)).ok, true);
      await first.whenApplied(idx);
    }
    const appliedBefore = first.applied();
    assert.ok(appliedBefore >= 21, `applied ${appliedBefore}`);
    assert.ok(first.saves.length > 0);
    let prev = { term: 1, vote: 0n };
    for (const u of first.saves) {
      assert.equal(u.sync, true, 'every WAL write is a synced one');
      const hs = u.hardState;
      const voted = hs !== undefined && (hs.term !== prev.term || hs.vote !== prev.vote);
      assert.ok((u.entries?.length ?? 0) > 0 || voted || u.snapshot !== undefined, 'no write for a commit-only Ready');
      if (hs !== undefined) prev = hs;
    }
    assert.ok(first.saves.length <= 22, `${first.saves.length} writes for 20 proposals and an election`);
    await first.stop();

    const persisted = (await Wal.open(engine)).initialState().hardState.commit;
    assert.ok(persisted < appliedBefore, `the WAL's commit (${persisted}) trails what was applied (${appliedBefore})`);

    const second = await startNode(engine, appliedBefore);
    assert.ok(second.node.status().commit >= appliedBefore);
    const idx = second.node.status().lastIndex + 1;
    assert.equal(second.node.propose(Buffer.from('after restart')).ok, true);
    await second.whenApplied(idx);
    assert.equal(second.applied(), idx);
    await second.stop();
  } finally {
    await engine.close();
  }
});
