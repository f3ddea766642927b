import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine, Keyspace, keyspaceRange, put } from '../../../pkg/storage/engine/index.js';
import { Wal, isWalError } from '../../../pkg/storage/wal/index.js';
import { entryKey, HARD_STATE_KEY } from '../../../pkg/storage/wal/keys.js';
import { StorageError, entrySize, type ConfState, type Entry } from '../../../pkg/raft/types.js';
import { collect, tempDir } from '../engine/helpers.js';
import { entries, entry, payload } from './helpers.js';

const t = tempDir('wal');
after(() => t.remove());
let n = 0;

/** A fresh engine + wal in its own directory. */
async function fresh(): Promise<{ engine: Engine; wal: Wal; dir: string }> {
  const dir = join(t.dir, String(n++));
  const engine = await Engine.open(dir);
  return { engine, wal: await Wal.open(engine), dir };
}

async function reopen(dir: string, engine: Engine, wal: Wal): Promise<{ engine: Engine; wal: Wal }> {
  await wal.close();
  await engine.close();
  const e2 = await Engine.open(dir);
  return { engine: e2, wal: await Wal.open(e2) };
}

const storageError = (kind: string) => (err: unknown) => err instanceof StorageError && err.kind === kind;
const terms = (w: Wal): number[] => w.entries(w.firstIndex(), w.lastIndex() + 1, Infinity).map((e) => e.term);
const conf: ConfState = { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** Indexes of entries physically stored, waiting for background deletes first. */
async function storedIndexes(engine: Engine, wal: Wal): Promise<number[]> {
  await wal.idle(); // queued writes and background deletes
  const kvs = await collect(engine.iterate({ ...keyspaceRange(Keyspace.RaftLog), values: false }));
  return kvs.map((kv) => Number(Buffer.from(kv.key).readBigUInt64BE(1)));
}

describe('wal: empty log', () => {
  it('starts at index 1 with term(0) = 0 and an empty snapshot and hard state', async () => {
    const { engine, wal } = await fresh();
    assert.equal(wal.firstIndex(), 1);
    assert.equal(wal.lastIndex(), 0);
    assert.equal(wal.term(0), 0);
    assert.deepEqual(wal.entries(1, 1, 100), []);
    assert.throws(() => wal.term(1), storageError('unavailable'));
    assert.throws(() => wal.entries(1, 2, 100), storageError('unavailable'));
    assert.deepEqual(wal.initialState().hardState, { term: 0, vote: 0n, commit: 0 });
    assert.equal(wal.snapshot().metadata.index, 0);
    await wal.close();
    await engine.close();
  });
});

describe('wal: append, read, overwrite', () => {
  it('appends, answers term/entries/first/last, and honours maxBytes (but returns at least one)', async () => {
    const { engine, wal } = await fresh();
    await wal.save({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 1n, commit: 3 } });
    assert.equal(wal.firstIndex(), 1);
    assert.equal(wal.lastIndex(), 10);
    assert.equal(wal.term(10), 1);
    assert.deepEqual(wal.entries(3, 6, Infinity).map((e) => e.index), [3, 4, 5]);
    const two = entrySize(entry(3, 1)) + entrySize(entry(4, 1));
    assert.deepEqual(wal.entries(3, 9, two).map((e) => e.index), [3, 4]);
    assert.deepEqual(wal.entries(3, 9, two - 1).map((e) => e.index), [3]);
    assert.deepEqual(wal.entries(3, 9, 0).map((e) => e.index), [3]);
    assert.throws(() => wal.entries(0, 2, 100), storageError('compacted'));
    assert.throws(() => wal.entries(5, 12, 100), storageError('unavailable'));
    assert.deepEqual(wal.stats(), { firstIndex: 1, lastIndex: 10, cachedEntries: 10, cachedBytes: 10 * 24 + entries(1, 10, 1).reduce((s, e) => s + e.data.length, 0) });
    await wal.close();
    await engine.close();
  });

  it('a conflicting append replaces the suffix in memory and on disk, including stale longer tails', async () => {
    const { engine, wal, dir } = await fresh();
    await wal.save({ entries: entries(1, 10, 1) });
    const p = wal.save({ entries: entries(6, 7, 2), hardState: { term: 2, vote: 2n, commit: 5 } });
    // The synchronous view changes at once.
    assert.equal(wal.lastIndex(), 7);
    await p;
    assert.deepEqual(terms(wal), [1, 1, 1, 1, 1, 2, 2]);
    assert.deepEqual(await storedIndexes(engine, wal), [1, 2, 3, 4, 5, 6, 7]);
    const r = await reopen(dir, engine, wal);
    assert.deepEqual(terms(r.wal), [1, 1, 1, 1, 1, 2, 2]);
    assert.deepEqual([...(r.wal.entries(7, 8, 100)[0]?.data ?? [])], [...payload(7, 2)]);
    assert.deepEqual(r.wal.hardState, { term: 2, vote: 2n, commit: 5 });
    // Overwrite at the very end (append at last+1) and overwrite of a single middle entry.
    await r.wal.save({ entries: entries(8, 8, 2) });
    await r.wal.save({ entries: entries(3, 3, 3) });
    assert.deepEqual(terms(r.wal), [1, 1, 3]);
    await r.wal.close();
    await r.engine.close();
  });

  it('refuses appends that would break raft invariants, changing nothing', async () => {
    const { engine, wal } = await fresh();
    await wal.save({ entries: entries(1, 5, 2) });
    await assert.rejects(wal.save({ entries: entries(7, 8, 2) }), RangeError); // gap
    await assert.rejects(wal.save({ entries: entries(4, 5, 1) }), RangeError); // term decreases
    await assert.rejects(wal.save({ entries: [entry(6, 2), entry(8, 2)] }), RangeError); // not contiguous
    await assert.rejects(wal.save({ entries: entries(0, 1, 2) }), RangeError); // at or below log start
    assert.equal(wal.lastIndex(), 5);
    assert.deepEqual(terms(wal), [2, 2, 2, 2, 2]);
    await wal.close();
    await engine.close();
  });

  it('saves issued back to back reach disk in order, and an empty save is a barrier', async () => {
    const { engine, wal, dir } = await fresh();
    const order: number[] = [];
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) {
      saves.push(wal.save({ entries: [entry(i, 1)], hardState: { term: 1, vote: 0n, commit: i - 1 } }).then(() => void order.push(i)));
    }
    await wal.save({});
    assert.equal(order.length, 50);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    await Promise.all(saves);
    const r = await reopen(dir, engine, wal);
    assert.equal(r.wal.lastIndex(), 50);
    assert.equal(r.wal.hardState.commit, 49);
    await r.wal.close();
    await r.engine.close();
  });
});

