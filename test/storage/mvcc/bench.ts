/**
 * MVCC benchmark (not a test). Run: node --expose-gc --import tsx test/storage/mvcc/bench.ts
 * Env: BENCH_OPS (default 20000) for the put/point-range phases, BENCH_KEYS (default 1000000) for the
 * memory phase, BENCH_VALUE (default 256) value bytes. Prints one line per measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { MvccStore, type RequestOp } from '../../../pkg/storage/mvcc/index.js';

const OPS = Number(process.env['BENCH_OPS'] ?? 20_000);
const KEYS = Number(process.env['BENCH_KEYS'] ?? 1_000_000);
const VALUE = Number(process.env['BENCH_VALUE'] ?? 256);
const te = new TextEncoder();
const key = (prefix: string, i: number): Uint8Array => te.encode(`${prefix}/${String(i).padStart(8, '0')}`);
const value = new Uint8Array(VALUE).fill(0x61);
const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) g();
}

function report(name: string, n: number, ms: number, unit = 'ops'): void {
  console.log(`${name.padEnd(44)} ${String(n).padStart(9)} ${unit} in ${(ms / 1000).toFixed(2)} s  = ${Math.round((n / ms) * 1000).toLocaleString('en-US')} ${unit}/s`);
}

const dir = mkdtempSync(join(tmpdir(), 'mvcc-bench-'));
const engine = await Engine.open(dir);
const store = await MvccStore.open(engine);
try {
  gc();
  console.log(`rss at start: ${mib(process.memoryUsage().rss)}`);

  // 1. put throughput: serial, as raft apply issues them (no fsync: the raft log is the durable record)
  let t = performance.now();
  for (let i = 0; i < OPS; i++) {
    const r = await store.put({ key: key('put', i % 5000), value });
    if (!r.ok) throw new Error(r.error.kind);
  }
  report('put (serial, 5000 keys, overwrite)', OPS, performance.now() - t);

  // 2. point range throughput: serial, and 16 in flight (reads are concurrent in the server)
  t = performance.now();
  for (let i = 0; i < OPS; i++) await store.range({ key: key('put', (i * 7919) % 5000) });
  report('point range (serial)', OPS, performance.now() - t);
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < OPS) {
        const i = next++;
        await store.range({ key: key('put', (i * 7919) % 5000) });
      }
    }),
  );
  report('point range (16 in flight)', OPS, performance.now() - t);

  // 3. range over 10,000 keys (values included), and count_only over the same
  for (let i = 0; i < 10_000; i += 100) {
    const ops: RequestOp[] = Array.from({ length: 100 }, (_, j) => ({ requestPut: { key: key('r10k', i + j), value } }));
    const r = await store.txn({ success: ops });
    if (!r.ok) throw new Error(r.error.kind);
  }
  const rangeReq = { key: te.encode('r10k/'), rangeEnd: te.encode('r10k0') };
  const reps = 10;
  t = performance.now();
  for (let i = 0; i < reps; i++) {
    const r = await store.range(rangeReq);
    if (!r.ok || r.value.kvs.length !== 10_000) throw new Error('range');
  }
  const ms = performance.now() - t;
  console.log(`${'range over 10,000 keys (256 B values)'.padEnd(44)} ${(ms / reps).toFixed(1)} ms per range`);
  t = performance.now();
  for (let i = 0; i < reps; i++) await store.range({ ...rangeReq, limit: 500n });
  console.log(`${'range limit 500 + count of 10,000 keys'.padEnd(44)} ${((performance.now() - t) / reps).toFixed(1)} ms per range`);
  t = performance.now();
  for (let i = 0; i < reps; i++) await store.range({ ...rangeReq, countOnly: true });
  console.log(`${'count_only over 10,000 keys'.padEnd(44)} ${((performance.now() - t) / reps).toFixed(1)} ms per range`);

  // 4. memory after KEYS distinct keys: loaded in txns of 100 puts (one revision each)
  t = performance.now();
  for (let i = 0; i < KEYS; i += 100) {
    const ops: RequestOp[] = Array.from({ length: Math.min(100, KEYS - i) }, (_, j) => ({ requestPut: { key: key('mem', i + j), value } }));
    const r = await store.txn({ success: ops });
    if (!r.ok) throw new Error(r.error.kind);
    if (i % 100_000 === 0 && i > 0) console.log(`  loaded ${i} keys, rss ${mib(process.memoryUsage().rss)}`);
  }
  report(`load ${KEYS} keys (txns of 100 puts)`, KEYS, performance.now() - t, 'keys');
  gc();
  const mem = process.memoryUsage();
  console.log(`after ${KEYS} keys: rss ${mib(mem.rss)}, js heap used ${mib(mem.heapUsed)}, external ${mib(mem.external)}`);
  const size = store.size();
  console.log(`db size ${mib(Number(size.dbSize))}, in use ${mib(Number(size.dbSizeInUse))}, rocksdb block cache + memtables are part of rss`);
} finally {
  await store.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
