/**
 * Throughput of the consensus core alone: committed entries per second through a 3-node in-process
 * cluster over MemoryStorage, no I/O, no serialization. Run: node --import tsx test/raft/bench.ts
 * Optional args: total entries (default 200000), proposals per batch (default 64), payload bytes (default 128).
 */
import type { Message } from '../../pkg/raft/index.js';
import { MemoryStorage, RawNode } from '../../pkg/raft/index.js';
import { seededRand } from './network.js';

const total = Number(process.argv[2] ?? 200_000);
const batch = Number(process.argv[3] ?? 64);
const payload = new Uint8Array(Number(process.argv[4] ?? 128));

const ids = [1n, 2n, 3n];
const rand = seededRand(7);
const nodes = new Map<bigint, { rn: RawNode; storage: MemoryStorage; applied: number }>();
for (const id of ids) {
  const storage = new MemoryStorage({ voters: ids });
  nodes.set(id, { rn: new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rand, maxInflightMsgs: 512 }), storage, applied: 0 });
}
let queue: Message[] = [];

function pump(): void {
  for (let guard = 0; guard < 1_000_000; guard++) {
    let moved = false;
    for (const n of nodes.values()) {
      while (n.rn.hasReady()) {
        moved = true;
        const rd = n.rn.ready();
        n.storage.append(rd.entries);
        if (rd.hardState) n.storage.setHardState(rd.hardState);
        for (const m of rd.messages) queue.push(m);
        for (const m of rd.messagesAfterPersist) queue.push(m);
        n.applied += rd.committedEntries.length;
        const last = rd.committedEntries[rd.committedEntries.length - 1];
        n.rn.advance();
        // keep memory flat: compact everything applied
        const applied = last?.index ?? 0;
        if (applied - n.storage.firstIndex() > 10_000) {
          n.storage.createSnapshot(applied);
          n.storage.compact(applied);
        }
      }
    }
    if (queue.length > 0) {
      moved = true;
      const q = queue;
      queue = [];
      for (const m of q) nodes.get(m.to)?.rn.step(m);
    }
    if (!moved) return;
  }
  throw new Error('did not settle');
}

const leader = nodes.get(1n)!;
leader.rn.campaign();
pump();
if (leader.rn.status().role !== 'leader') throw new Error('no leader');
const base = leader.applied;

const start = performance.now();
let proposed = 0;
while (proposed < total) {
  for (let i = 0; i < batch && proposed < total; i++, proposed++) {
    const r = leader.rn.propose(payload);
    if (!r.ok) throw new Error(r.detail);
  }
  pump();
}
const ms = performance.now() - start;
const committed = leader.applied - base;
for (const n of nodes.values()) if (n.applied - base !== total) throw new Error(`node applied ${n.applied - base} of ${total}`);
console.log(
  JSON.stringify({ nodes: 3, entries: committed, batch, payloadBytes: payload.byteLength, seconds: +(ms / 1000).toFixed(3), committedPerSecond: Math.round(committed / (ms / 1000)) }),
);
