/**
 * Differential test: a seeded random sequence of Put / DeleteRange / Txn / Range / Compact (and
 * event reads, reopen) against MvccStore on a real RocksDB and against the in-memory reference model;
 * every response field, every event and every error must match. On failure the message names the
 * seed and the op index (rerun one seed with MVCC_SEED=<seed>).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { ChainConflict, MvccStore, type Prepared, type Result } from '../../../pkg/storage/mvcc/index.js';
import { Gen } from './gen.js';
import { ReferenceStore, type Outcome } from './reference-model.js';

const OPS_PER_SEED = Number(process.env['MVCC_OPS'] ?? 25_000);
const SEEDS = process.env['MVCC_SEED'] !== undefined ? [Number(process.env['MVCC_SEED'])] : [1, 2, 3, 4, 5, 6];
/**
 * Seeds ≥ 5 chain their writes as raft apply does: writes are prepared one after the other while
 * earlier ones are still pending (each must see the previous ones' effects) and committed together in
 * ONE engine batch, at random points and before every read, compaction, event read or reopen (reads
 * never see pending writes). A ChainConflict commits the chain and prepares again.
 */
const CHAINED_FROM_SEED = 5;
const MAX_TXN_OPS = 8;
const leaseExists = (id: bigint): boolean => id !== 4n;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** JSON-comparable form: bigint → "123n", bytes → hex. */
function norm(x: unknown): unknown {
  if (typeof x === 'bigint') return `${x}n`;
  if (x instanceof Uint8Array) return `0x${Buffer.from(x).toString('hex')}`;
  if (Array.isArray(x)) return x.map(norm);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) out[k] = norm(v);
    return out;
  }
  return x;
}

function fromStore(res: Result<unknown>, withEvents: boolean): Outcome {
  if (!res.ok) return { ok: false, kind: res.error.kind };
  if (!withEvents) return { ok: true, value: res.value };
  const p = res.value as { response: unknown; events: never[] };
  return { ok: true, value: p.response, events: p.events };
}

