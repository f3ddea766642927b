import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { newMessage, type Message } from '../../../pkg/raft/index.js';
import { SnapshotChunk, type SnapshotResponse } from '../../../pkg/proto/gen/berthpb/transport.js';
import { crc32, crc32Fallback } from '../../../pkg/server/transport/checksum.js';
import { messageToPb } from '../../../pkg/server/transport/codec.js';
import { openSnapshotStream } from '../../../pkg/server/transport/wire.js';
import { startCorruptingProxy } from './corrupting-proxy.js';
import { CLUSTER, mesh, startNode, waitFor, type Node } from './harness.js';

function snapMessage(from: bigint, to: bigint, index: number): Message {
  return newMessage({
    type: 'snap',
    from,
    to,
    term: 4,
    snapshot: {
      data: new Uint8Array([1, 2, 3]),
      metadata: { index, term: 4, confState: { voters: [from, to], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
    },
  });
}

/** Deterministic pseudo-random payload, handed out in uneven pieces (the sender must re-chunk). */
function payload(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size + 3);
  let x = seed;
  for (let i = 0; i < size; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b.writeUInt32LE(x, i);
  }
  return b.subarray(0, size);
}

async function* pieces(data: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length] as number;
    yield data.subarray(off, off + n);
    off += n;
  }
}

function filesIn(n: Node): string[] {
  return readdirSync(join(n.dir, 'snap'));
}

test('crc32 is IEEE CRC-32 (node:zlib values) and the table fallback agrees', () => {
  const v = new TextEncoder().encode('123456789');
  assert.equal(crc32(v), 0xcbf43926);
  assert.equal(crc32Fallback(v), 0xcbf43926);
  const p = payload(100_003, 7);
  assert.equal(crc32Fallback(p), crc32(p));
});

