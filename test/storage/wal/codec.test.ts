import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeEntry,
  decodeHardState,
  decodeLogStart,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeLogStart,
  encodeSnapshot,
} from '../../../pkg/storage/wal/codec.js';
import { isWalError } from '../../../pkg/storage/wal/index.js';
import type { Snapshot } from '../../../pkg/raft/types.js';
import { entry } from './helpers.js';

const corrupt = (err: unknown): boolean => isWalError(err, 'corrupt');

describe('wal codec', () => {
  it('round-trips entries of every type, including large indexes and empty data', () => {
    for (const e of [entry(1, 1), entry(2 ** 40 + 3, 2 ** 33, 1), { index: 7, term: 3, type: 2 as const, data: new Uint8Array(0) }]) {
      const got = decodeEntry(encodeEntry(e));
      assert.equal(got.index, e.index);
      assert.equal(got.term, e.term);
      assert.equal(got.type, e.type);
      assert.deepEqual([...got.data], [...e.data]);
    }
    assert.equal(encodeEntry(entry(5, 1)).length, 22 + entry(5, 1).data.length);
  });

  it('rejects flipped bits, truncation, unknown versions and unknown types as corrupt', () => {
    const rec = encodeEntry(entry(9, 4));
    for (let i = 0; i < rec.length; i++) {
      const bad = rec.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      assert.throws(() => decodeEntry(bad), corrupt, `bit flip at byte ${i}`);
    }
    assert.throws(() => decodeEntry(rec.subarray(0, 10)), corrupt);
    assert.throws(() => decodeEntry(rec.subarray(0, rec.length - 1)), corrupt);
  });

  it('rejects indexes above 2^53-1 even with a valid checksum', () => {
    const rec = encodeEntry({ index: 2 ** 60, term: 1, type: 0, data: new Uint8Array(0) });
    assert.throws(() => decodeEntry(rec), (err: unknown) => corrupt(err) && /2\^53-1/.test(String(err)));
  });

  it('round-trips hard state with a 64-bit vote, and the log start', () => {
    const hs = { term: 12, vote: 0xfedcba9876543210n, commit: 2 ** 45 };
    assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
    assert.deepEqual(decodeLogStart(encodeLogStart({ index: 99, term: 7 })), { index: 99, term: 7 });
    const rec = encodeHardState(hs);
    rec[5] = (rec[5] ?? 0) ^ 1;
    assert.throws(() => decodeHardState(rec), corrupt);
  });

  it('round-trips snapshot metadata with every conf state list and the data', () => {
    const snap: Snapshot = {
      metadata: {
        index: 1000,
        term: 9,
        confState: {
          voters: [1n, 0xffffffffffffffffn],
          learners: [3n],
          votersOutgoing: [1n, 4n, 5n],
          learnersNext: [],
          autoLeave: true,
        },
      },
      data: new TextEncoder().encode('checkpoint-descriptor'),
    };
    const got = decodeSnapshot(encodeSnapshot(snap));
    assert.deepEqual(got.metadata, snap.metadata);
    assert.deepEqual([...got.data], [...snap.data]);
    const rec = encodeSnapshot(snap);
    assert.throws(() => decodeSnapshot(rec.subarray(0, 20)), corrupt);
  });
});

describe('wal keys', () => {
  it('entry keys sort bytewise in index order (across the 2^32 boundary) and decode back', async () => {
    const { entryKey, indexOfEntryKey } = await import('../../../pkg/storage/wal/keys.js');
    const indexes = [1, 2, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1];
    const keys = indexes.map(entryKey);
    for (let i = 1; i < keys.length; i++) {
      assert.equal(Buffer.compare(Buffer.from(keys[i - 1] as Uint8Array), Buffer.from(keys[i] as Uint8Array)), -1);
    }
    assert.deepEqual(keys.map(indexOfEntryKey), indexes);
  });
});
