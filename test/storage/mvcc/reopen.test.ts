/**
 * Durability across close/open: same revision, same data, same compaction point; and a physical
 * compaction interrupted between batches (the test hook plays the crash) resumes on open and ends
 * in exactly the state of an uninterrupted one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { del } from '../../../pkg/storage/engine/index.js';
import { META_COMPACT_FINISHED, META_COMPACT_SCHEDULED, META_HEADS } from '../../../pkg/storage/mvcc/keys.js';
import { b, errorKind, open, str, unwrap, withStore, type Fixture } from './helpers.js';

async function history(fx: Fixture): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await fx.store.put({ key: b(`k${i % 7}`), value: b(`v${i}`), lease: BigInt(i % 3) });
    if (i % 9 === 0) await fx.store.deleteRange({ key: b(`k${(i + 3) % 7}`) });
  }
}

async function dump(fx: Fixture): Promise<string> {
  const r = unwrap(await fx.store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }));
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v instanceof Uint8Array ? str(v) : v));
}

test('close and reopen: same revision, same data, same compaction revision', () =>
  withStore(async (fx) => {
    await history(fx);
    unwrap(await fx.store.compact({ revision: 30n, physical: true }));
    const before = { rev: fx.store.currentRevision, compacted: fx.store.compactRevision, data: await dump(fx) };
    const hashBefore = (await fx.store.hash()).hash;
    await fx.reopen();
    assert.deepEqual({ rev: fx.store.currentRevision, compacted: fx.store.compactRevision, data: await dump(fx) }, before);
    assert.equal((await fx.store.hash()).hash, hashBefore);
    assert.equal(errorKind(await fx.store.range({ key: b('k1'), revision: 29n })), 'compacted');
    unwrap(await fx.store.put({ key: b('after'), value: b('x') }));
    assert.equal(fx.store.currentRevision, before.rev + 1n);
  }));

test('revision survives reopen even when compaction removed every record', () =>
  withStore(async (fx) => {
    await fx.store.put({ key: b('a'), value: b('1') });
    await fx.store.deleteRange({ key: b('a') });
    await fx.store.put({ key: b('b'), value: b('1') });
    await fx.store.deleteRange({ key: b('b') }); // rev 5
    unwrap(await fx.store.compact({ revision: 5n, physical: true }));
    await fx.store.compact({ revision: 5n }); // no-op (compacted)
    await fx.reopen();
    assert.equal(fx.store.currentRevision, 5n);
    assert.equal(unwrap(await fx.store.put({ key: b('c'), value: b('1') })).response.header.revision, 6n);
  }));

test('a compaction interrupted between batches resumes on open and matches an uninterrupted one', async () => {
  // Reference: the same history, compacted without interruption.
  const reference = await open({ compactionBatchSize: 4 });
  let want: number;
  try {
    await history(reference);
    unwrap(await reference.store.compact({ revision: 50n, physical: true }));
    want = (await reference.store.hash()).hash;
  } finally {
    await reference.close();
  }

  let batches = 0;
  const crashing = await open({
    compactionBatchSize: 4,
    compactionHook: () => {
      batches++;
      return batches < 2; // "crash" after the second batch
    },
  });
  try {
    await history(crashing);
    unwrap(await crashing.store.compact({ revision: 50n }));
    await crashing.store.whenCompacted();
    assert.equal(batches, 2);
    const sched = await crashing.engine.get(META_COMPACT_SCHEDULED);
    const fin = await crashing.engine.get(META_COMPACT_FINISHED);
    assert.ok(sched !== undefined && fin === undefined, 'scheduled but not finished');
    assert.notEqual((await crashing.store.hash()).hash, want, 'really interrupted');
    // Reads at and above the compaction revision are already exact mid-compaction.
    const mid = await dump(crashing);
    await crashing.reopen({ compactionBatchSize: 4 });
    await crashing.store.whenCompacted();
    assert.ok((await crashing.engine.get(META_COMPACT_FINISHED)) !== undefined);
    assert.equal((await crashing.store.hash()).hash, want);
    assert.equal(await dump(crashing), mid);
    assert.equal(crashing.store.compactRevision, 50n);
  } finally {
    await crashing.close();
  }
});

test('reads at and above the compaction revision stay exact between every physical compaction batch', async () => {
  // The hook parks each finished batch here until the test has checked the reads.
  const parked: (() => void)[] = [];
  let wake: (() => void) | null = null;
  const fx = await open({
    compactionBatchSize: 3,
    compactionHook: () =>
      new Promise<boolean>((res) => {
        parked.push(() => res(true));
        wake?.();
      }),
  });
  try {
    await history(fx);
    const at = 40n;
    const read = (): Promise<string[]> =>
      Promise.all(
        [at, 50n, 0n].map(async (revision) =>
          JSON.stringify(unwrap(await fx.store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), revision })), big),
        ),
      );
    const expected = await read();
    unwrap(await fx.store.compact({ revision: at }));
    let finished = false;
    const done = fx.store.whenCompacted().then(() => {
      finished = true;
      wake?.();
    });
    let batches = 0;
    for (let guard = 0; guard < 1000 && !finished; guard++) {
      if (parked.length === 0) await new Promise<void>((res) => (wake = res));
      const next = parked.shift();
      if (next === undefined) continue;
      batches++;
      assert.deepEqual(await read(), expected, `after batch ${batches}`);
      next();
    }
    await done;
    assert.ok(batches > 3, `compaction ran in ${batches} batches`);
    assert.deepEqual(await read(), expected);
  } finally {
    await fx.close();
  }
});

function big(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}` : v instanceof Uint8Array ? str(v) : v;
}

test('a store written before head records existed keeps working by seeking (no marker, no heads)', () =>
  withStore(async (fx) => {
    await history(fx);
    const before = await dump(fx);
    // Play a database from before heads: drop the marker and every head record.
    const heads: Uint8Array[] = [];
    for await (const { key } of fx.engine.iterate({ gte: Uint8Array.of(0x12), lt: Uint8Array.of(0x13), values: false })) heads.push(key);
    assert.ok(heads.length > 0);
    await fx.engine.write([del(META_HEADS), ...heads.map((k) => del(k))]);
    await fx.reopen();
    assert.equal(await dump(fx), before);
    for (let i = 0; i < 7; i++) {
      const p = unwrap(await fx.store.put({ key: b(`k${i}`), value: b('again'), prevKv: true })).response;
      const live = unwrap(await fx.store.range({ key: b(`k${i}`), revision: p.header.revision - 1n })).kvs[0];
      assert.deepEqual(p.prevKv?.version, live?.version);
    }
    assert.equal(await fx.engine.get(META_HEADS), undefined);
  }));
