import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReducer, fullCollection, type HeapSample } from '../../pkg/server/memory-reducer.js';

const MiB = 1 << 20;

/**
 * A reducer over scripted heap samples and CPU readings. The heap holds live bytes and garbage (both
 * count as used, as in V8 until a major collection); `collect` frees the garbage and shrinks the heap
 * to its used size.
 */
function rig(opts: { slack: number; cpuPerCheckMs: number }) {
  let heap: HeapSample = { committed: 100 * MiB + opts.slack, used: 100 * MiB };
  let garbage = 0;
  let now = 0;
  let cpuMicros = 0;
  let collections = 0;
  const reducer = new MemoryReducer({
    intervalMs: 1000,
    minSlackBytes: 48 * MiB,
    quietCpuFraction: 0.2,
    heap: () => heap,
    cpuMicros: () => cpuMicros,
    now: () => now,
    collect: () => {
      collections++;
      heap = { committed: heap.used - garbage, used: heap.used - garbage };
      garbage = 0;
    },
  });
  reducer.start();
  reducer.stop();
  return {
    reducer,
    /** Advance one interval in which the process used `cpuMs` of CPU, then check. */
    tick(cpuMs = opts.cpuPerCheckMs): boolean {
      now += 1000;
      cpuMicros += cpuMs * 1000;
      return reducer.check();
    },
    grow(bytes: number): void {
      heap = { committed: heap.committed + bytes, used: heap.used };
    },
    /** Objects allocated in newly committed pages (no slack appears); `dead` of them are garbage. */
    allocate(bytes: number, dead: boolean): void {
      heap = { committed: heap.committed + bytes, used: heap.used + bytes };
      if (dead) garbage += bytes;
    },
    get used(): number {
      return heap.used;
    },
    get collections(): number {
      return collections;
    },
  };
}

test('a quiet process with a large heap slack is collected once', () => {
  const r = rig({ slack: 120 * MiB, cpuPerCheckMs: 10 });
  assert.equal(r.tick(), true);
  assert.equal(r.collections, 1);
  // the slack is gone: later quiet checks do nothing
  assert.equal(r.tick(), false);
  assert.equal(r.tick(), false);
  assert.equal(r.collections, 1);
});

test('a busy process is never paused, however large the slack', () => {
  const r = rig({ slack: 500 * MiB, cpuPerCheckMs: 900 });
  for (let i = 0; i < 10; i++) assert.equal(r.tick(), false);
  assert.equal(r.collections, 0);
  // the burst ends: the next quiet interval collects
  assert.equal(r.tick(10), true);
  assert.equal(r.collections, 1);
});

test('a small slack is left alone', () => {
  const r = rig({ slack: 47 * MiB, cpuPerCheckMs: 0 });
  assert.equal(r.tick(), false);
  r.grow(2 * MiB);
  assert.equal(r.tick(), true);
});

test('the busy fraction is measured over the interval since the previous check', () => {
  const r = rig({ slack: 200 * MiB, cpuPerCheckMs: 0 });
  // 199 ms of CPU in 1000 ms is under the 20% bound, 200 ms is not
  assert.equal(r.tick(200), false);
  assert.equal(r.tick(199), true);
});

test('dead objects that count as used (no slack) are collected once the process is quiet', () => {
  const r = rig({ slack: 4 * MiB, cpuPerCheckMs: 10 });
  assert.equal(r.tick(), false, 'nothing grew yet');
  r.allocate(120 * MiB, true);
  assert.equal(r.tick(900), false, 'still busy');
  assert.equal(r.tick(), true);
  assert.equal(r.used, 100 * MiB, 'the garbage is gone');
  assert.equal(r.tick(), false);
  assert.equal(r.collections, 1);
});

test('live growth costs at most one collection per step of the threshold', () => {
  const r = rig({ slack: 0, cpuPerCheckMs: 10 });
  r.allocate(60 * MiB, false);
  assert.equal(r.tick(), true);
  // the new floor is the live size: staying there, or growing less than the threshold, does nothing
  assert.equal(r.tick(), false);
  r.allocate(40 * MiB, false);
  assert.equal(r.tick(), false);
  assert.equal(r.collections, 1);
});

test('growth adds up across checks: it is measured from the lowest used size seen, not from the previous check', () => {
  const r = rig({ slack: 0, cpuPerCheckMs: 10 });
  r.allocate(30 * MiB, true);
  assert.equal(r.tick(), false, '30 MiB is under the threshold');
  r.allocate(30 * MiB, true);
  assert.equal(r.tick(), true, '60 MiB above the floor');
});

test("V8's full collection is available and frees unreachable objects", async () => {
  const gc = fullCollection();
  assert.equal(typeof gc, 'function');
  assert.equal(fullCollection(), gc, 'obtained once');
  const ref = new WeakRef(Array.from({ length: 200_000 }, (_, i) => ({ i })));
  // a WeakRef's target is kept alive until the current job ends
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(ref.deref(), undefined);
  // the page's global scope did not gain a gc function
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});