describe('wal: snapshots and compaction', () => {
  it('createSnapshot records term from the log; compact discards entries up to it, also on disk', async () => {
    const { engine, wal, dir } = await fresh();
    await wal.save({ entries: [...entries(1, 5, 1), ...entries(6, 20, 2)], hardState: { term: 2, vote: 1n, commit: 15 } });
    await assert.rejects(wal.compact(10), RangeError); // no snapshot covers it yet
    const snap = await wal.createSnapshot(12, { confState: conf, data: Uint8Array.of(9, 9) });
    assert.equal(snap.metadata.term, 2);
    assert.equal(wal.snapshot().metadata.index, 12);
    await assert.rejects(wal.createSnapshot(12, { confState: conf, data: new Uint8Array(0) }), (e: unknown) =>
      isWalError(e, 'snapshot-out-of-date'),
    );
    await wal.compact(8); // keep a catch-up tail below the snapshot
    assert.equal(wal.firstIndex(), 9);
    assert.equal(wal.term(8), 2);
    assert.throws(() => wal.term(7), storageError('compacted'));
    assert.throws(() => wal.entries(8, 10, 100), storageError('compacted'));
    assert.equal(wal.entries(9, 10, 100)[0]?.index, 9);
    assert.equal(wal.stats().cachedEntries, 12);
    assert.deepEqual(await storedIndexes(engine, wal), entries(9, 20, 0).map((e) => e.index));
    await wal.compact(5); // already compacted: no-op
    assert.equal(wal.firstIndex(), 9);

    const r = await reopen(dir, engine, wal);
    assert.equal(r.wal.firstIndex(), 9);
    assert.equal(r.wal.lastIndex(), 20);
    assert.equal(r.wal.term(8), 2);
    assert.deepEqual(r.wal.snapshot().metadata, { index: 12, term: 2, confState: conf });
    assert.deepEqual([...r.wal.snapshot().data], [9, 9]);
    assert.deepEqual(r.wal.initialState().confState, conf);
    await r.wal.compact(12);
    assert.equal(r.wal.firstIndex(), 13);
    assert.equal(r.wal.term(12), 2);
    await r.wal.close();
    await r.engine.close();
  });

  it('a snapshot taken without compacting leaves the log start in place across a restart', async () => {
    const { engine, wal, dir } = await fresh();
    await wal.save({ entries: entries(1, 10, 1), hardState: { term: 1, vote: 0n, commit: 8 } });
    await wal.createSnapshot(8, { confState: conf, data: new Uint8Array(0) });
    const r = await reopen(dir, engine, wal);
    assert.equal(r.wal.firstIndex(), 1);
    assert.equal(r.wal.lastIndex(), 10);
    assert.equal(r.wal.snapshot().metadata.index, 8);
    await r.wal.close();
    await r.engine.close();
  });

  it('applySnapshot from a leader replaces the whole log, and entries may follow in the same Ready', async () => {
    const { engine, wal, dir } = await fresh();
    await wal.save({ entries: entries(1, 30, 1), hardState: { term: 1, vote: 1n, commit: 10 } });
    const snapshot = { metadata: { index: 25, term: 3, confState: conf }, data: Uint8Array.of(1) };
    await wal.save({ snapshot, entries: entries(26, 27, 3), hardState: { term: 3, vote: 0n, commit: 25 } });
    assert.equal(wal.firstIndex(), 26);
    assert.equal(wal.lastIndex(), 27);
    assert.equal(wal.term(25), 3);
    assert.deepEqual(terms(wal), [3, 3]);
    assert.deepEqual(await storedIndexes(engine, wal), [26, 27]);
    await assert.rejects(wal.applySnapshot(snapshot), (e: unknown) => isWalError(e, 'snapshot-out-of-date'));

    const r = await reopen(dir, engine, wal);
    assert.equal(r.wal.firstIndex(), 26);
    assert.deepEqual(terms(r.wal), [3, 3]);
    assert.equal(r.wal.snapshot().metadata.index, 25);
    // A snapshot far ahead of the log, alone.
    await r.wal.applySnapshot({ metadata: { index: 100, term: 4, confState: conf }, data: new Uint8Array(0) });
    assert.equal(r.wal.firstIndex(), 101);
    assert.equal(r.wal.lastIndex(), 100);
    assert.equal(r.wal.term(100), 4);
    assert.deepEqual(await storedIndexes(r.engine, r.wal), []);
    await r.wal.close();
    await r.engine.close();
  });
});

