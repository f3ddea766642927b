/**
 * RaftNode.exclusive: the callback runs between two Readies — never while entries are being applied
 * — and at that moment the state machine is exactly at raft's applied index. This is what the raft
 * snapshot sender relies on to take a consistent cursor (docs/snapshots.md).
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Engine } from '../../pkg/storage/engine/index.js';
import { Wal } from '../../pkg/storage/wal/index.js';
import { RaftNode, type StateMachine } from '../../pkg/server/raft-node.js';
import type { Entry } from '../../pkg/raft/index.js';
import pino from 'pino';
import { tempDir } from '../storage/engine/helpers.js';

const t = tempDir('raft-node-exclusive');
after(() => t.remove());

it('exclusive() runs only between Readies, with the state machine at raft applied index', async (t2) => {
  const engine = await Engine.open(join(t.dir, 'db'));
  const wal = await Wal.open(engine);
  await wal.save({
    snapshot: { metadata: { index: 1, term: 1, confState: { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array(0) },
    hardState: { term: 1, vote: 0n, commit: 1 },
  });
  let applying = false;
  let applied = 1;
  let started: (() => void) | undefined;
  const sm: StateMachine = {
    async apply(entries: readonly Entry[]) {
      applying = true;
      started?.();
      for (const e of entries) {
        await yieldToLoop(); // an apply spans several event-loop turns, like a real engine write
        applied = e.index;
      }
      applying = false;
    },
    installSnapshot: () => Promise.resolve(),
  };
  let fatal: unknown;
  const node = new RaftNode({
    raft: { id: 1n, electionTick: 10, heartbeatTick: 1, rand: (n) => Math.floor(n / 2), applied: 1, checkQuorum: true, preVote: true },
    wal,
    transport: { send: () => {} },
    stateMachine: sm,
    tickMs: 10,
    logger: pino({ level: 'silent' }),
    onFatal: (err) => (fatal = err),
  });
  node.start();
  t2.after(async () => {
    await node.stop();
    await wal.close();
    await engine.close();
  });
  node.campaign();
  for (let i = 0; i < 1000 && node.status().role !== 'leader'; i++) await yieldToLoop();
  assert.equal(node.status().role, 'leader');
  const observations: { applying: boolean; applied: number; raftApplied: number }[] = [];
  for (let round = 0; round < 50; round++) {
    // Ask for the hold while the loop is in the middle of applying.
    const applyStarted = new Promise<void>((r) => (started = r));
    for (let i = 0; i < 5; i++) assert.equal(node.propose(Buffer.from(`p${round}-${i}`)).ok, true);
    await applyStarted;
    assert.equal(applying, true, 'caught the loop applying');
    const seen = await node.exclusive(() => ({ applying, applied, raftApplied: node.status().applied }));
    observations.push(seen);
    // Proposals made while held are kept and applied once released.
    await node.exclusive(async () => {
      node.propose(Buffer.from(`held-${round}`));
      await yieldToLoop();
      assert.equal(applying, false, 'the loop does not run while held');
    });
  }
  assert.ok(observations.filter((o) => o.raftApplied > 1).length > 40, 'the node was applying entries throughout');
  for (const o of observations) {
    assert.equal(o.applying, false);
    assert.equal(o.applied >= o.raftApplied || o.raftApplied === 1, true);
    if (o.raftApplied > 1) assert.equal(o.applied, o.raftApplied, 'state exactly at raft applied index');
  }
  // Everything proposed gets applied eventually (the loop restarts after each hold).
  const last = node.status().lastIndex;
  for (let i = 0; i < 500 && applied < last; i++) await new Promise((r) => setTimeout(r, 10)); // bounded poll of a condition
  assert.equal(applied, last);
  assert.equal(fatal, undefined);
});
