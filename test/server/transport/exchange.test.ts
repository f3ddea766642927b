import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { newMessage, type Message } from '../../../pkg/raft/index.js';
import { RaftBatch } from '../../../pkg/proto/gen/berthpb/transport.js';
import { MESSAGE_TYPES, messageToPb } from '../../../pkg/server/transport/codec.js';
import { openSendStream } from '../../../pkg/server/transport/wire.js';
import { gen, rng } from './gen.js';
import { CLUSTER, mesh, startNode, waitFor, type Node } from './harness.js';

/** Every kind except snap (snap goes through the upload path, tested in snapshot.test.ts). */
const BATCHED_TYPES = MESSAGE_TYPES.filter((t) => t !== 'snap');

function traffic(seed: number, from: Node, to: readonly Node[], calls: number): Message[][] {
  const g = gen(rng(seed));
  const out: Message[][] = [];
  let i = 0;
  for (let c = 0; c < calls; c++) {
    const call: Message[] = [];
    const n = 1 + (c % 7);
    for (let k = 0; k < n; k++, i++) {
      const dest = to[i % to.length] as Node;
      call.push(g(BATCHED_TYPES[i % BATCHED_TYPES.length] as Message['type'], { from: from.id, to: dest.id }));
    }
    out.push(call);
  }
  return out;
}

test('two transports exchange batches both ways: every type round-trips, order preserved, bytes accounted', async (t) => {
  const a = await startNode({ id: 0xaaaa_0000_0000_0001n });
  const b = await startNode({ id: 0xbbbb_0000_0000_0002n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  const ab = traffic(1, a, [b], 120);
  const ba = traffic(2, b, [a], 80);
  for (let i = 0; i < Math.max(ab.length, ba.length); i++) {
    const x = ab[i];
    const y = ba[i];
    if (x !== undefined) a.transport.send(x);
    if (y !== undefined) b.transport.send(y);
  }
  const wantAtB = ab.flat();
  const wantAtA = ba.flat();
  await waitFor([a.rec, b.rec], () => b.rec.messages.length >= wantAtB.length && a.rec.messages.length >= wantAtA.length, 'all messages');
  assert.deepEqual(b.rec.messages, wantAtB);
  assert.deepEqual(a.rec.messages, wantAtA);
  assert.ok(new Set(wantAtB.map((m) => m.type)).size === BATCHED_TYPES.length, 'every batched type was exercised');
  // Nothing lost, so nothing was reported unreachable, and both ends counted the same bytes.
  assert.equal(a.rec.unreachable.size, 0);
  assert.equal(b.rec.unreachable.size, 0);
  assert.ok((a.rec.sent.get(b.id) ?? 0) > 0);
  assert.equal(a.rec.sent.get(b.id), b.rec.received.get(a.id));
  assert.equal(b.rec.sent.get(a.id), a.rec.received.get(b.id));
  assert.equal(a.transport.peerStatus(b.id)?.state, 'active');
  assert.equal(a.rec.logged('peer became active').length, 1);
});

test('three transports in a mesh: each receiver sees each sender\'s messages in send order', async (t) => {
  const nodes = await Promise.all([1n, 2n, 3n].map((id) => startNode({ id })));
  t.after(async () => {
    for (const n of nodes) await n.close();
  });
  mesh(nodes);
  const plans = nodes.map((n, i) => traffic(10 + i, n, nodes.filter((o) => o !== n), 60));
  for (let c = 0; c < 60; c++) for (let i = 0; i < nodes.length; i++) (nodes[i] as Node).transport.send(plans[i]?.[c] ?? []);
  const total = plans.flat(2).length;
  await waitFor(
    nodes.map((n) => n.rec),
    () => nodes.reduce((s, n) => s + n.rec.messages.length, 0) >= total,
    'all messages in the mesh',
  );
  for (const dst of nodes) {
    for (const src of nodes) {
      if (src === dst) continue;
      const want = plans[nodes.indexOf(src)]?.flat().filter((m) => m.to === dst.id);
      assert.deepEqual(
        dst.rec.messages.filter((m) => m.from === src.id),
        want,
        `${src.id} → ${dst.id}`,
      );
    }
  }
});

test('one send() call becomes one batch per peer; a group above maxBatchBytes is split, order kept', async (t) => {
  const a = await startNode({ id: 1n, limits: { maxBatchBytes: 64 * 1024 } });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state === 'active', 'a → b active');
  const g = gen(rng(9));
  const small = Array.from({ length: 50 }, () => g('heartbeat', { from: 1n, to: 2n, entries: [] }));
  assert.equal(b.rec.receivedCalls.get(1n) ?? 0, 0);
  a.transport.send(small);
  await waitFor([b.rec], () => b.rec.messages.length === 50, '50 heartbeats');
  assert.equal(b.rec.receivedCalls.get(1n), 1, '50 messages of one call travel as one RaftBatch');
  assert.equal(b.rec.received.get(1n), a.rec.sent.get(2n));
  const big = Array.from({ length: 20 }, (_, i) =>
    g('app', { from: 1n, to: 2n, index: i, entries: [{ term: 1, index: i + 1, type: 0, data: new Uint8Array(16 * 1024).fill(i) }] }),
  );
  a.transport.send(big);
  await waitFor([b.rec], () => b.rec.messages.length === 70, '20 appends');
  assert.deepEqual(b.rec.messages.slice(50), big);
  // 20 × ~16 KiB under a 64 KiB cap: split into several batches (3 messages each), not one.
  const batches = (b.rec.receivedCalls.get(1n) ?? 0) - 1;
  assert.ok(batches >= 5 && batches <= 10, `${batches} batches`);
});

test('a batch holding an index above Number.MAX_SAFE_INTEGER is refused whole: nothing of it reaches raft', async (t) => {
  const b = await startNode({ id: 2n });
  t.after(() => b.close());
  const client = new Client(b.url.replace('http://', ''), credentials.createInsecure());
  t.after(() => client.close());
  const good = messageToPb(newMessage({ type: 'heartbeat', from: 1n, to: 2n, commit: 1 }));
  const bad = { ...messageToPb(newMessage({ type: 'app', from: 1n, to: 2n })), index: BigInt(Number.MAX_SAFE_INTEGER) + 1n };
  const err = await new Promise<ServiceError | null>((resolve) => {
    const call = openSendStream(client, (e) => resolve(e));
    call.write(RaftBatch.encode({ clusterId: CLUSTER, from: 1n, to: 2n, messages: [good, bad] }).finish());
    call.end();
  });
  assert.equal(err?.code, status.INVALID_ARGUMENT);
  assert.equal(err?.details, `transport: message index ${BigInt(Number.MAX_SAFE_INTEGER) + 1n} exceeds the safe integer range`);
  assert.equal(b.rec.messages.length, 0);
  assert.equal(b.rec.logged('dropped malformed raft batch').length, 1);
});

test('a single message above grpc-js\'s default 4 MiB limit is delivered (peer server options)', async (t) => {
  const a = await startNode({ id: 1n });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  const m = newMessage({ type: 'app', from: 1n, to: 2n, term: 1, entries: [{ term: 1, index: 1, type: 0, data: new Uint8Array(5 * 1024 * 1024).fill(7) }] });
  a.transport.send([m]);
  await waitFor([b.rec], () => b.rec.messages.length === 1, 'the large append', 20_000);
  assert.deepEqual(b.rec.messages[0], m);
});
