/**
 * The raft stream (pkg/server/transport/stream.ts): framing, the peer port's routing, the receiver's
 * refusals as the sender reads them, and the fallback to the gRPC Send stream for older members.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { RaftBatch } from '../../../pkg/proto/gen/berthpb/transport.js';
import { newMessage } from '../../../pkg/raft/index.js';
import { messageToPb } from '../../../pkg/server/transport/codec.js';
import {
  FrameReader,
  STREAM_PREFACE,
  classifyPeerPrefix,
  frameHeader,
  parseRefusal,
  refusalFrame,
  type StreamRefusal,
} from '../../../pkg/server/transport/stream.js';
import { hex } from '../../../pkg/server/transport/wire.js';
import { CLUSTER, mesh, startNode, waitFor } from './harness.js';

function hb(from: bigint, to: bigint, term: number) {
  return newMessage({ type: 'heartbeat', from, to, term });
}

function framed(payload: Uint8Array): Buffer {
  return Buffer.concat([frameHeader(payload), payload]);
}

test('FrameReader: frames split at every possible point come out whole, in order, as copies', () => {
  const payloads = [new Uint8Array(0), Uint8Array.of(1), new Uint8Array(300).fill(7), new Uint8Array(70_000).map((_, i) => i & 0xff)];
  const stream = Buffer.concat(payloads.map(framed));
  for (const step of [1, 2, 3, 5, 4096, stream.byteLength]) {
    const out: Uint8Array[] = [];
    const r = new FrameReader(1 << 20, (f) => out.push(f));
    for (let at = 0; at < stream.byteLength; at += step) {
      assert.equal(r.push(stream.subarray(at, at + step)), undefined);
    }
    assert.equal(r.idle, true, `step ${step}`);
    assert.deepEqual(out.map((f) => Buffer.from(f).toString('hex')), payloads.map((p) => Buffer.from(p).toString('hex')), `step ${step}`);
    // A frame never shares memory with the chunk it came in (entries live on in the raft log).
    for (const f of out) assert.equal(f.byteOffset, 0);
  }
  const half = new FrameReader(1 << 20, () => assert.fail('no frame yet'));
  half.push(framed(new Uint8Array(10)).subarray(0, 7));
  assert.equal(half.idle, false);
});

test('FrameReader: a frame above the limit is an error, not an allocation', () => {
  const r = new FrameReader(1024, () => assert.fail('no frame'));
  const err = r.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0]));
  assert.equal(err, 'transport: raft stream frame of 4294967295 bytes is above the limit of 1024');
});

test('the peer port tells a raft stream from HTTP/2 by its first bytes', () => {
  assert.equal(classifyPeerPrefix(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2');
  assert.equal(classifyPeerPrefix(Buffer.from([0x16, 0x03, 0x01])), 'h2');
  assert.equal(classifyPeerPrefix(STREAM_PREFACE.subarray(0, 5)), undefined);
  assert.equal(classifyPeerPrefix(Buffer.concat([STREAM_PREFACE, Buffer.from([0, 0])])), 'stream');
  assert.equal(classifyPeerPrefix(Buffer.from('berth-raft-stream/2\n')), 'h2');
});

test('refusal frames round-trip; an unreadable one becomes a generic refusal', () => {
  const r: StreamRefusal = { code: 9, message: 'transport: x', reason: 'member-removed', clusterId: 'a', memberId: 'b' };
  const f = refusalFrame(r);
  assert.equal(f.readUInt32BE(0), f.byteLength - 4);
  assert.deepEqual(parseRefusal(f.subarray(4)), r);
  assert.deepEqual(parseRefusal(Buffer.from('{"code":"x"}')), { code: 13, message: 'transport: unreadable refusal from peer' });
  assert.deepEqual(parseRefusal(Buffer.from('not json')), { code: 13, message: 'transport: unreadable refusal from peer' });
});

/** Opens a raw raft stream to `port`, writes `bytes` after the preface, and reads the refusal frame. */
async function rawStream(port: number, bytes: Buffer): Promise<{ refusal: StreamRefusal | undefined }> {
  const sock: Socket = connect({ host: '127.0.0.1', port });
  let refusal: StreamRefusal | undefined;
  const reader = new FrameReader(1 << 16, (f) => (refusal = parseRefusal(f)));
  sock.on('data', (c: Buffer) => reader.push(c));
  sock.on('error', () => {});
  sock.write(Buffer.concat([STREAM_PREFACE, bytes]));
  await once(sock, 'close');
  return { refusal };
}

