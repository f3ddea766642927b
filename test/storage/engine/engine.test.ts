import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Engine, EngineError, del, delRange, isEngineError, put } from '../../../pkg/storage/engine/index.js';
import { b, collect, s, tempDir } from './helpers.js';

describe('engine: reads and writes', () => {
  const t = tempDir('engine');
  let e: Engine;
  before(async () => {
    e = await Engine.open(join(t.dir, 'db'));
  });
  after(async () => {
    await e.close();
    t.remove();
  });

  it('get returns undefined for absent keys and the stored bytes otherwise (including empty values)', async () => {
    await e.write([put(b('g/a'), b('1')), put(b('g/empty'), new Uint8Array(0))], { sync: true });
    assert.equal(s(await e.get(b('g/a'))), '1');
    assert.equal((await e.get(b('g/empty')))?.length, 0);
    assert.equal(await e.get(b('g/none')), undefined);
  });

  it('accepts Uint8Array views into larger buffers without copying the wrong bytes', async () => {
    const backing = b('xxKEYyyVALzz');
    await e.write([put(backing.subarray(2, 5), backing.subarray(7, 10))]);
    assert.equal(s(await e.get(b('KEY'))), 'VAL');
  });

  it('plain Uint8Array views (not Buffers) at an offset work as keys, values, bounds and seek targets everywhere', async () => {
    // The binding is handed Uint8Arrays as they are (no Buffer wrapping): each entry point must read
    // exactly the view's bytes, not its whole backing store.
    const view = (str: string): Uint8Array => {
      const backing = new Uint8Array(str.length + 6).fill(0x7a);
      backing.set(b(str), 3);
      return backing.subarray(3, 3 + str.length);
    };
    const big = new Uint8Array(1 << 20).fill(1).subarray(5, (1 << 20) - 5); // over 1 MiB: written through batch_do
    await e.write([put(view('v/a'), view('A')), put(view('v/b'), view('B'))]);
    await e.write([put(view('v/c'), big), put(view('v/d'), view('D')), del(view('v/a'))]);
    assert.equal(await e.get(view('v/a')), undefined);
    assert.equal(s(await e.get(view('v/b'))), 'B');
    assert.deepEqual((await e.getMany([view('v/d'), view('v/a'), view('v/b')])).map(s), ['D', undefined, 'B']);
    assert.equal((await e.get(view('v/c')))?.length, big.length);
    const keys = (await collect(e.iterate({ gt: view('v/b'), lte: view('v/d'), values: false }))).map((kv) => s(kv.key));
    assert.deepEqual(keys, ['v/c', 'v/d']);
    const c = e.cursor({ gte: view('v/'), lt: view('v0') });
    try {
      c.seek(view('v/c'));
      assert.deepEqual((await c.next()).map((kv) => s(kv.key)), ['v/c']);
    } finally {
      await c.close();
    }
  });

  it('getMany answers in order with undefined holes', async () => {
    await e.write([put(b('m/1'), b('one')), put(b('m/3'), b('three'))]);
    const got = await e.getMany([b('m/3'), b('m/2'), b('m/1')]);
    assert.deepEqual(got.map(s), ['three', undefined, 'one']);
    assert.deepEqual(await e.getMany([]), []);
  });

  it('a batch applies its operations in order', async () => {
    await e.write([put(b('o/k'), b('first')), del(b('o/k')), put(b('o/j'), b('a')), put(b('o/j'), b('b'))]);
    assert.equal(await e.get(b('o/k')), undefined);
    assert.equal(s(await e.get(b('o/j'))), 'b');
  });

  it('a batch above 1 MiB (written through batch_do) and one below (a chained native batch) read back alike', async () => {
    const value = randomBytes(64 * 1024);
    for (const [prefix, count] of [
      ['small', 4],
      ['large', 20],
    ] as const) {
      await e.write([put(b(`${prefix}/gone`), b('x'))]);
      const ops = Array.from({ length: count }, (_, i) => put(b(`${prefix}/${String(i).padStart(2, '0')}`), value));
      await e.write([...ops, del(b(`${prefix}/gone`)), put(b(`${prefix}/00`), b('last wins'))], { sync: true });
      const got = await collect(e.iterate({ gte: b(`${prefix}/`), lt: b(`${prefix}0`) }));
      assert.deepEqual(
        got.map((kv) => s(kv.key)),
        ops.map((op) => s((op as { key: Uint8Array }).key)),
      );
      assert.equal(s(got[0]?.value), 'last wins');
      for (const kv of got.slice(1)) assert.ok(Buffer.from(kv.value).equals(value));
    }
  });

  it('empty keys are refused as a broken invariant, and nothing of their batch is written', async () => {
    await assert.rejects(e.write([put(b('half/a'), b('1')), put(new Uint8Array(0), b('v'))]), RangeError);
    assert.equal(await e.get(b('half/a')), undefined);
    await assert.rejects(e.write([put(new Uint8Array(0), b('v'))]), RangeError);
    await assert.rejects(e.get(new Uint8Array(0)), RangeError);
  });

  it('readers never see part of a batch (atomicity under concurrent reads)', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => b(`atom/${String(i).padStart(3, '0')}`));
    const writes: Promise<void>[] = [];
    const views: Promise<(Uint8Array | undefined)[]>[] = [];
    for (let round = 0; round < 40; round++) {
      writes.push(e.write(keys.map((k) => put(k, b(String(round))))));
      views.push(e.getMany(keys));
      views.push(collect(e.iterate({ gte: b('atom/'), lt: b('atom0') })).then((kvs) => kvs.map((kv) => kv.value)));
    }
    await Promise.all(writes);
    for (const view of await Promise.all(views)) {
      // A view taken before the first batch committed is empty (iterate) or all-absent (getMany).
      if (view.length === 0) continue;
      assert.equal(view.length, 50);
      const distinct = new Set(view.map(s));
      assert.equal(distinct.size, 1, `a view mixed batches: ${[...distinct].join(',')}`);
    }
  });
});

