import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, RawNode, type Entry } from '../../../pkg/raft/index.js';
import { mesh, startNode, waitFor, type Node } from './harness.js';

/**
 * Three RawNodes (pre-vote, check-quorum) whose only link is PeerTransport: they elect a leader and
 * replicate proposals, so the codec and the delivery order are right for raft itself, not only for a
 * round-trip check.
 */
test('three raft nodes elect a leader and replicate entries over PeerTransport', async (t) => {
  const ids = [1n, 2n, 3n];
  const nodes: Node[] = [];
  const rafts = new Map<bigint, RawNode>();
  const storages = new Map<bigint, MemoryStorage>();
  const committed = new Map<bigint, Entry[]>(ids.map((id) => [id, []]));
  const drive = (id: bigint): void => {
    const rn = rafts.get(id) as RawNode;
    const st = storages.get(id) as MemoryStorage;
    const tr = nodes.find((n) => n.id === id)?.transport;
    while (rn.hasReady()) {
      const rd = rn.ready();
      tr?.send(rd.messages);
      if (rd.entries.length > 0) st.append(rd.entries);
      if (rd.hardState !== undefined) st.setHardState(rd.hardState);
      tr?.send(rd.messagesAfterPersist);
      committed.get(id)?.push(...rd.committedEntries.filter((e) => e.data.byteLength > 0));
      rn.advance();
    }
  };
  for (const id of ids) {
    const storage = new MemoryStorage({ voters: ids });
    storages.set(id, storage);
    rafts.set(
      id,
      new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rand: (n) => Math.floor(Math.random() * n), preVote: true, checkQuorum: true }),
    );
  }
  for (const id of ids) {
    const n = await startNode({ id });
    // Route the recorded callbacks into raft as the server's composition root would.
    n.rec.events.on('change', () => {
      const rn = rafts.get(id) as RawNode;
      for (const m of n.rec.messages.splice(0)) rn.step(m);
      for (const [peer] of n.rec.unreachable) rn.reportUnreachable(peer);
      n.rec.unreachable.clear();
      drive(id);
    });
    nodes.push(n);
  }
  const ticker = setInterval(() => {
    for (const id of ids) {
      rafts.get(id)?.tick();
      drive(id);
    }
  }, 10);
  t.after(async () => {
    clearInterval(ticker);
    for (const n of nodes) await n.close();
  });
  mesh(nodes);

  const recs = nodes.map((n) => n.rec);
  const leaderOf = (): bigint | undefined => ids.find((id) => rafts.get(id)?.status().role === 'leader');
  await waitFor(recs, () => leaderOf() !== undefined, 'a leader', 20_000);
  const leader = leaderOf() as bigint;
  const payloads = Array.from({ length: 50 }, (_, i) => new TextEncoder().encode(`put k${i}`));
  for (const p of payloads) assert.ok(rafts.get(leader)?.propose(p).ok);
  drive(leader);
  await waitFor(recs, () => ids.every((id) => (committed.get(id)?.length ?? 0) >= payloads.length), 'all entries committed everywhere', 20_000);
  for (const id of ids) {
    assert.deepEqual(
      committed.get(id)?.map((e) => new TextDecoder().decode(e.data)),
      payloads.map((p) => new TextDecoder().decode(p)),
      `node ${id}`,
    );
  }
  assert.deepEqual(
    ids.map((id) => rafts.get(id)?.status().lead),
    ids.map(() => leader),
  );
});
