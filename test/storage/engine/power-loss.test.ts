// The test-only power-loss model: after lose(), the database is exactly its state at the end of the
// last synced write, whatever unsynced puts, overwrites and deletes came after it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, PowerLossModel, put, del, delRange } from '../../../pkg/storage/engine/index.js';
import { tempDir, b, s, collect } from './helpers.js';

async function contents(e: Engine): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const kv of await collect(e.iterate())) out[s(kv.key) as string] = s(kv.value);
  return out;
}

/** An engine with a model whose "kill" resolves `died` instead of ending the test process. */
async function open(dir: string): Promise<{ engine: Engine; model: PowerLossModel; died: Promise<void> }> {
  let die = (): void => {};
  const died = new Promise<void>((r) => (die = r));
  const model = new PowerLossModel({ die: () => die() });
  return { engine: await Engine.open(dir, { powerLoss: model }), model, died };
}

describe('PowerLossModel', () => {
  it('drops every unsynced write since the last synced one, keeps the synced ones', async () => {
    const t = tempDir('powerloss');
    try {
      const { engine, model, died } = await open(t.dir);
      await engine.write([put(b('a'), b('1')), put(b('b'), b('1')), put(b('c'), b('1'))], { sync: true });
      await engine.write([put(b('a'), b('2'))]); // unsynced, then made durable by the next synced write
      await engine.write([put(b('d'), b('1'))], { sync: true });
      assert.equal(model.pendingKeys, 0);
      await engine.write([put(b('a'), b('3')), del(b('b')), put(b('e'), b('1'))]);
      await engine.write([put(b('a'), b('4')), delRange(b('c'), b('d\0'))]);
      assert.deepEqual(await contents(engine), { a: '4', e: '1' });
      assert.equal(model.pendingKeys, 5);
      model.lose();
      await died;
      await engine.close();
      const again = await Engine.open(t.dir);
      assert.deepEqual(await contents(again), { a: '2', b: '1', c: '1', d: '1' });
      await again.close();
    } finally {
      t.remove();
    }
  });

  it('after the power is lost no write happens or settles, queued or new', async () => {
    const t = tempDir('powerloss');
    try {
      const { engine, model, died } = await open(t.dir);
      await engine.write([put(b('k'), b('synced'))], { sync: true });
      let settled = 0;
      const first = engine.write([put(b('k'), b('unsynced'))]);
      await first;
      const unstarted = engine.write([put(b('k'), b('not started'))]);
      void unstarted.then(() => settled++, () => settled++);
      const queued = engine.write([put(b('q'), b('queued'))], { sync: true });
      model.lose();
      void queued.then(() => settled++, () => settled++);
      const later = engine.write([put(b('l'), b('later'))], { sync: true });
      void later.then(() => settled++, () => settled++);
      await died;
      assert.equal(settled, 0);
      await engine.close();
      const again = await Engine.open(t.dir);
      assert.deepEqual(await contents(again), { k: 'synced' });
      await again.close();
    } finally {
      t.remove();
    }
  });
});