describe('engine: iterators', () => {
  const t = tempDir('iter');
  let e: Engine;
  const all = ['i/a', 'i/b', 'i/c', 'i/d', 'i/e'];
  const keysOf = async (it: AsyncIterable<{ key: Uint8Array }>): Promise<string[]> =>
    (await collect(it)).map((kv) => s(kv.key) ?? '');
  before(async () => {
    e = await Engine.open(t.dir);
    await e.write([...all.map((k) => put(b(k), b(k.toUpperCase()))), put(b('h'), b('before')), put(b('j'), b('after'))]);
  });
  after(async () => {
    await e.close();
    t.remove();
  });

  it('honours gte/lt, gt/lte and open bounds', async () => {
    assert.deepEqual(await keysOf(e.iterate({ gte: b('i/b'), lt: b('i/d') })), ['i/b', 'i/c']);
    assert.deepEqual(await keysOf(e.iterate({ gt: b('i/b'), lte: b('i/d') })), ['i/c', 'i/d']);
    assert.deepEqual(await keysOf(e.iterate({ gte: b('i/'), lt: b('i0') })), all);
    assert.deepEqual(await keysOf(e.iterate({ lt: b('i/') })), ['h']);
    assert.deepEqual(await keysOf(e.iterate({ gt: b('i/e') })), ['j']);
    assert.deepEqual(await keysOf(e.iterate({ gte: b('x') })), []);
  });

  it('reverses, limits, and skips values when asked', async () => {
    assert.deepEqual(await keysOf(e.iterate({ gte: b('i/'), lt: b('i0'), reverse: true })), [...all].reverse());
    assert.deepEqual(await keysOf(e.iterate({ gt: b('i/a'), lte: b('i/d'), reverse: true, limit: 2 })), ['i/d', 'i/c']);
    assert.deepEqual(await keysOf(e.iterate({ gte: b('i/'), limit: 0 })), []);
    const kvs = await collect(e.iterate({ gte: b('i/'), lt: b('i0'), values: false }));
    assert.equal(kvs.length, 5);
    assert.ok(kvs.every((kv) => kv.value.length === 0));
    const withValues = await collect(e.iterate({ gte: b('i/c'), limit: 1 }));
    assert.equal(s(withValues[0]?.value), 'I/C');
  });

  it('chunks are bounded and cover the range exactly once', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => put(b(`c/${String(i).padStart(5, '0')}`), new Uint8Array(100)));
    await e.write(many);
    const chunks = await collect(e.iterateChunks({ gte: b('c/'), lt: b('c0'), chunkBytes: 4096 }));
    assert.ok(chunks.length > 10, `expected many chunks, got ${chunks.length}`);
    assert.ok(chunks.every((c) => c.length <= 1000));
    const flat = chunks.flat().map((kv) => s(kv.key));
    assert.equal(flat.length, 2500);
    assert.equal(new Set(flat).size, 2500);
    await e.write([delRange(b('c/'), b('c0'))]);
  });

  it('read-ahead yields the same chunks, and stopping early with a chunk in flight closes cleanly', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => put(b(`r/${String(i).padStart(5, '0')}`), new Uint8Array(100)));
    await e.write(many);
    const range = { gte: b('r/'), lt: b('r0'), chunkBytes: 4096 };
    const plain = (await collect(e.iterateChunks(range))).map((c) => c.map((kv) => s(kv.key)));
    const ahead = (await collect(e.iterateChunks({ ...range, readAhead: true }))).map((c) => c.map((kv) => s(kv.key)));
    assert.ok(plain.length > 10);
    assert.deepEqual(ahead, plain);
    // stop after the second chunk: the third is being read; the iterator ends without error and the
    // engine stays usable
    let seen = 0;
    for await (const chunk of e.iterateChunks({ ...range, readAhead: true })) {
      assert.ok(chunk.length > 0);
      if (++seen === 2) break;
    }
    assert.equal(seen, 2);
    await e.write([delRange(b('r/'), b('r0'))]);
    assert.deepEqual(await keysOf(e.iterate({ gte: b('r/'), lt: b('r0') })), []);
  });

  it('reads a consistent view while the range is rewritten underneath', async () => {
    const it = e.iterate({ gte: b('i/'), lt: b('i0'), chunkBytes: 1 });
    const first = await it.next();
    assert.equal(s(first.done === true ? undefined : first.value.key), 'i/a');
    await e.write([del(b('i/b')), put(b('i/bb'), b('new')), put(b('i/c'), b('changed'))]);
    const rest: string[] = [];
    for await (const kv of it) rest.push(`${s(kv.key)}=${s(kv.value)}`);
    assert.deepEqual(rest, ['i/b=I/B', 'i/c=I/C', 'i/d=I/D', 'i/e=I/E']);
    // A new iterator sees the writes; restore the fixture.
    assert.deepEqual(await keysOf(e.iterate({ gte: b('i/'), lt: b('i0') })), ['i/a', 'i/bb', 'i/c', 'i/d', 'i/e']);
    await e.write([put(b('i/b'), b('I/B')), del(b('i/bb')), put(b('i/c'), b('I/C'))]);
  });

  it('breaking out of a loop ends the iterator (close does not wait for it)', async () => {
    for await (const kv of e.iterate({ gte: b('i/') })) {
      assert.equal(s(kv.key), 'i/a');
      break;
    }
  });
});