describe('wal: restart and corruption', () => {
  it('restart round-trips hard state, snapshot, log start and every entry byte for byte', async () => {
    const { engine, wal, dir } = await fresh();
    const written: Entry[] = [];
    for (let i = 1; i <= 2000; i += 100) {
      const batch = entries(i, i + 99, 1 + Math.floor(i / 500));
      written.push(...batch);
      await wal.save({ entries: batch, hardState: { term: 5, vote: 0xabcdefn, commit: i } });
    }
    await wal.createSnapshot(1500, { confState: conf, data: Uint8Array.of(7) });
    await wal.compact(1000);
    const r = await reopen(dir, engine, wal);
    assert.equal(r.wal.firstIndex(), 1001);
    assert.equal(r.wal.lastIndex(), 2000);
    for (const e of r.wal.entries(1001, 2001, Infinity)) {
      const w = written[e.index - 1] as Entry;
      assert.equal(e.term, w.term);
      assert.equal(e.type, w.type);
      assert.deepEqual([...e.data], [...w.data]);
    }
    assert.deepEqual(r.wal.hardState, { term: 5, vote: 0xabcdefn, commit: 1901 });
    await r.wal.close();
    await r.engine.close();
  });

  it('open fails with corrupt on a flipped bit, a gap, an entry under the wrong key, or a commit beyond the log', async () => {
    const cases: Array<[string, (e: Engine) => Promise<void>]> = [
      ['bit flip', async (e) => {
        const rec = (await e.get(entryKey(3))) as Uint8Array;
        const bad = Uint8Array.from(rec);
        bad[bad.length - 10] = (bad[bad.length - 10] ?? 0) ^ 4;
        await e.write([put(entryKey(3), bad)]);
      }],
      ['gap', async (e) => e.write([{ type: 'del', key: entryKey(3) }])],
      ['wrong key', async (e) => e.write([put(entryKey(3), (await e.get(entryKey(4))) as Uint8Array)])],
      ['commit beyond log', async (e) => {
        const { encodeHardState } = await import('../../../pkg/storage/wal/codec.js');
        await e.write([put(HARD_STATE_KEY, encodeHardState({ term: 1, vote: 0n, commit: 99 }))]);
      }],
    ];
    for (const [name, damage] of cases) {
      const { engine, wal, dir } = await fresh();
      await wal.save({ entries: entries(1, 5, 1), hardState: { term: 1, vote: 0n, commit: 2 } });
      await wal.close();
      await damage(engine);
      await engine.close();
      const e2 = await Engine.open(dir);
      await assert.rejects(Wal.open(e2), (err: unknown) => isWalError(err, 'corrupt'), name);
      await e2.close();
    }
  });

  it('open fails with unsupported-version on an unknown format', async () => {
    const { engine, wal } = await fresh();
    await wal.close();
    const { FORMAT_KEY } = await import('../../../pkg/storage/wal/keys.js');
    await engine.write([put(FORMAT_KEY, Uint8Array.of(2))]);
    await assert.rejects(Wal.open(engine), (err: unknown) => isWalError(err, 'unsupported-version'));
    await engine.close();
  });

  it('a failed write poisons the wal: that save and every later one reject with failed', async () => {
    const { engine, wal } = await fresh();
    await wal.save({ entries: entries(1, 2, 1) });
    await engine.close();
    await assert.rejects(wal.save({ entries: entries(3, 3, 1) }), (err: unknown) => isWalError(err, 'failed'));
    await assert.rejects(wal.save({ entries: entries(4, 4, 1) }), (err: unknown) => isWalError(err, 'failed'));
    await wal.close();
    await assert.rejects(wal.save({}), (err: unknown) => isWalError(err, 'closed'));
  });
});

