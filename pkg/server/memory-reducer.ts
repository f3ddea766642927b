/**
 * MemoryReducer: gives the V8 heap's slack back after a burst of work.
 *
 * During a burst (a bulk load of 100-put Txns, a large list) V8 grows its old space to several times
 * what stays live (measured: ~150 MiB of heap holding ~30 MiB live after loading 1,000,000 keys), and
 * the ArrayBuffers that held request and raft entry bytes stay allocated until a full collection
 * finds them. V8's own memory reducer only runs when the isolate looks idle, which a raft member
 * never does (its tick timer fires every heartbeat), so the slack was kept for good.
 *
 * Every `intervalMs` this checks two cheap numbers: the heap's slack (committed minus used) and the
 * process CPU time spent since the previous check. When the slack exceeds `minSlackBytes` and the
 * process used less than `quietCpuFraction` of one core over the interval (the burst is over), it
 * runs one full collection. A busy server is never paused by it; a quiet one pays one collection
 * (milliseconds for a heap this size) per burst, after which the slack is small and nothing runs.
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
    if (before.committed - before.used < this.#minSlack || busy >= this.#quiet) return false;
    const t0 = this.#now();
    this.#collect();
    const ms = this.#now() - t0;
    // the collection's own CPU time is not the workload's
    this.#lastCpu = this.#cpu();
    this.#lastAt = this.#now();
    this.#onCollect?.(before, this.#heap(), ms);
    return true;
  }
}