describe('engine: delete range', () => {
  const t = tempDir('delrange');
  let e: Engine;
  before(async () => {
    e = await Engine.open(t.dir, { maxDeleteRangeKeys: 100 });
  });
  after(async () => {
    await e.close();
    t.remove();
  });

  it('delRange deletes stored keys and keys put earlier in the batch, but not later puts or neighbours', async () => {
    await e.write([put(b('d/1'), b('x')), put(b('d/2'), b('x')), put(b('d0'), b('neighbour')), put(b('c'), b('neighbour'))]);
    await e.write([put(b('d/3'), b('earlier')), delRange(b('d/'), b('d0')), put(b('d/4'), b('later'))]);
    const keys = (await collect(e.iterate())).map((kv) => s(kv.key));
    assert.deepEqual(keys, ['c', 'd/4', 'd0']);
  });

  it('a delRange beyond the bound fails with range-too-large and writes nothing', async () => {
    await e.write(Array.from({ length: 150 }, (_, i) => put(b(`r/${String(i).padStart(3, '0')}`), b('v'))));
    await assert.rejects(
      e.write([put(b('marker'), b('1')), delRange(b('r/'), b('r0'))]),
      (err: unknown) => isEngineError(err, 'range-too-large'),
    );
    assert.equal(await e.get(b('marker')), undefined);
    assert.equal((await collect(e.iterate({ gte: b('r/'), lt: b('r0') }))).length, 150);
  });

  it('clear deletes a large range in bounded native batches', async () => {
    await e.clear({ gte: b('r/'), lt: b('r/100') });
    const left = (await collect(e.iterate({ gte: b('r/'), lt: b('r0') }))).map((kv) => s(kv.key));
    assert.equal(left.length, 50);
    assert.equal(left[0], 'r/100');
  });
});