describe('wal: stage and write (one engine batch with the caller\'s ops)', () => {
  it('stage changes the view at once; write stores the log and the extra ops atomically, once', async () => {
    const { engine, wal, dir } = await fresh();
    await wal.save({ entries: entries(1, 3, 1) });
    const staged = wal.stage({ entries: entries(4, 5, 1), hardState: { term: 1, vote: 1n, commit: 5 } });
    assert.equal(wal.lastIndex(), 5, 'the synchronous view reflects a staged update');
    assert.equal(staged.written, false);
    const extraKey = Uint8Array.of(Keyspace.Meta, 0x55);
    await wal.write(staged, [put(extraKey, Uint8Array.of(9))]);
    assert.equal(staged.written, true);
    await assert.rejects(wal.write(staged), /written twice/);
    const r = await reopen(dir, engine, wal);
    assert.equal(r.wal.lastIndex(), 5);
    assert.equal(r.wal.initialState().hardState.commit, 5);
    assert.deepEqual([...((await r.engine.get(extraKey)) ?? [])], [9]);
    await r.wal.close();
    await r.engine.close();
  });

  it('stage throws what save rejects with, changing nothing', async () => {
    const { engine, wal } = await fresh();
    await wal.save({ entries: entries(1, 3, 2) });
    assert.throws(() => wal.stage({ entries: entries(5, 6, 2) }), RangeError);
    await assert.rejects(wal.save({ entries: entries(5, 6, 2) }), RangeError);
    assert.equal(wal.lastIndex(), 3);
    await wal.close();
    assert.throws(() => wal.stage({ entries: entries(4, 4, 2) }), (err: unknown) => isWalError(err) && err.kind === 'closed');
    await engine.close();
  });
});
