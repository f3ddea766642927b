import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { status, type sendUnaryData, type ServerReadableStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { newMessage } from '../../../pkg/raft/index.js';
import type { HelloRequest, HelloResponse } from '../../../pkg/proto/gen/berthpb/transport.js';
import { PROTOCOL_VERSION, RAW_RAFT_SERVICE, statusError } from '../../../pkg/server/transport/wire.js';
import { CLUSTER, bindServer, mesh, startNode, waitFor } from './harness.js';

const MAX_MSGS = 200;
const MAX_BYTES = 2 * 1024 * 1024;
const ENTRY = 64 * 1024;
const CALLS = 300;

/**
 * A berth peer that accepts Hello and the stream, then never reads from it: the gRPC Send stream
 * (an older member's port) or a raft stream (socket paused).
 */
async function startStalledPeer(id: bigint, kind: 'grpc' | 'stream') {
  const s = await bindServer(0, { grpcOnly: kind === 'grpc' });
  const held: unknown[] = [];
  s.server.addService(RAW_RAFT_SERVICE, {
    hello: (_call: ServerUnaryCall<HelloRequest, HelloResponse>, cb: sendUnaryData<HelloResponse>) =>
      cb(null, { clusterId: CLUSTER, memberId: id, serverVersion: 'stalled', protocolVersion: PROTOCOL_VERSION, raftStream: kind === 'stream' }),
    send: (call: ServerReadableStream<Buffer, unknown>) => {
      call.pause();
      held.push(call);
    },
    snapshot: (_call: unknown, cb: sendUnaryData<unknown>) => cb(statusError(status.UNIMPLEMENTED, 'no')),
  });
  s.onStream = (conn) => {
    conn.pause();
    held.push(conn);
  };
  return { ...s, held };
}

function append(i: number) {
  return newMessage({ type: 'app', from: 1n, to: 2n, term: 2, index: i, entries: [{ term: 2, index: i + 1, type: 0, data: new Uint8Array(ENTRY) }] });
}

for (const kind of ['stream', 'grpc'] as const) {
test(`a stalled receiver (${kind}) does not grow the sender without bound: buffer capped, excess dropped and reported`, async (t) => {
  const stalled = await startStalledPeer(2n, kind);
  const a = await startNode({ id: 1n, limits: { maxQueuedMessages: MAX_MSGS, maxQueuedBytes: MAX_BYTES } });
  t.after(async () => {
    await a.close();
    stalled.shutdown();
  });
  a.transport.setPeers(new Map([[2n, [stalled.url]]]));
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state === 'active', 'stream open');
  // The sender may see its stream open a moment before the receiver's handler holds it.
  await waitFor([a.rec], () => stalled.held.length > 0, 'receiver holds the stream');
  assert.equal(stalled.held.length, 1);

  let maxQueuedBytes = 0;
  let maxQueuedMsgs = 0;
  for (let i = 0; i < CALLS; i++) {
    a.transport.send([append(i)]);
    const st = a.transport.peerStatus(2n);
    maxQueuedBytes = Math.max(maxQueuedBytes, st?.queuedBytes ?? 0);
    maxQueuedMsgs = Math.max(maxQueuedMsgs, st?.queuedMessages ?? 0);
    // Let grpc-js and HTTP/2 move whatever the receiver would take: only a stalled receiver backs up.
    await yieldToLoop();
  }
  await waitFor([a.rec], () => (a.rec.unreachable.get(2n) ?? 0) > 0, 'unreachable reported');
  const offered = CALLS * ENTRY;
  const handedToGrpc = a.rec.sent.get(2n) ?? 0;
  const dropped = a.rec.dropped.get(2n) ?? 0;
  assert.ok(maxQueuedBytes <= MAX_BYTES, `queued ${maxQueuedBytes} bytes`);
  assert.ok(maxQueuedMsgs <= MAX_MSGS, `queued ${maxQueuedMsgs} messages`);
  assert.ok(dropped > CALLS / 2, `dropped ${dropped} of ${CALLS}`);
  // What left our buffer is held by grpc-js/HTTP/2 flow control or the kernel's socket buffers, which are bounded too.
  assert.ok(handedToGrpc < offered / 2, `handed ${handedToGrpc} of ${offered} bytes to grpc-js`);
  assert.equal(a.rec.logged('dropped internal raft message since sending buffer is full').length, 1);
  assert.equal(a.transport.peerStatus(2n)?.state, 'active', 'a stalled peer is not a dead one');
});
}

test('the same load to a live receiver, within the default bounds, is delivered in full and in order', async (t) => {
  const a = await startNode({ id: 1n });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.state === 'active', 'stream open');
  assert.equal(a.transport.peerStatus(2n)?.stream, 'stream');
  for (let i = 0; i < CALLS; i++) {
    a.transport.send([append(i)]);
    await yieldToLoop();
  }
  await waitFor([b.rec], () => b.rec.messages.length + (a.rec.dropped.get(2n) ?? 0) >= CALLS, 'everything accounted', 30_000);
  assert.equal(a.rec.dropped.get(2n) ?? 0, 0);
  assert.equal(b.rec.messages.length, CALLS);
  assert.deepEqual(
    b.rec.messages.map((m) => m.index),
    Array.from({ length: CALLS }, (_, i) => i),
  );
});