describe('engine: maintenance', () => {
  const t = tempDir('maint');
  let e: Engine;
  before(async () => {
    e = await Engine.open(t.dir, { writeBufferSizeBytes: 1 << 20 });
  });
  after(async () => {
    await e.close();
    t.remove();
  });

  it('compactRange flushes data to SST files that approximateSize and properties report', async () => {
    const value = randomBytes(1000); // incompressible, so sizes are predictable
    for (let round = 0; round < 5; round++) {
      await e.write(Array.from({ length: 1000 }, (_, i) => put(b(`s/${round}/${String(i).padStart(4, '0')}`), value)));
    }
    await e.compactRange();
    const sst = Number(e.getProperty('rocksdb.total-sst-files-size'));
    assert.ok(sst > 1_000_000, `total-sst-files-size ${sst}`);
    const keys = Number(e.getProperty('rocksdb.estimate-num-keys'));
    assert.ok(keys >= 4000 && keys <= 6000, `estimate-num-keys ${keys}`);
    const size = await e.approximateSize({ gte: b('s/'), lt: b('s0') });
    assert.ok(size > 1_000_000, `approximateSize ${size}`);
    assert.equal(await e.approximateSize({ gte: b('t/'), lt: b('t0') }), 0);
    assert.equal(e.getProperty('rocksdb.no-such-property'), undefined);
  });

  it('compaction after deleting a range reclaims its space', async () => {
    const before = Number(e.getProperty('rocksdb.total-sst-files-size'));
    await e.clear({ gte: b('s/'), lt: b('s0') });
    await e.compactRange({ gte: b('s/'), lt: b('s0') });
    const afterSize = Number(e.getProperty('rocksdb.total-sst-files-size'));
    assert.ok(afterSize < before / 10, `sst size ${before} -> ${afterSize}`);
  });
});

describe('engine: lifecycle and errors', () => {
  const t = tempDir('errors');
  after(() => t.remove());

  it('a second open of a directory already open fails with kind locked', async () => {
    const dir = join(t.dir, 'locked');
    const e = await Engine.open(dir);
    await assert.rejects(Engine.open(dir), (err: unknown) => {
      assert.ok(isEngineError(err, 'locked'), String(err));
      assert.match(err.message, /^engine: database is locked/);
      return true;
    });
    await e.close();
    const again = await Engine.open(dir);
    await again.close();
  });

  it('calls after close reject with kind closed; close is idempotent', async () => {
    const e = await Engine.open(join(t.dir, 'closed'));
    await e.write([put(b('k'), b('v'))]);
    const first = e.close();
    assert.equal(e.close(), first);
    await first;
    assert.equal(e.isOpen, false);
    await assert.rejects(e.get(b('k')), (err: unknown) => isEngineError(err, 'closed'));
    await assert.rejects(e.write([put(b('k'), b('v'))]), (err: unknown) => isEngineError(err, 'closed'));
    await assert.rejects(collect(e.iterate()), (err: unknown) => isEngineError(err, 'closed'));
    assert.throws(() => e.getProperty('rocksdb.stats'), (err: unknown) => isEngineError(err, 'closed'));
  });

  it('an iterator open across close ends with kind closed instead of crashing', async () => {
    const e = await Engine.open(join(t.dir, 'iterclose'));
    await e.write(Array.from({ length: 100 }, (_, i) => put(b(`k${String(i).padStart(3, '0')}`), b('v'))));
    const it = e.iterate({ chunkBytes: 1 });
    assert.equal((await it.next()).done, false);
    await e.close();
    await assert.rejects(collect(it), (err: unknown) => isEngineError(err, 'closed'));
  });

  it('createIfMissing=false on an empty directory fails with not-found; errorIfExists with already-exists', async () => {
    await assert.rejects(Engine.open(join(t.dir, 'absent'), { createIfMissing: false }), (err: unknown) =>
      isEngineError(err, 'not-found'),
    );
    const dir = join(t.dir, 'exists');
    await (await Engine.open(dir)).close();
    await assert.rejects(Engine.open(dir, { errorIfExists: true }), (err: unknown) => isEngineError(err, 'already-exists'));
  });

  it('a corrupt CURRENT file fails with kind corruption', async () => {
    const dir = join(t.dir, 'corrupt');
    await (await Engine.open(dir)).close();
    writeFileSync(join(dir, 'CURRENT'), 'garbage-without-newline');
    await assert.rejects(Engine.open(dir), (err: unknown) => {
      assert.ok(isEngineError(err, 'corruption'), String(err));
      return true;
    });
  });

  it('repair and destroy work on a closed database', async () => {
    const dir = join(t.dir, 'repair');
    const e = await Engine.open(dir);
    await e.write([put(b('k'), b('v'))], { sync: true });
    await e.close();
    await Engine.repair(dir);
    const r = await Engine.open(dir);
    assert.equal(s(await r.get(b('k'))), 'v');
    await r.close();
    await Engine.destroy(dir);
    await assert.rejects(Engine.open(dir, { createIfMissing: false }), EngineError);
  });
});
