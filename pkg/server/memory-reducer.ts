/**
 * MemoryReducer: gives the V8 heap's slack back after a burst of work.
 *
 * During a burst (a bulk load of 100-put Txns, a large list) V8 grows its old space to several times
 * what stays live (measured: ~150 MiB of heap holding ~30 MiB live after loading 1,000,000 keys), and
 * the ArrayBuffers that held request and raft entry bytes stay allocated until a full collection
 * finds them. V8's own memory reducer only runs when the isolate looks idle, which a raft member
 * never does (its tick timer fires every heartbeat), so the slack was kept for good.
 *
 * Every `intervalMs` this checks cheap numbers: the heap's slack (committed minus used), how far the
 * used size has grown above the lowest it was seen at since the last full collection, and the
 * process CPU time spent since the previous check. When the slack or that growth exceeds
 * `minSlackBytes` and the process used less than `quietCpuFraction` of one core over the interval
 * (the burst is over), it runs one full collection. A busy server is never paused by it; a quiet one
 * pays one collection (milliseconds for a heap this size) per burst, after which nothing runs.
 *
 * Why growth as well as slack: objects that die in old space count as used until a major collection
 * finds them, and an idle server allocates too little to trigger one. After the watch fan-out bench
 * (10 streams x 100 watchers, queued responses promoted to old space before they were written), the
 * heap stayed at 141 MiB committed / 137 MiB used with 66 MiB of external buffers for minutes: no
 * slack to see, yet one full collection left 16 MiB used and 2 MiB external (RSS 267 → 159 MiB).
 *
 * The collection function comes from V8's `--expose-gc`, enabled at runtime for a fresh context
 * only; nothing else in the process sees a global `gc`.
 *
 * Tested in test/server/memory-reducer.test.ts with injected statistics and a fake collector.
 */
import { setFlagsFromString, getHeapStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HeapSample {
  /** Bytes the heap has committed (V8 total_heap_size). */
  readonly committed: number;
  /** Bytes in use (V8 used_heap_size). */
  readonly used: number;
}

export interface MemoryReducerOptions {
  readonly intervalMs?: number;
  readonly minSlackBytes?: number;
  readonly quietCpuFraction?: number;
  /** Injected for tests. */
  readonly heap?: () => HeapSample;
  /** Process CPU time in microseconds (user + system); injected for tests. */
  readonly cpuMicros?: () => number;
  readonly collect?: () => void;
  readonly now?: () => number;
  readonly onCollect?: (before: HeapSample, after: HeapSample, ms: number) => void;
}

let exposedGc: (() => void) | undefined;

/** V8's full collection, obtained once through a fresh context with --expose-gc. */
export function fullCollection(): () => void {
  if (exposedGc === undefined) {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    if (typeof fn !== 'function') throw new Error('V8 did not expose gc');
    exposedGc = fn as () => void;
  }
  return exposedGc;
}

function heapNow(): HeapSample {
  const s = getHeapStatistics();
  return { committed: s.total_heap_size, used: s.used_heap_size };
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export class MemoryReducer {
  readonly #intervalMs: number;
  readonly #minSlack: number;
  readonly #quiet: number;
  readonly #heap: () => HeapSample;
  readonly #cpu: () => number;
  readonly #collect: () => void;
  readonly #now: () => number;
  readonly #onCollect: MemoryReducerOptions['onCollect'];
  #timer: NodeJS.Timeout | undefined;
  #lastCpu = 0;
  #lastAt = 0;
  /** The lowest used size seen since the last full collection (or the start). */
  #usedFloor = Infinity;

  constructor(opts: MemoryReducerOptions = {}) {
    this.#intervalMs = opts.intervalMs ?? 5000;
    this.#minSlack = opts.minSlackBytes ?? 48 << 20;
    this.#quiet = opts.quietCpuFraction ?? 0.2;
    this.#heap = opts.heap ?? heapNow;
    this.#cpu = opts.cpuMicros ?? cpuNow;
    this.#collect = opts.collect ?? fullCollection();
    this.#now = opts.now ?? (() => performance.now());
    this.#onCollect = opts.onCollect;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastCpu = this.#cpu();
    this.#lastAt = this.#now();
    this.#usedFloor = this.#heap().used;
    this.#timer = setInterval(() => this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check (the timer calls this); returns whether it collected. */
  check(): boolean {
    const cpu = this.#cpu();
    const at = this.#now();
    const busy = (cpu - this.#lastCpu) / 1000 / Math.max(1, at - this.#lastAt);
    this.#lastCpu = cpu;
    this.#lastAt = at;
    const before = this.#heap();
    this.#usedFloor = Math.min(this.#usedFloor, before.used);
    const slack = before.committed - before.used;
    const grown = before.used - this.#usedFloor;
    if ((slack < this.#minSlack && grown < this.#minSlack) || busy >= this.#quiet) return false;
    const t0 = this.#now();
    this.#collect();
    const ms = this.#now() - t0;
    // the collection's own CPU time is not the workload's
    this.#lastCpu = this.#cpu();
    this.#lastAt = this.#now();
    const after = this.#heap();
    this.#usedFloor = after.used;
    this.#onCollect?.(before, after, ms);
    return true;
  }
}
