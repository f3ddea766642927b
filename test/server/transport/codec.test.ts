import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gen, rng } from './gen.js';
import * as pb from '../../../pkg/proto/gen/berthpb/raft.js';
import {
  MESSAGE_TYPES,
  hardStateFromPb,
  hardStateToPb,
  messageFromPb,
  messageToPb,
} from '../../../pkg/server/transport/codec.js';

test('every message type round-trips through the wire encoding (2000 random messages per seed, 5 seeds)', () => {
  for (const seed of [1, 7, 42, 1234, 99991]) {
    const message = gen(rng(seed));
    for (let i = 0; i < 2000; i++) {
      const type = MESSAGE_TYPES[i % MESSAGE_TYPES.length];
      assert.ok(type !== undefined);
      const m = message(type);
      const bytes = pb.Message.encode(messageToPb(m)).finish();
      const back = messageFromPb(pb.Message.decode(bytes));
      assert.ok(back.ok, `seed ${seed} message ${i}: ${back.ok ? '' : back.error.message}`);
      assert.deepEqual(back.value, m, `seed ${seed} message ${i} (${type})`);
    }
  }
});

test('MESSAGE_TYPES covers every raft message kind exactly once with distinct wire values', () => {
  assert.equal(new Set(MESSAGE_TYPES).size, MESSAGE_TYPES.length);
  assert.equal(MESSAGE_TYPES.length, 19);
  const wire = new Set(MESSAGE_TYPES.map((t) => messageToPb(gen(rng(3))(t)).type));
  assert.equal(wire.size, MESSAGE_TYPES.length);
});

function base(): pb.Message {
  return messageToPb(gen(rng(5))('app'));
}

test('index and term above Number.MAX_SAFE_INTEGER are rejected with an error value naming the field', () => {
  const tooBig = BigInt(Number.MAX_SAFE_INTEGER) + 1n;
  const cases: [string, (m: pb.Message) => void][] = [
    ['message term', (m) => (m.term = tooBig)],
    ['message log term', (m) => (m.logTerm = tooBig)],
    ['message index', (m) => (m.index = tooBig)],
    ['message commit', (m) => (m.commit = tooBig)],
    ['message reject hint', (m) => (m.rejectHint = 0xffff_ffff_ffff_ffffn)],
    ['entry index', (m) => (m.entries = [{ term: 1n, index: tooBig, type: 0, data: new Uint8Array() }])],
    ['entry term', (m) => (m.entries = [{ term: tooBig, index: 1n, type: 0, data: new Uint8Array() }])],
    [
      'snapshot index',
      (m) => (m.snapshot = { data: new Uint8Array(), metadata: { index: tooBig, term: 1n, confState: undefined } }),
    ],
    [
      'snapshot term',
      (m) => (m.snapshot = { data: new Uint8Array(), metadata: { index: 1n, term: tooBig, confState: undefined } }),
    ],
  ];
  for (const [field, mutate] of cases) {
    const m = base();
    mutate(m);
    const d = messageFromPb(pb.Message.decode(pb.Message.encode(m).finish()));
    assert.equal(d.ok, false, field);
    if (d.ok) continue;
    assert.equal(d.error.kind, 'uint-overflow');
    assert.match(d.error.message, new RegExp(`^transport: ${field} \\d+ exceeds the safe integer range$`));
  }
  const edge = base();
  edge.index = BigInt(Number.MAX_SAFE_INTEGER);
  const ok = messageFromPb(edge);
  assert.ok(ok.ok);
  assert.equal(ok.value.index, Number.MAX_SAFE_INTEGER);
});

test('unknown message and entry types are rejected, not passed to raft', () => {
  const m = base();
  m.type = pb.MessageType.MESSAGE_TYPE_FORGET_LEADER;
  const d = messageFromPb(m);
  assert.ok(!d.ok);
  assert.equal(d.error.kind, 'unknown-message-type');
  assert.equal(d.error.message, 'transport: unknown message type 19');

  const e = base();
  e.entries = [{ term: 1n, index: 2n, type: 7 as pb.EntryType, data: new Uint8Array() }];
  const de = messageFromPb(pb.Message.decode(pb.Message.encode(e).finish()));
  assert.ok(!de.ok);
  assert.equal(de.error.kind, 'unknown-entry-type');
});

test('hard state round-trips and rejects an oversized commit', () => {
  const h = { term: 9, vote: 0xdead_beef_cafe_f00dn, commit: Number.MAX_SAFE_INTEGER };
  const back = hardStateFromPb(pb.HardState.decode(pb.HardState.encode(hardStateToPb(h)).finish()));
  assert.deepEqual(back, { ok: true, value: h });
  const bad = hardStateFromPb({ term: 1n, vote: 0n, commit: 1n << 60n });
  assert.ok(!bad.ok);
  assert.equal(bad.error.message, `transport: hard state commit ${1n << 60n} exceeds the safe integer range`);
});
