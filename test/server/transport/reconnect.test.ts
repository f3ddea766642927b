import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { newMessage, type Message } from '../../../pkg/raft/index.js';
import { RaftBatch, type HelloResponse, type SendResponse } from '../../../pkg/proto/gen/berthpb/transport.js';
import { messageToPb } from '../../../pkg/server/transport/codec.js';
import { PROTOCOL_VERSION, callHello, hex, openSendStream } from '../../../pkg/server/transport/wire.js';
import { CLUSTER, startNode, waitFor } from './harness.js';
import { freePort } from '../../../e2e/compat/support/servers.js';

function hb(from: bigint, to: bigint, commit: number): Message {
  return newMessage({ type: 'heartbeat', from, to, term: 3, commit });
}

function commits(ms: readonly Message[]): number[] {
  return ms.map((m) => m.commit);
}

function isIncreasing(xs: readonly number[]): boolean {
  return xs.every((x, i) => i === 0 || x > (xs[i - 1] as number));
}

test('a peer that is down is reported unreachable; once it is up, messages flow, and again after it restarts', async (t) => {
  const a = await startNode({ id: 1n });
  const port = await freePort();
  const bUrl = `http://127.0.0.1:${port}`;
  const peers = new Map([
    [1n, [a.url]],
    [2n, [bUrl]],
  ]);
  a.transport.setPeers(peers);
  let b: Awaited<ReturnType<typeof startNode>> | undefined;
  t.after(async () => {
    await a.close();
    await b?.close();
  });

  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state === 'inactive', 'b inactive');
  let commit = 0;
  a.transport.send([hb(1n, 2n, ++commit)]);
  await waitFor([a.rec], () => (a.rec.unreachable.get(2n) ?? 0) >= 1, 'unreachable(b) while b is down');
  assert.equal(a.rec.logged('peer became inactive').length, 1);

  b = await startNode({ id: 2n, port });
  b.transport.setPeers(peers);
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state === 'active', 'a reconnected to b', 15_000);
  const marker = ++commit;
  a.transport.send([hb(1n, 2n, marker)]);
  const bb = b;
  await waitFor([bb.rec], () => bb.rec.messages.some((m) => m.commit === marker), 'message sent after reconnect');
  assert.ok(isIncreasing(commits(bb.rec.messages)), 'delivered in send order');

  // b goes away with the stream open: a notices, reports it, and reconnects when b is back.
  const before = a.rec.unreachable.get(2n) ?? 0;
  await b.close();
  b = undefined;
  await waitFor([a.rec], () => (a.rec.unreachable.get(2n) ?? 0) > before && a.transport.peerStatus(2n)?.state === 'inactive', 'stream loss noticed');
  for (let i = 0; i < 5; i++) a.transport.send([hb(1n, 2n, ++commit)]);
  assert.ok((a.transport.peerStatus(2n)?.queuedMessages ?? 0) <= 5);
  b = await startNode({ id: 2n, port });
  b.transport.setPeers(peers);
  const marker2 = ++commit;
  const b2 = b;
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state === 'active', 'a reconnected to restarted b', 15_000);
  a.transport.send([hb(1n, 2n, marker2)]);
  await waitFor([b2.rec], () => b2.rec.messages.some((m) => m.commit === marker2), 'message after second reconnect');
  assert.ok(isIncreasing(commits(b2.rec.messages)), 'delivered in send order after restart');
});