test('a multi-MB snapshot is uploaded in checksummed chunks, stored verified, and reported ok', async (t) => {
  const data = payload(5 * 1024 * 1024 + 12_345, 1);
  const m = snapMessage(1n, 2n, 777);
  const asked: Message[] = [];
  const a = await startNode({
    id: 1n,
    snapshotSource: (msg) => {
      asked.push(msg);
      return pieces(data, [300_000, 1_500_000, 7, 65_536]);
    },
  });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  a.transport.send([m]);
  await waitFor([a.rec, b.rec], () => a.rec.snapshotStatus.length === 1, 'snapshot status', 30_000);
  assert.deepEqual(a.rec.snapshotStatus, [{ id: 2n, ok: true }]);
  assert.deepEqual(asked, [m]);
  assert.equal(b.rec.snapshots.length, 1);
  const got = b.rec.snapshots[0];
  assert.ok(got !== undefined);
  assert.deepEqual(got.message, m);
  assert.equal(got.bytes, data.length);
  assert.ok(got.path.startsWith(join(b.dir, 'snap')));
  assert.equal(createHash('sha256').update(readFileSync(got.path)).digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.deepEqual(filesIn(b), [got.path.slice(join(b.dir, 'snap').length + 1)], 'only the final file, no leftovers');
  // 1 MiB chunks: five full ones and the remainder.
  assert.equal(b.rec.receivedCalls.get(1n), 6);
  assert.equal(a.rec.sent.get(2n), b.rec.received.get(1n));
  assert.equal(b.rec.messages.length, 0, 'the snap message reaches raft via onSnapshot only');
});

test('a chunk corrupted in flight is refused (crc32), nothing is kept, and the sender reports failure', async (t) => {
  const data = Buffer.alloc(3 * 1024 * 1024, 0x5a);
  const a = await startNode({ id: 1n, snapshotSource: () => pieces(data, [1 << 20]) });
  const b = await startNode({ id: 2n });
  const proxy = await startCorruptingProxy(Number(new URL(b.url).port));
  t.after(async () => {
    await a.close();
    await b.close();
    await proxy.close();
  });
  a.transport.setPeers(new Map([[2n, [proxy.url]]]));
  proxy.arm(0x5a);
  a.transport.send([snapMessage(1n, 2n, 9)]);
  await waitFor([a.rec, b.rec], () => a.rec.snapshotStatus.length === 1, 'snapshot status', 30_000);
  assert.ok(proxy.flipped());
  assert.deepEqual(a.rec.snapshotStatus, [{ id: 2n, ok: false }]);
  assert.equal(b.rec.snapshots.length, 0);
  const refused = b.rec.logged('refused snapshot upload');
  assert.equal(refused.length, 1);
  assert.match(String(refused[0]?.fields['error']), /^transport: snapshot chunk at offset \d+ failed its crc32 check$/);
  await waitFor([b.rec], () => filesIn(b).length === 0, 'partial file removed');
  assert.equal(a.rec.logged('failed to send snapshot').length, 1);
});

interface RawChunk {
  header?: boolean;
  clusterId?: bigint;
  offset: number;
  data: Uint8Array;
  crc?: number;
  last?: boolean;
  sha?: Uint8Array;
}

function rawUpload(url: string, chunks: readonly RawChunk[]): Promise<{ err: ServiceError | null; res: SnapshotResponse | undefined }> {
  const client = new Client(url.replace('http://', ''), credentials.createInsecure());
  return new Promise((resolve) => {
    const call = openSnapshotStream(client, (err, res) => {
      client.close();
      resolve({ err, res });
    });
    for (const c of chunks) {
      call.write(
        SnapshotChunk.encode({
          header:
            c.header === true
              ? { clusterId: c.clusterId ?? CLUSTER, from: 1n, to: 2n, message: messageToPb(snapMessage(1n, 2n, 5)), totalBytes: 0n }
              : undefined,
          offset: BigInt(c.offset),
          data: c.data,
          crc32: c.crc ?? crc32(c.data),
          last: c.last ?? false,
          sha256: c.sha ?? new Uint8Array(),
        }).finish(),
      );
    }
    call.end();
  });
}

test('the receiver refuses malformed uploads with the right status and leaves no file behind', async (t) => {
  const b = await startNode({ id: 2n });
  t.after(() => b.close());
  const d1 = payload(1000, 3);
  const d2 = payload(500, 4);
  const sha = createHash('sha256').update(d1).update(d2).digest();
  const cases: [string, RawChunk[], status, RegExp][] = [
    [
      'wrong sha256',
      [{ header: true, offset: 0, data: d1 }, { offset: 1000, data: d2, last: true, sha: Buffer.alloc(32) }],
      status.DATA_LOSS,
      /sha256/,
    ],
    ['bad crc32', [{ header: true, offset: 0, data: d1, crc: 1 }], status.DATA_LOSS, /crc32/],
    ['gap', [{ header: true, offset: 0, data: d1 }, { offset: 1001, data: d2, last: true, sha }], status.INVALID_ARGUMENT, /offset 1001, expected 1000/],
    ['no header', [{ offset: 0, data: d1, last: true }], status.INVALID_ARGUMENT, /did not start with a header/],
    ['no last chunk', [{ header: true, offset: 0, data: d1 }], status.INVALID_ARGUMENT, /without its last chunk/],
    [
      'foreign cluster',
      [{ header: true, clusterId: 99n, offset: 0, data: d1, last: true }],
      status.FAILED_PRECONDITION,
      new RegExp(`cluster ID is ${CLUSTER.toString(16)}, the sender's is 63`),
    ],
  ];
  for (const [name, chunks, code, re] of cases) {
    const { err } = await rawUpload(b.url, chunks);
    assert.equal(err?.code, code, name);
    assert.match(err?.details ?? '', re, name);
    assert.deepEqual(filesIn(b), [], `${name}: no file left`);
  }
  assert.equal(b.rec.snapshots.length, 0);
  const ok = await rawUpload(b.url, [{ header: true, offset: 0, data: d1 }, { offset: 1000, data: d2, last: true, sha }]);
  assert.equal(ok.err, null);
  assert.equal(ok.res?.receivedBytes, 1500n);
  assert.equal(b.rec.snapshots.length, 1);
});

test('a failing snapshot source, a second snapshot in flight and an unknown peer all report failure', async (t) => {
  let release: (() => void) | undefined;
  const gate = new Promise<void>((r) => (release = r));
  let calls = 0;
  const a = await startNode({
    id: 1n,
    snapshotSource: (m) => {
      calls++;
      const index = m.snapshot?.metadata.index;
      if (index === 0) throw new Error('no checkpoint at all');
      if (index === 1) {
        return (async function* () {
          yield new Uint8Array(10);
          throw new Error('checkpoint vanished');
        })();
      }
      return (async function* () {
        yield new Uint8Array(10);
        await gate;
        yield new Uint8Array(10);
      })();
    },
  });
  const b = await startNode({ id: 2n });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  mesh([a, b]);
  a.transport.send([snapMessage(1n, 2n, 0)]);
  await waitFor([a.rec], () => a.rec.snapshotStatus.length === 1, 'throwing source reported');
  a.transport.send([snapMessage(1n, 2n, 1)]);
  await waitFor([a.rec], () => a.rec.snapshotStatus.length === 2, 'failing source reported');
  assert.deepEqual(a.rec.snapshotStatus, [
    { id: 2n, ok: false },
    { id: 2n, ok: false },
  ]);
  const failures = a.rec.logged('failed to send snapshot').map((l) => String(l.fields['error'] ?? l.fields['err']));
  assert.equal(failures.length, 2);
  assert.match(failures[1] ?? '', /checkpoint vanished/);

  a.transport.send([snapMessage(1n, 2n, 2)]);
  await waitFor([a.rec], () => a.transport.peerStatus(2n)?.snapshotInFlight === true, 'upload in flight');
  a.transport.send([snapMessage(1n, 2n, 3), snapMessage(1n, 9n, 3)]);
  await waitFor([a.rec], () => a.rec.snapshotStatus.length === 4, 'second upload and unknown peer refused');
  assert.deepEqual(a.rec.snapshotStatus.slice(2), [
    { id: 2n, ok: false },
    { id: 9n, ok: false },
  ]);
  release?.();
  await waitFor([a.rec, b.rec], () => a.rec.snapshotStatus.length === 5, 'first upload finishes');
  assert.deepEqual(a.rec.snapshotStatus[4], { id: 2n, ok: true });
  assert.equal(calls, 3);
  assert.equal(b.rec.snapshots[0]?.bytes, 20);
  assert.equal(a.transport.peerStatus(2n)?.snapshotInFlight, false);
});
