import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatcherIndex } from '../../../pkg/server/watch/matcher.js';
import { normalizeRange, rangeContains, type KeyRange } from '../../../pkg/server/watch/range.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

interface W {
  readonly name: string;
  readonly range: KeyRange;
}

function matches(idx: WatcherIndex<W>, key: string): string[] {
  const out: string[] = [];
  idx.forEachMatch(b(key), (w) => out.push(w.name));
  return out.sort();
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('normalizeRange (etcd semantics)', () => {
  it('empty key = \\0, empty end = one key, \\0 end = from key, key >= end = empty', () => {
    assert.deepEqual(normalizeRange(b(''), b('')), { key: b('\0') });
    assert.deepEqual(normalizeRange(b('a'), b('')), { key: b('a') });
    assert.deepEqual(normalizeRange(b('a'), b('\0')), { key: b('a'), end: new Uint8Array(0) });
    assert.equal(normalizeRange(b('b'), b('a')), null);
    assert.equal(normalizeRange(b('a'), b('a')), null);
    const all = normalizeRange(b(''), b('\0'));
    assert.ok(all !== null && rangeContains(all, b('\0')) && rangeContains(all, b('\xff\xff')));
  });
});

describe('WatcherIndex', () => {
  it('finds exact, prefix, nested and unbounded ranges', () => {
    const idx = new WatcherIndex<W>();
    const add = (name: string, key: string, end?: string): W => {
      const r = normalizeRange(b(key), b(end ?? ''));
      assert.ok(r !== null);
      const w = { name, range: r };
      idx.add(w);
      return w;
    };
    add('exact-foo', 'foo');
    add('prefix-f', 'f', 'g');
    const inner = add('prefix-foo', 'foo', 'fop');
    add('from-m', 'm', '\0');
    add('a-b', 'a', 'b');
    assert.deepEqual(matches(idx, 'foo'), ['exact-foo', 'prefix-f', 'prefix-foo']);
    assert.deepEqual(matches(idx, 'foz'), ['prefix-f']);
    assert.deepEqual(matches(idx, 'zz'), ['from-m']);
    assert.deepEqual(matches(idx, 'a'), ['a-b']);
    assert.deepEqual(matches(idx, 'b'), []);
    idx.remove(inner);
    assert.deepEqual(matches(idx, 'foo/x'), ['prefix-f']);
    assert.equal(idx.size, 4);
  });

  it('agrees with a linear scan on random ranges, adds and removes', () => {
    const rand = rng(7);
    const alphabet = 'abc\0\xff';
    const key = (max: number): string => {
      let s = '';
      const n = Math.floor(rand() * max);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      return s;
    };
    const idx = new WatcherIndex<W>();
    const live: W[] = [];
    for (let step = 0; step < 3000; step++) {
      const op = rand();
      if (op < 0.45 || live.length === 0) {
        const kind = rand();
        const k = key(4);
        const end = kind < 0.4 ? '' : kind < 0.55 ? '\0' : key(4);
        const r = normalizeRange(b(k), b(end));
        if (r === null) continue;
        const w = { name: `w${step}`, range: r };
        idx.add(w);
        live.push(w);
      } else if (op < 0.6) {
        const w = live.splice(Math.floor(rand() * live.length), 1)[0];
        if (w !== undefined) idx.remove(w);
      } else {
        const probe = key(5);
        const want = live.filter((w) => rangeContains(w.range, b(probe))).map((w) => w.name).sort();
        assert.deepEqual(matches(idx, probe), want, `probe ${JSON.stringify(probe)} at step ${step}`);
      }
    }
    assert.equal(idx.size, live.length);
  });
});
