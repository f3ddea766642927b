import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { Wal } from '../../../pkg/storage/wal/index.js';
import { entrySize, type ConfState, type Entry } from '../../../pkg/raft/types.js';
import { Snapshotter } from '../../../pkg/server/snapshot/snapshotter.js';
import { tempDir } from '../../storage/engine/helpers.js';

const t = tempDir('snapshotter');
after(() => t.remove());
let n = 0;
const conf: ConfState = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const quiet = { info: () => {}, warn: () => {} };

/** A wal holding entries 1..count of `size` data bytes each, committed. */
async function walWith(count: number, size: number): Promise<{ engine: Engine; wal: Wal }> {
  const engine = await Engine.open(join(t.dir, String(n++)));
  const wal = await Wal.open(engine);
  const es: Entry[] = Array.from({ length: count }, (_, i) => ({ index: i + 1, term: 1, type: 0, data: new Uint8Array(size) }));
  await wal.save({ entries: es, hardState: { term: 1, vote: 1n, commit: count } });
  return { engine, wal };
}

describe('snapshotter: log compaction policy', () => {
  it('tailStart finds where the newest entries reach a byte budget', async () => {
    const { engine, wal } = await walWith(10, 100);
    const one = entrySize({ index: 1, term: 1, type: 0, data: new Uint8Array(100) });
    assert.equal(wal.tailStart(3 * one), 8); // entries 8, 9, 10
    assert.equal(wal.tailStart(3 * one - 1), 9);
    assert.equal(wal.tailStart(0), 11);
    assert.equal(wal.tailStart(Infinity), 1);
    await wal.close();
    await engine.close();
  });

  it('below --snapshot-count and the byte budget nothing happens', async () => {
    const { engine, wal } = await walWith(50, 1_000);
    const s = new Snapshotter({ wal, snapshotCount: 100, catchupEntries: 10, maxLogBytes: 1 << 20, catchupBytes: 1 << 20, confState: () => conf, logger: quiet });
    s.onApplied(50);
    await wal.idle();
    assert.equal(wal.snapshot().metadata.index, 0);
    assert.equal(wal.firstIndex(), 1);
    await wal.close();
    await engine.close();
  });

  it('every --snapshot-count entries: snapshot at the applied index, keep catchupEntries', async () => {
    const { engine, wal } = await walWith(120, 10);
    const s = new Snapshotter({ wal, snapshotCount: 100, catchupEntries: 30, maxLogBytes: 1 << 20, catchupBytes: 1 << 20, confState: () => conf, logger: quiet });
    s.onApplied(110);
    await wal.idle();
    assert.equal(wal.snapshot().metadata.index, 110);
    assert.equal(wal.firstIndex(), 81);
    await wal.close();
    await engine.close();
  });

  it('a log over the byte budget is snapshotted early and its kept tail is cut to catchupBytes', async () => {
    // 40 entries of ~10 KB: 400 KB retained, over a 256 KB budget, long before --snapshot-count.
    const { engine, wal } = await walWith(40, 10_000);
    const before = wal.stats().cachedBytes;
    const s = new Snapshotter({ wal, snapshotCount: 100_000, catchupEntries: 5_000, maxLogBytes: 256_000, catchupBytes: 50_000, confState: () => conf, logger: quiet });
    s.onApplied(40);
    await wal.idle();
    assert.equal(wal.snapshot().metadata.index, 40);
    assert.ok(wal.stats().cachedBytes <= 50_000, `kept ${wal.stats().cachedBytes} of ${before} bytes`);
    assert.equal(wal.firstIndex(), 37); // entries 37..40: four entries of ~10 KB fit in 50 KB
    await wal.close();
    await engine.close();
  });
});