async function runSeed(seed: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), `mvcc-diff-${seed}-`));
  dirs.push(dir);
  const engine = await Engine.open(dir);
  // Seeds also vary the cache: default, disabled, tiny (evictions, values mostly uncached).
  const cache = [{}, { cacheEntries: 0 }, { cacheEntries: 8, cacheValueBytes: 1 }][seed % 3] ?? {};
  const opts = { maxTxnOps: MAX_TXN_OPS, leaseExists, compactionBatchSize: 7, ...cache };
  let store = await MvccStore.open(engine, opts);
  const ref = new ReferenceStore(MAX_TXN_OPS, leaseExists);
  const g = new Gen(seed);
  let ops = 0;
  const timing = new Map<string, { n: number; ms: number }>();
  const chained = seed >= CHAINED_FROM_SEED;
  let chain: Prepared<unknown>[] = [];
  let conflicts = 0;
  const commitChain = async (): Promise<void> => {
    if (chain.length === 0) return;
    await engine.write(chain.flatMap((p) => [...p.ops]));
    for (const p of chain) store.markCommitted(p);
    chain = [];
  };
  /** A write: one call, or (chained) a prepare added to the chain. */
  const write = async <R>(prepare: () => Promise<Result<Prepared<R>>>, oneCall: () => Promise<Result<Prepared<R>>>): Promise<Result<Prepared<R>>> => {
    if (!chained) return oneCall();
    let res: Result<Prepared<R>>;
    try {
      res = await prepare();
    } catch (e) {
      if (!(e instanceof ChainConflict)) throw e;
      conflicts++;
      await commitChain();
      res = await prepare();
    }
    if (res.ok) chain.push(res.value);
    if (g.chance(0.15)) await commitChain();
    return res;
  };
  try {
    for (let i = 0; i < OPS_PER_SEED; i++) {
      const x = g.r();
      if (chained && (x < 0.3 || x >= 0.97)) await commitChain();
      const started = performance.now();
      let req: unknown;
      let got: Outcome;
      let want: Outcome;
      const cur = ref.current;
      if (x < 0.3) {
        const r = g.range(cur, ref.compacted);
        req = { range: r };
        got = fromStore(await store.range(r), false);
        want = ref.range(r);
      } else if (x < 0.55) {
        const r = g.put();
        req = { put: r };
        got = fromStore(await write(() => store.preparePut(r), () => store.put(r)), true);
        want = ref.put(r);
      } else if (x < 0.65) {
        const r = g.del();
        req = { deleteRange: r };
        got = fromStore(await write(() => store.prepareDeleteRange(r), () => store.deleteRange(r)), true);
        want = ref.deleteRange(r);
      } else if (x < 0.97) {
        const r = g.txn(0, cur, ref.compacted);
        req = { txn: r };
        got = fromStore(await write(() => store.prepareTxn(r), () => store.txn(r)), true);
        want = ref.txn(r);
      } else if (x < 0.985) {
        const rev = g.chance(0.8) ? ref.compacted + 1n + BigInt(g.int(Number(cur - ref.compacted))) : g.rev(cur, ref.compacted);
        const physical = g.chance(0.5);
        req = { compact: rev, physical };
        got = fromStore(await store.compact({ revision: rev, physical }), true);
        want = ref.compact(rev);
      } else if (x < 0.998) {
        // Mostly a recent start (what a reconnecting watcher asks for), sometimes anywhere.
        const from = g.chance(0.8) ? cur - BigInt(g.int(30)) : g.rev(cur, ref.compacted);
        const maxEvents = g.pick([1, 5, 100]);
        req = { events: from, maxEvents };
        const all: unknown[] = [];
        let res: Result<unknown> = { ok: true, value: all };
        for await (const chunk of store.events(from, { prevKv: true, maxEvents })) {
          if (!chunk.ok) {
            res = chunk;
            break;
          }
          all.push(...chunk.value.events);
        }
        got = fromStore(res, false);
        want = ref.eventsFrom(from <= 0n ? 1n : from);
        if (from <= 0n) continue; // the store takes revisions literally; only compare meaningful starts
      } else {
        req = { reopen: true };
        await store.close();
        store = await MvccStore.open(engine, opts);
        got = { ok: true, value: store.currentRevision };
        want = { ok: true, value: ref.current };
      }
      ops++;
      const kind = Object.keys(req as object)[0] ?? '?';
      const t = timing.get(kind) ?? { n: 0, ms: 0 };
      t.n++;
      t.ms += performance.now() - started;
      timing.set(kind, t);
      try {
        assert.deepEqual(norm(got), norm(want));
        assert.equal(chained ? store.headRevision : store.currentRevision, ref.current);
      } catch (e) {
        const detail = JSON.stringify(norm(req));
        throw new Error(`seed ${seed} op ${i}: ${detail}\n${(e as Error).message}`, { cause: e });
      }
    }
    await commitChain();
    assert.equal(store.currentRevision, ref.current);
    if (chained) assert.ok(conflicts > 0, 'the chained run never hit a ChainConflict');
    // Every scheduled compaction finishes and leaves the history readable at and above it.
    await store.whenCompacted();
    assert.equal(store.compactionError, undefined);
    if (process.env['MVCC_PROFILE'] !== undefined) console.log(seed, [...timing].map(([k, v]) => `${k}: ${v.n} ops ${(v.ms / v.n).toFixed(3)} ms/op`));
  } finally {
    await store.close();
    await engine.close();
  }
  return ops;
}

// Seeds run concurrently: each spends most of its time waiting on RocksDB's thread pool.
describe('differential against the reference model', { concurrency: SEEDS.length }, () => {
  for (const seed of SEEDS) {
    test(`seed ${seed}, ${OPS_PER_SEED} ops`, async () => {
      const n = await runSeed(seed);
      assert.ok(n >= OPS_PER_SEED * 0.9, `ran ${n} ops`);
    });
  }
});
