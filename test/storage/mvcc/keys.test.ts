/**
 * Property tests of the key encodings: the key index must order user keys exactly as raw bytes
 * (memcmp), newest revision first within a key, and prefix ranges must be exact at the 0xff boundary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compareBytes,
  decodeIndexKey,
  decodeRevisionKey,
  encodeUserKey,
  indexKey,
  indexRangeBounds,
  revisionKey,
} from '../../../pkg/storage/mvcc/keys.js';
import { rng, prefixEnd } from './gen.js';

function randomKey(r: () => number): Uint8Array {
  const len = Math.floor(r() * 7);
  // Mostly the bytes where escaping and bounds matter.
  return Uint8Array.from({ length: len }, () => (r() < 0.6 ? [0x00, 0x01, 0xfe, 0xff][Math.floor(r() * 4)] as number : Math.floor(r() * 256)));
}

test('user key encoding preserves byte order for random keys (incl. 0x00, 0xff, empty)', () => {
  const r = rng(7);
  for (let i = 0; i < 20_000; i++) {
    const x = randomKey(r);
    const y = randomKey(r);
    assert.equal(Math.sign(compareBytes(encodeUserKey(x), encodeUserKey(y))), Math.sign(compareBytes(x, y)), `${x} vs ${y}`);
  }
});

test('index keys sort by user key, then newest revision first; they decode back', () => {
  const r = rng(11);
  for (let i = 0; i < 20_000; i++) {
    const x = randomKey(r);
    const y = randomKey(r);
    const rx = { main: BigInt(Math.floor(r() * 1e6)), sub: BigInt(Math.floor(r() * 4)) };
    const ry = { main: BigInt(Math.floor(r() * 1e6)), sub: BigInt(Math.floor(r() * 4)) };
    const kx = indexKey(x, rx);
    const ky = indexKey(y, ry);
    const byKey = compareBytes(x, y);
    const byRevDesc = ry.main !== rx.main ? (ry.main < rx.main ? -1 : 1) : ry.sub !== rx.sub ? (ry.sub < rx.sub ? -1 : 1) : 0;
    assert.equal(Math.sign(compareBytes(kx, ky)), byKey !== 0 ? Math.sign(byKey) : byRevDesc);
    const d = decodeIndexKey(kx);
    assert.deepEqual([...d.key], [...x]);
    assert.deepEqual(d.rev, rx);
  }
});

test('revision keys sort by (main, sub) and decode back', () => {
  const revs = [
    { main: 1n, sub: 0n },
    { main: 1n, sub: 1n },
    { main: 2n, sub: 0n },
    { main: 255n, sub: 0n },
    { main: 256n, sub: 0n },
    { main: 2n ** 62n, sub: 0n },
  ];
  for (let i = 1; i < revs.length; i++) {
    assert.ok(compareBytes(revisionKey(revs[i - 1] as never), revisionKey(revs[i] as never)) < 0);
  }
  for (const rev of revs) assert.deepEqual(decodeRevisionKey(revisionKey(rev)), rev);
});

function inBounds(ik: Uint8Array, bounds: { gte: Uint8Array; lt: Uint8Array }): boolean {
  return compareBytes(ik, bounds.gte) >= 0 && compareBytes(ik, bounds.lt) < 0;
}

function startsWith(k: Uint8Array, p: Uint8Array): boolean {
  return k.length >= p.length && p.every((v, i) => k[i] === v);
}

test('prefix ranges select exactly the keys with the prefix, also at the 0xff boundary', () => {
  const r = rng(13);
  const prefixes: Uint8Array[] = [[0xff], [0x61, 0xff], [0xff, 0xff], [0x00], [0x00, 0xff], [0x61], [0xfe, 0xff, 0xff]].map((p) => Uint8Array.from(p));
  for (let i = 0; i < 200; i++) prefixes.push(randomKey(r).subarray(0, 3));
  for (const p of prefixes) {
    if (p.length === 0) continue;
    const bounds = indexRangeBounds(p, prefixEnd(p));
    const allFF = p.every((v) => v === 0xff);
    for (let j = 0; j < 300; j++) {
      const k = r() < 0.5 ? Uint8Array.from([...p, ...randomKey(r)]) : randomKey(r);
      if (k.length === 0) continue;
      const want = allFF ? compareBytes(k, p) >= 0 : startsWith(k, p);
      const rev = { main: BigInt(1 + Math.floor(r() * 1000)), sub: 0n };
      assert.equal(inBounds(indexKey(k, rev), bounds), want, `prefix ${[...p]} key ${[...k]}`);
    }
  }
});

test('range bounds: empty end = one key (all its revisions), "\\0" = every key ≥ key, end ≤ key = nothing', () => {
  const k = Uint8Array.of(0x61, 0x00);
  const one = indexRangeBounds(k, undefined);
  assert.ok(inBounds(indexKey(k, { main: 1n, sub: 0n }), one));
  assert.ok(inBounds(indexKey(k, { main: 2n ** 62n, sub: 5n }), one));
  assert.ok(!inBounds(indexKey(Uint8Array.of(0x61, 0x00, 0x00), { main: 1n, sub: 0n }), one));
  assert.ok(!inBounds(indexKey(Uint8Array.of(0x61), { main: 1n, sub: 0n }), one));
  const all = indexRangeBounds(Uint8Array.of(0), Uint8Array.of(0));
  assert.ok(inBounds(indexKey(Uint8Array.of(0), { main: 1n, sub: 0n }), all));
  assert.ok(inBounds(indexKey(Uint8Array.of(0xff, 0xff, 0xff), { main: 1n, sub: 0n }), all));
  const empty = indexRangeBounds(Uint8Array.of(0x62), Uint8Array.of(0x61));
  assert.ok(compareBytes(empty.gte, empty.lt) > 0);
});