test('cluster ID mismatch: refused with a clear error naming both IDs, logged once, nothing delivered', async (t) => {
  const other = 0x0bad_c1a5_7e00_0002n;
  const a = await startNode({ id: 1n });
  const b = await startNode({ id: 2n, clusterId: other });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  a.transport.setPeers(new Map([[2n, [b.url]]]));
  for (let i = 1; i <= 20; i++) a.transport.send([hb(1n, 2n, i)]);
  // Each refused Hello reports b unreachable; wait for several retries (refusedRetryMs is 50 ms here).
  await waitFor([a.rec], () => (a.rec.unreachable.get(2n) ?? 0) >= 4 && a.transport.peerStatus(2n)?.state === 'refused', 'repeated refusals');
  for (let i = 21; i <= 25; i++) a.transport.send([hb(1n, 2n, i)]);
  await waitFor([a.rec], () => (a.rec.unreachable.get(2n) ?? 0) >= 8, 'more refusals');

  const lines = a.rec.logged('peer cluster ID mismatch');
  assert.equal(lines.length, 1, 'logged once across retries');
  assert.equal(lines[0]?.level, 'error');
  assert.equal(lines[0]?.fields['local-cluster-id'], hex(CLUSTER));
  assert.equal(lines[0]?.fields['remote-cluster-id'], hex(other));
  assert.equal(b.rec.logged('request cluster ID mismatch').length, 1);
  assert.equal(b.rec.messages.length, 0, 'nothing delivered');
  assert.equal(a.transport.peerStatus(2n)?.queuedMessages, 0, 'nothing kept for a foreign cluster');
  assert.ok((a.rec.dropped.get(2n) ?? 0) >= 5);

  // The server side, called directly: Hello and Send with our cluster id are refused.
  const client = new Client(b.url.replace('http://', ''), credentials.createInsecure());
  t.after(() => client.close());
  const helloErr = await new Promise<ServiceError | null>((resolve) =>
    callHello(
      client,
      { clusterId: CLUSTER, from: 1n, to: 2n, serverVersion: 'x', protocolVersion: PROTOCOL_VERSION },
      { deadlineMs: 5000, callback: (err: ServiceError | null, _res?: HelloResponse) => resolve(err) },
    ),
  );
  assert.equal(helloErr?.code, status.FAILED_PRECONDITION);
  assert.equal(
    helloErr?.details,
    `transport: cluster ID mismatch: this member's cluster ID is ${hex(other)}, the sender's is ${hex(CLUSTER)}`,
  );
  const sendErr = await new Promise<ServiceError | null>((resolve) => {
    const call = openSendStream(client, (err: ServiceError | null, _res?: SendResponse) => resolve(err));
    call.write(RaftBatch.encode({ clusterId: CLUSTER, from: 1n, to: 2n, messages: [messageToPb(hb(1n, 2n, 99))] }).finish());
    call.end();
  });
  assert.equal(sendErr?.code, status.FAILED_PRECONDITION);
  assert.match(sendErr?.details ?? '', /cluster ID mismatch/);
  assert.equal(b.rec.messages.length, 0);
});

test('a peer answering for another member id is refused with "peer member ID mismatch"', async (t) => {
  const a = await startNode({ id: 1n });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  // a believes member 3 lives at b's address.
  a.transport.setPeers(new Map([[3n, [b.url]]]));
  a.transport.send([hb(1n, 3n, 1)]);
  await waitFor([a.rec], () => a.rec.logged('peer member ID mismatch').length === 1 && (a.rec.unreachable.get(3n) ?? 0) >= 2, 'member id refusal');
  assert.equal(a.rec.logged('peer member ID mismatch')[0]?.fields['remote-member-id'], hex(2n));
  assert.equal(b.rec.messages.length, 0);
});

test('setPeers at runtime: unknown member is unreachable, added member receives, removed member does not, URL change reconnects', async (t) => {
  const a = await startNode({ id: 1n });
  const b = await startNode({ id: 2n });
  const c = await startNode({ id: 3n });
  // c's next address (after it moves).
  const c2 = await startNode({ id: 3n });
  t.after(async () => {
    await a.close();
    await b.close();
    await c.close();
    await c2.close();
  });
  a.transport.setPeers(new Map([[2n, [b.url]]]));
  a.transport.send([hb(1n, 3n, 1), hb(1n, 2n, 1)]);
  await waitFor([a.rec], () => a.rec.unreachable.get(3n) === 1, 'unknown member reported');
  assert.equal(a.rec.dropped.get(3n), 1);

  a.transport.setPeers(new Map([
    [2n, [b.url]],
    [3n, [c.url]],
  ]));
  a.transport.send([hb(1n, 3n, 2), hb(1n, 2n, 2)]);
  await waitFor([b.rec, c.rec], () => c.rec.messages.length === 1 && b.rec.messages.length === 2, 'b and c receive');
  assert.equal(c.rec.messages[0]?.commit, 2);

  a.transport.setPeers(new Map([[3n, [c.url]]]));
  assert.equal(a.transport.peerStatus(2n), undefined);
  a.transport.send([hb(1n, 2n, 3), hb(1n, 3n, 3)]);
  await waitFor([a.rec, c.rec], () => a.rec.unreachable.get(2n) === 1 && c.rec.messages.length === 2, 'removed member unreachable');
  assert.equal(b.rec.messages.length, 2, 'removed member got nothing more');

  // c moves to a new address.
  a.transport.setPeers(new Map([[3n, [c2.url]]]));
  a.transport.send([hb(1n, 3n, 4)]);
  await waitFor([c2.rec], () => c2.rec.messages.length === 1, 'c at its new URL receives');
  assert.equal(c2.rec.messages[0]?.commit, 4);
  assert.equal(c.rec.messages.length, 2);
});
