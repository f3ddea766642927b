/** A RaftNode for one voter (id 1) on a real Wal, started and elected; for the raft-node-*.test.ts files. */
import assert from 'node:assert/strict';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import pino from 'pino';
import type { Wal } from '../../pkg/storage/wal/index.js';
import { RaftNode, type StateMachine, type Transport } from '../../pkg/server/raft-node.js';

export async function startSoleLeader(o: {
  readonly wal: Wal;
  readonly stateMachine: StateMachine;
  readonly applied: number;
  /** Default: drops everything (no other member answers). */
  readonly transport?: Transport;
}): Promise<{ readonly node: RaftNode; readonly fatal: () => unknown }> {
  let fatal: unknown;
  const node = new RaftNode({
    raft: { id: 1n, electionTick: 10, heartbeatTick: 1, rand: (n) => Math.floor(n / 2), applied: o.applied, checkQuorum: false, preVote: true },
    wal: o.wal,
    transport: o.transport ?? { send: () => {} },
    stateMachine: o.stateMachine,
    tickMs: 10,
    logger: pino({ level: 'silent' }),
    onFatal: (err) => (fatal = err),
  });
  node.start();
  node.campaign();
  for (let i = 0; i < 1000 && node.status().role !== 'leader'; i++) await yieldToLoop();
  assert.equal(node.status().role, 'leader');
  return { node, fatal: () => fatal };
}
