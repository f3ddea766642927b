/**
 * RaftNode writes a Ready's log batch and its apply batch as ONE engine write when nothing has to
 * leave between persisting and applying (here a sole voter, whose entries commit as they are
 * persisted), through StateMachine.applyJoined; without applyJoined it writes the log, then applies.
 * Either way the entries are durable once applied.
 */
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine, Keyspace, put, type BatchOp } from '../../pkg/storage/engine/index.js';
import { Wal } from '../../pkg/storage/wal/index.js';
import type { RaftNode, StateMachine } from '../../pkg/server/raft-node.js';
import { startSoleLeader } from './raft-node-helpers.js';
import type { Entry } from '../../pkg/raft/index.js';
import { tempDir } from '../storage/engine/helpers.js';

const t = tempDir('raft-node-joined');
after(() => t.remove());

const CONF = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** A state machine that writes one key per applied entry: `joined` picks applyJoined or apply. */
function stateMachine(engine: Engine, mode: 'joined' | 'separate' | 'joined-forgets-log') {
  let last = 0;
  const waiters: { index: number; resolve: () => void }[] = [];
  const effects = (entries: readonly Entry[]): BatchOp[] =>
    entries.filter((e) => e.data.byteLength > 0).map((e) => put(Uint8Array.of(Keyspace.Meta, 0x7e, e.index & 0xff), e.data));
  const done = (entries: readonly Entry[]): void => {
    last = (entries[entries.length - 1] as Entry).index;
    for (const w of waiters.splice(0)) if (w.index <= last) w.resolve(); else waiters.push(w);
  };
  const sm: StateMachine = {
    async apply(entries) {
      const ops = effects(entries);
      if (ops.length > 0) await engine.write(ops);
      done(entries);
    },
    installSnapshot: () => Promise.resolve(),
    ...(mode === 'separate'
      ? {}
      : {
          async applyJoined(entries: readonly Entry[], _node: RaftNode, logWrite: (ops: readonly BatchOp[]) => Promise<void>) {
            if (mode === 'joined') await logWrite(effects(entries));
            done(entries);
          },
        }),
  };
  return { sm, applied: () => last, whenApplied: (i: number) => (i <= last ? Promise.resolve() : new Promise<void>((r) => waiters.push({ index: i, resolve: r }))) };
}

async function run(mode: 'joined' | 'separate' | 'joined-forgets-log'): Promise<{ writes: { ops: number; sync: boolean }[]; lastIndex: number; effects: number }> {
  const dir = join(t.dir, mode);
  let engine = await Engine.open(dir);
  const bootstrap = await Wal.open(engine);
  await bootstrap.save({ snapshot: { metadata: { index: 1, term: 1, confState: CONF }, data: new Uint8Array(0) }, hardState: { term: 1, vote: 0n, commit: 1 } });
  await bootstrap.close();
  const writes: { ops: number; sync: boolean }[] = [];
  const write = engine.write.bind(engine);
  engine.write = (ops, opts) => {
    writes.push({ ops: ops.length, sync: opts?.sync === true });
    return write(ops, opts);
  };
  const wal = await Wal.open(engine);
  const s = stateMachine(engine, mode);
  const { node, fatal } = await startSoleLeader({ wal, stateMachine: s.sm, applied: 1 });
  await s.whenApplied(node.status().lastIndex);
  writes.length = 0;
  for (let i = 0; i < 10; i++) {
    const idx = node.status().lastIndex + 1;
    assert.equal(node.propose(Buffer.from(`p${i}`)).ok, true);
    await s.whenApplied(idx);
  }
  await node.stop();
  await wal.close();
  assert.equal(fatal(), undefined);
  // Reopen: the log holds every proposal, and the effects are there.
  await engine.close();
  engine = await Engine.open(dir);
  const reopened = await Wal.open(engine);
  const lastIndex = reopened.lastIndex();
  let effects = 0;
  for await (const chunk of engine.iterateChunks({ gte: Uint8Array.of(Keyspace.Meta, 0x7e), lt: Uint8Array.of(Keyspace.Meta, 0x7f), values: false })) effects += chunk.length;
  await reopened.close();
  await engine.close();
  return { writes, lastIndex, effects };
}

it('a sole voter writes each proposal once: log entry and apply effects in one synced batch', async () => {
  const r = await run('joined');
  assert.equal(r.writes.length, 10, JSON.stringify(r.writes));
  for (const w of r.writes) {
    assert.equal(w.sync, true);
    assert.ok(w.ops >= 3, `entry + hard state + effect in one batch, got ${w.ops} ops`);
  }
  assert.ok(r.lastIndex >= 12);
  assert.equal(r.effects, 10);
});

it('a state machine without applyJoined gets the log written first, then applies with its own write', async () => {
  const r = await run('separate');
  assert.equal(r.writes.length, 20, JSON.stringify(r.writes));
  assert.deepEqual(
    r.writes.map((w) => w.sync),
    Array.from({ length: 20 }, (_, i) => i % 2 === 0),
  );
  assert.equal(r.effects, 10);
});

it('a log batch the state machine did not write is written by the node before the Ready ends', async () => {
  const r = await run('joined-forgets-log');
  assert.equal(r.writes.length, 10);
  assert.ok(r.lastIndex >= 12, `log holds the proposals (last index ${r.lastIndex})`);
  assert.equal(r.effects, 0);
});