function batch(clusterId: bigint, from: bigint, to: bigint, msgs = [hb(from, to, 3)]): Buffer {
  return framed(RaftBatch.encode({ clusterId, from, to, messages: msgs.map(messageToPb) }).finish());
}

test('the receiver answers a bad raft stream with one refusal frame and closes it; nothing of a refused batch is delivered', async (t) => {
  const b = await startNode({ id: 2n });
  t.after(() => b.close());
  const foreign = 0xabcn;
  const cases: { name: string; bytes: Buffer; want: StreamRefusal }[] = [
    {
      name: 'foreign cluster',
      bytes: batch(foreign, 1n, 2n),
      want: {
        code: 9,
        message: `transport: cluster ID mismatch: this member's cluster ID is ${hex(CLUSTER)}, the sender's is abc`,
        reason: 'cluster-id-mismatch',
        clusterId: hex(CLUSTER),
        memberId: '2',
      },
    },
    {
      name: 'wrong member',
      bytes: batch(CLUSTER, 1n, 5n),
      want: { code: 9, message: 'transport: member ID mismatch: this member is 2, the sender addressed 5', reason: 'member-id-mismatch', clusterId: hex(CLUSTER), memberId: '2' },
    },
    { name: 'not protobuf', bytes: framed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])), want: { code: 3, message: 'transport: malformed raft batch' } },
    {
      name: 'message from another sender',
      bytes: batch(CLUSTER, 1n, 2n, [hb(1n, 2n, 3), hb(7n, 2n, 3)]),
      want: { code: 3, message: 'transport: message from 7 to 2 in a batch from 1 to 2' },
    },
    {
      name: 'oversized frame',
      bytes: Buffer.from([0x7f, 0xff, 0xff, 0xff]),
      want: { code: 3, message: 'transport: raft stream frame of 2147483647 bytes is above the limit of 67108864' },
    },
  ];
  for (const c of cases) {
    const r = await rawStream(Number(new URL(b.url).port), c.bytes);
    assert.deepEqual(r.refusal, c.want, c.name);
  }
  assert.equal(b.rec.messages.length, 0);
  // A good batch before a bad one is delivered; the bad one is not, and the stream ends.
  const r = await rawStream(Number(new URL(b.url).port), Buffer.concat([batch(CLUSTER, 1n, 2n, [hb(1n, 2n, 4)]), batch(foreign, 1n, 2n)]));
  assert.equal(r.refusal?.reason, 'cluster-id-mismatch');
  assert.deepEqual(b.rec.messages.map((m) => m.term), [4]);
});

test('a peer port without raft streams (an older member) is sent to over gRPC Send; it sends back over the raft stream', async (t) => {
  const a = await startNode({ id: 1n });
  const old = await startNode({ id: 2n, grpcOnly: true });
  t.after(async () => {
    await a.close();
    await old.close();
  });
  mesh([a, old]);
  a.transport.send([hb(1n, 2n, 5)]);
  old.transport.send([hb(2n, 1n, 6)]);
  await waitFor([a.rec, old.rec], () => a.rec.messages.length === 1 && old.rec.messages.length === 1, 'both delivered');
  assert.equal(a.transport.peerStatus(2n)?.stream, 'grpc', 'an older member does not offer the raft stream');
  assert.equal(old.transport.peerStatus(1n)?.stream, 'stream');
  assert.equal(old.rec.messages[0]?.term, 5);
  assert.equal(a.rec.messages[0]?.term, 6);
});

for (const grpcOnly of [false, true]) {
  test(`a sender refused as removed on its ${grpcOnly ? 'gRPC Send' : 'raft'} stream is told so (onRemoved), and nothing more is delivered`, async (t) => {
    let removed = false;
    const b = await startNode({ id: 2n, grpcOnly, isRemoved: (id) => removed && id === 1n });
    const a = await startNode({ id: 1n });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    mesh([a, b]);
    a.transport.send([hb(1n, 2n, 1)]);
    await waitFor([b.rec], () => b.rec.messages.length === 1, 'first heartbeat');
    assert.equal(a.transport.peerStatus(2n)?.stream, grpcOnly ? 'grpc' : 'stream');
    removed = true;
    a.transport.send([hb(1n, 2n, 2)]);
    await waitFor([a.rec], () => a.rec.removed > 0, 'onRemoved');
    assert.equal(b.rec.messages.length, 1);
  });
}
