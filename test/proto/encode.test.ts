import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { KEEP_BYTES, encodeMessage, encodeToBuffer, type Encodable } from '../../pkg/proto/encode.js';
import { PutResponse, RangeResponse, WatchResponse } from '../../pkg/proto/gen/etcdserverpb/rpc.js';

const header = { clusterId: 0x1234_5678_9abc_def0n, memberId: 42n, revision: 1_000_000n, raftTerm: 7n };

function range(n: number, valueBytes: number): RangeResponse {
  const kvs = Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`/registry/pods/ns/name-${i}`),
    createRevision: BigInt(i + 1),
    modRevision: BigInt(i + 2),
    version: 3n,
    value: Buffer.alloc(valueBytes, i % 251),
    lease: 0n,
  }));
  return { header, kvs, more: n > 2, count: BigInt(n) };
}

test('encodeMessage gives the bytes of ts-proto encode(), for small, nested and large messages', () => {
  const cases: [Encodable<never>, unknown][] = [
    [PutResponse as Encodable<never>, { header, prevKv: undefined }],
    [PutResponse as Encodable<never>, { header, prevKv: { key: Buffer.from('k'), createRevision: 1n, modRevision: 2n, version: 1n, value: Buffer.alloc(300, 1), lease: 5n } }],
    [RangeResponse as Encodable<never>, range(0, 0)],
    [RangeResponse as Encodable<never>, range(3, 200)],
    [RangeResponse as Encodable<never>, range(500, 1000)],
    [WatchResponse as Encodable<never>, { header, watchId: 3n, created: true, canceled: false, compactRevision: 0n, cancelReason: '', fragment: false, events: [] }],
  ];
  // Twice over, so the second round runs on a writer grown by the first.
  for (let round = 0; round < 2; round++) {
    for (const [type, msg] of cases) {
      const want = type.encode(msg as never).finish();
      assert.deepEqual(encodeMessage(type, msg as never), want);
      assert.deepEqual(new Uint8Array(encodeToBuffer(type, msg as never)), want);
    }
  }
});

test('results do not share memory: an earlier result is unchanged by later encodes', () => {
  const a = encodeMessage(RangeResponse, range(4, 100));
  const copy = Uint8Array.from(a);
  const b = encodeMessage(RangeResponse, range(4, 120));
  encodeMessage(PutResponse, { header, prevKv: undefined });
  assert.deepEqual(a, copy);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(encodeToBuffer(PutResponse, { header, prevKv: undefined }).buffer === a.buffer, false);
});

test('an encode that throws half-way leaves the writer usable for the next one', () => {
  const failing: Encodable<number> = {
    encode(n: number, w?: BinaryWriter): BinaryWriter {
      const writer = w as BinaryWriter;
      writer.uint32(10).fork().uint32(n);
      throw new Error(`boom ${n}`);
    },
  };
  assert.throws(() => encodeMessage(failing, 7), /boom 7/);
  const msg = range(2, 50);
  assert.deepEqual(encodeMessage(RangeResponse, msg), RangeResponse.encode(msg).finish());
});

test('a result above KEEP_BYTES is correct, and so is the small one after it', () => {
  const big = range(Math.ceil(KEEP_BYTES / 1000) + 10, 1000);
  const out = encodeMessage(RangeResponse, big);
  assert.ok(out.byteLength > KEEP_BYTES);
  assert.deepEqual(out, RangeResponse.encode(big).finish());
  const small = { header, prevKv: undefined };
  assert.deepEqual(encodeMessage(PutResponse, small), PutResponse.encode(small).finish());
});

test('an encode that encodes another message inside itself gets a writer of its own', () => {
  const inner = range(3, 10);
  const outer: Encodable<string> = {
    encode(tag: string, w?: BinaryWriter): BinaryWriter {
      const nested = encodeMessage(RangeResponse, inner);
      return (w as BinaryWriter).string(tag).bytes(nested);
    },
  };
  const got = encodeMessage(outer, 'x');
  const nested = RangeResponse.encode(inner).finish();
  assert.equal(got.byteLength, 2 + 2 + nested.byteLength);
  assert.deepEqual(got.subarray(got.byteLength - nested.byteLength), nested);
});
