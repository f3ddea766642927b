/**
 * Storage micro-benchmarks (`npm run bench:storage`): the raft log (Wal) and the MVCC store on a real
 * RocksDB in a temp dir, without raft or gRPC. Numbers are per process on a shared machine: compare
 * runs of the same machine, not absolute values. Server-level numbers against etcd (RSS and restart
 * with 1,000,000 keys) are in `npm run bench` (docs/benchmarks.md).
 *
 *   synced raft appends: Wal.save of one 256-byte entry per Ready, 1 and 64 Readies in flight (group
 *     commit: the second shows how many Readies share one fsync)
 *   MVCC put: one put per engine batch (unbatched apply), and Txns of 100 puts
 *   MVCC range: one key, and a range over 10,000 keys
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../pkg/storage/engine/index.js';
import { Wal } from '../../pkg/storage/wal/index.js';
import { MvccStore } from '../../pkg/storage/mvcc/index.js';
import type { Entry } from '../../pkg/raft/types.js';

interface Row {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly note?: string;
}

const smoke = process.argv.includes('--smoke');
const scale = (n: number): number => (smoke ? Math.max(10, Math.floor(n / 20)) : n);
const enc = (s: string): Uint8Array => Buffer.from(s);
const value = new Uint8Array(256).fill(0x61);

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function walAppends(root: string, inFlight: number, total: number): Promise<Row> {
  const engine = await Engine.open(join(root, `wal-${inFlight}`));
  const wal = await Wal.open(engine);
  let next = 1;
  const seconds = await time(async () => {
    const pending = new Set<Promise<void>>();
    for (let i = 0; i < total; i++) {
      const e: Entry = { index: next, term: 1, type: 0, data: value };
      const p = wal.save({ entries: [e], hardState: { term: 1, vote: 1n, commit: next - 1 } });
      next++;
      pending.add(p);
      void p.finally(() => pending.delete(p));
      if (pending.size >= inFlight) await Promise.race(pending);
    }
    await Promise.all(pending);
  });
  await wal.close();
  await engine.close();
  return { name: `synced raft appends, ${inFlight} in flight (256 B entries)`, ops: total, seconds };
}

async function mvcc(root: string): Promise<Row[]> {
  const engine = await Engine.open(join(root, 'mvcc'));
  const store = await MvccStore.open(engine);
  const rows: Row[] = [];
  const puts = scale(20_000);
  rows.push({
    name: 'MVCC put, one per engine batch',
    ops: puts,
    seconds: await time(async () => {
      for (let i = 0; i < puts; i++) {
        const r = await store.put({ key: enc(`p/${String(i % 5_000).padStart(6, '0')}`), value });
        if (!r.ok) throw new Error(`put: ${JSON.stringify(r)}`);
      }
    }),
  });
  const txns = scale(400);
  rows.push({
    name: 'MVCC put, Txns of 100 puts (rate in puts)',
    ops: txns * 100,
    seconds: await time(async () => {
      for (let t = 0; t < txns; t++) {
        const success = Array.from({ length: 100 }, (_, j) => ({ requestPut: { key: enc(`t/${String(t * 100 + j).padStart(8, '0')}`), value } }));
        const r = await store.txn({ compare: [], success, failure: [] });
        if (!r.ok) throw new Error(`txn: ${JSON.stringify(r)}`);
      }
    }),
  });
  // 10,000 keys under r/ for the range scans.
  for (let b = 0; b < 100; b++) {
    const success = Array.from({ length: 100 }, (_, j) => ({ requestPut: { key: enc(`r/${String(b * 100 + j).padStart(6, '0')}`), value } }));
    const r = await store.txn({ compare: [], success, failure: [] });
    if (!r.ok) throw new Error('txn');
  }
  const gets = scale(20_000);
  rows.push({
    name: 'MVCC range, one key',
    ops: gets,
    seconds: await time(async () => {
      for (let i = 0; i < gets; i++) {
        const r = await store.range({ key: enc(`p/${String(i % 5_000).padStart(6, '0')}`) });
        if (!r.ok || r.value.kvs.length !== 1) throw new Error('range');
      }
    }),
  });
  const scans = scale(40);
  rows.push({
    name: 'MVCC range over 10,000 keys (rate in ranges)',
    ops: scans,
    seconds: await time(async () => {
      for (let i = 0; i < scans; i++) {
        const r = await store.range({ key: enc('r/'), rangeEnd: enc('r0') });
        if (!r.ok || r.value.kvs.length !== 10_000) throw new Error(`scan: ${r.ok ? r.value.kvs.length : JSON.stringify(r)}`);
      }
    }),
  });
  await store.close();
  await engine.close();
  return rows;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-bench-storage-'));
  try {
    const rows: Row[] = [];
    rows.push(await walAppends(root, 1, scale(2_000)));
    rows.push(await walAppends(root, 64, scale(40_000)));
    rows.push(...(await mvcc(root)));
    console.log('| measure | ops | seconds | ops/s |');
    console.log('|---|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.name} | ${r.ops.toLocaleString('en-US')} | ${r.seconds.toFixed(2)} | ${Math.round(r.ops / r.seconds).toLocaleString('en-US')} |`);
    console.log(JSON.stringify({ date: new Date().toISOString(), smoke, rows }));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
