/**
 * WAL benchmark (not a test): synced appends per second with batches of 1, 10 and 100 entries of
 * 256 bytes, one save (one fsync) per batch, awaited one at a time like a raft Ready loop.
 *
 *   node --import tsx test/storage/bench-wal.ts [seconds-per-case]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../pkg/storage/engine/index.js';
import { Wal } from '../../pkg/storage/wal/index.js';
import type { Entry } from '../../pkg/raft/types.js';

const seconds = Number(process.argv[2] ?? '3');
const data = new Uint8Array(256).map((_, i) => (i * 31) & 0xff);

async function bench(batch: number, pipelined: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-wal-'));
  const engine = await Engine.open(dir);
  const wal = await Wal.open(engine);
  const fsyncs: number[] = [];
  let index = 0;
  let saves = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  // Bounded by the deadline; each iteration does real work.
  while (performance.now() < deadline) {
    const ents: Entry[] = [];
    for (let k = 0; k < batch; k++) ents.push({ index: ++index, term: 1, type: 0, data });
    const p = wal.save({ entries: ents, hardState: { term: 1, vote: 1n, commit: index } });
    saves++;
    if (pipelined) {
      inflight.push(p);
      if (inflight.length >= 4) await inflight.shift();
    } else {
      const s = performance.now();
      await p;
      fsyncs.push(performance.now() - s);
    }
    if (wal.stats().cachedEntries > 200_000) {
      await wal.createSnapshot(index, { confState: wal.initialState().confState, data: new Uint8Array(0) });
      await wal.compact(index - 1000);
    }
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - t0) / 1000;
  fsyncs.sort((a, b) => a - b);
  const p50 = fsyncs[Math.floor(fsyncs.length / 2)];
  const p99 = fsyncs[Math.floor(fsyncs.length * 0.99)];
  console.log(
    `batch=${String(batch).padStart(3)} ${pipelined ? 'pipelined(4)' : 'sequential  '} ` +
      `${(saves / elapsed).toFixed(0).padStart(6)} saves/s  ${(index / elapsed).toFixed(0).padStart(7)} entries/s  ` +
      `${((index * 256) / elapsed / 1e6).toFixed(1).padStart(5)} MB/s` +
      (p50 === undefined ? '' : `  save latency p50 ${p50.toFixed(2)} ms p99 ${(p99 ?? 0).toFixed(2)} ms`),
  );
  await wal.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Restart cost: Wal.open of a log of `count` 256-byte entries (checksums verified on load). */
async function restart(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-wal-'));
  let engine = await Engine.open(dir);
  let wal = await Wal.open(engine);
  for (let i = 1; i <= count; i += 1000) {
    const ents: Entry[] = [];
    for (let k = i; k < i + 1000 && k <= count; k++) ents.push({ index: k, term: 1, type: 0, data });
    await wal.save({ entries: ents });
  }
  await wal.close();
  await engine.close();
  const t0 = performance.now();
  engine = await Engine.open(dir);
  wal = await Wal.open(engine);
  const ms = performance.now() - t0;
  console.log(`restart: Engine.open + Wal.open of ${wal.lastIndex()} entries (${((count * 256) / 1e6).toFixed(0)} MB) in ${ms.toFixed(0)} ms`);
  await wal.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

for (const batch of [1, 10, 100]) await bench(batch, false);
await bench(1, true);
await restart(100_000);
