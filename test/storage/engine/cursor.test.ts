import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, del, isEngineError, put } from '../../../pkg/storage/engine/index.js';
import { b, s, tempDir } from './helpers.js';

describe('engine: cursor with seek', () => {
  const t = tempDir('cursor');
  let e: Engine;
  const keys = ['k/a', 'k/c', 'k/e', 'k/g', 'k/i'];
  before(async () => {
    e = await Engine.open(t.dir);
    await e.write([...keys.map((k) => put(b(k), b(k.slice(2)))), put(b('z'), b('outside'))]);
  });
  after(async () => {
    await e.close();
    t.remove();
  });

  const names = (kvs: { key: Uint8Array }[]): (string | undefined)[] => kvs.map((kv) => s(kv.key));

  it('seeks forward and back within bounds, one entry right after each seek', async () => {
    const c = e.cursor({ gte: b('k/'), lt: b('k0') });
    assert.deepEqual(names(await c.next()), ['k/a']);
    assert.deepEqual(names(await c.next()), ['k/c', 'k/e', 'k/g', 'k/i']);
    assert.deepEqual(await c.next(), []);
    c.seek(b('k/d')); // between keys: lands on the next one; revives a finished cursor
    assert.deepEqual(names(await c.next()), ['k/e']);
    c.seek(b('k/a'));
    assert.deepEqual(names(await c.next()), ['k/a']);
    c.seek(b('z')); // beyond the upper bound
    assert.deepEqual(await c.next(), []);
    await c.close();
    await c.close();
    await assert.rejects(c.next(), (err: unknown) => isEngineError(err, 'closed'));
  });

  it('reverse cursors seek to the last key at or below the target', async () => {
    const c = e.cursor({ gte: b('k/'), lt: b('k0'), reverse: true });
    c.seek(b('k/f'));
    assert.deepEqual(names(await c.next()), ['k/e']);
    assert.deepEqual(names(await c.next()), ['k/c', 'k/a']);
    c.seek(b('k/zzz'));
    assert.deepEqual(names(await c.next()), ['k/i']);
    await c.close();
  });

  it('every seek reads the snapshot taken when the cursor was created', async () => {
    const c = e.cursor({ gte: b('k/'), lt: b('k0') });
    await e.write([del(b('k/e')), put(b('k/f'), b('new'))]);
    c.seek(b('k/d'));
    assert.deepEqual(names(await c.next()), ['k/e']);
    assert.deepEqual(names(await c.next()), ['k/g', 'k/i']);
    await c.close();
    await e.write([put(b('k/e'), b('e')), del(b('k/f'))]);
  });

  it('refuses to seek or next while a next is pending (the binding would race)', async () => {
    const c = e.cursor({ gte: b('k/') });
    const pending = c.next();
    assert.throws(() => c.seek(b('k/c')), /pending/);
    await assert.rejects(c.next(), /pending/);
    assert.deepEqual(names(await pending), ['k/a']);
    await c.close();
  });
});
