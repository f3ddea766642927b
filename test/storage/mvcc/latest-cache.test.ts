/**
 * LatestCache: an LRU bounded by entries and bytes. Checked against a reference model (an array in
 * recency order) under random operations, plus the value rules (copies, size limit, exact revision).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatestCache, cacheKey } from '../../../pkg/storage/mvcc/latest-cache.js';
import type { IndexEntry } from '../../../pkg/storage/mvcc/record.js';
import { rng } from './gen.js';
import { latin1ByWrapper } from '../../../pkg/storage/mvcc/latin1.js';

const OVERHEAD = 200;

function entry(key: string, main: bigint): IndexEntry {
  return { key: Buffer.from(key, 'latin1'), rev: { main, sub: 0n }, tombstone: false, createRevision: 1n, version: 1n, lease: 0n };
}

interface ModelSlot {
  key: string;
  entry: IndexEntry | null;
  value: Uint8Array | undefined;
}

test('LatestCache keeps LRU order and both bounds, like a reference model, under random operations', () => {
  const limits = { maxEntries: 20, maxBytes: 20 * OVERHEAD + 300, maxValueBytes: 40 };
  const cache = new LatestCache(limits);
  const model: ModelSlot[] = [];
  const r = rng(11);
  const bytesOf = (s: ModelSlot): number => OVERHEAD + s.key.length + (s.value?.length ?? 0);
  const evict = (): void => {
    while (model.length > limits.maxEntries || model.reduce((a, s) => a + bytesOf(s), 0) > limits.maxBytes) model.shift();
  };
  for (let i = 0; i < 20_000; i++) {
    const key = `k${Math.floor(r() * 30)}`;
    const op = r();
    const at = model.findIndex((s) => s.key === key);
    if (op < 0.45) {
      const got = cache.get(key);
      if (at === -1) assert.equal(got, undefined);
      else {
        const [s] = model.splice(at, 1) as [ModelSlot];
        model.push(s);
        assert.equal(got, s.entry);
      }
    } else if (op < 0.85) {
      const e = r() < 0.2 ? null : entry(key, BigInt(i));
      const value = e !== null && r() < 0.7 ? new Uint8Array(Math.floor(r() * 60)).fill(i & 0xff) : undefined;
      cache.set(key, e, value);
      if (at !== -1) model.splice(at, 1);
      model.push({ key, entry: e, value: value !== undefined && value.length <= limits.maxValueBytes ? value : undefined });
      evict();
    } else if (op < 0.95) {
      // A value read from storage for the cached revision: attached only when absent and small enough.
      const s = at === -1 ? undefined : model[at];
      const e = s?.entry ?? entry(key, 0n);
      const value = new Uint8Array(Math.floor(r() * 60)).fill(7);
      cache.addValue(key, e, value);
      if (s !== undefined && s.entry !== null && s.value === undefined && value.length <= limits.maxValueBytes) {
        s.value = value;
        evict();
      }
    } else {
      assert.equal(cache.has(key), at !== -1);
    }
    assert.deepEqual([...cache.keysByRecency()], model.map((s) => s.key), `after step ${i}`);
    assert.equal(cache.size, model.length);
    assert.equal(cache.bytes, model.reduce((a, s) => a + bytesOf(s), 0));
  }
  for (const s of model) {
    if (s.entry === null) continue;
    const v = cache.valueOf(s.key, s.entry);
    assert.deepEqual(v, s.value, s.key);
  }
});

test('LatestCache copies values it is given, and serves a value only for the exact revision', () => {
  const cache = new LatestCache({ maxEntries: 10, maxBytes: 1 << 20, maxValueBytes: 8 });
  const v = Uint8Array.of(1, 2, 3);
  const e = entry('a', 5n);
  cache.set('a', e, v);
  v[0] = 9;
  assert.deepEqual(cache.valueOf('a', e), Uint8Array.of(1, 2, 3));
  assert.equal(cache.valueOf('a', entry('a', 4n)), undefined);
  cache.set('b', entry('b', 6n), new Uint8Array(9));
  assert.equal(cache.valueOf('b', entry('b', 6n)), undefined, 'values over maxValueBytes are not kept');
  cache.set('a', null);
  assert.equal(cache.get('a'), null);
  assert.equal(cache.valueOf('a', e), undefined);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.bytes, 0);
  assert.deepEqual([...cache.keysByRecency()], []);
  cache.set('c', entry('c', 7n));
  assert.deepEqual([...cache.keysByRecency()], ['c']);
});

test('cacheKey is the latin1 string of the key bytes, views included', () => {
  const whole = Uint8Array.of(0x00, 0x61, 0xff, 0x62);
  assert.equal(cacheKey(whole), '\u0000a\u00ffb');
  assert.equal(cacheKey(whole.subarray(1, 3)), 'a\u00ff');
  assert.equal(cacheKey(new Uint8Array(0)), '');
  // Every byte value maps to the code point of the same number, as Buffer's latin1 decoding does.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const padded = new Uint8Array(260);
  padded.set(all, 2);
  const expected = String.fromCharCode(...all);
  assert.equal(cacheKey(all), expected);
  assert.equal(cacheKey(padded.subarray(2, 258)), expected);
  assert.equal(cacheKey(Buffer.from(all)), expected);
  // The fallback (used if Buffer's native latin1Slice were gone) agrees.
  assert.equal(latin1ByWrapper(padded.subarray(2, 258)), expected);
  assert.equal(latin1ByWrapper(whole.subarray(1, 3)), 'a\u00ff');
});
