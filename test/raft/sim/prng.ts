/**
 * The simulation's only source of randomness: a small seeded generator (a Weyl sequence through the
 * murmur3 32-bit finalizer). Every decision of a run, and raft's own `rand`, draws from generators
 * derived from the run's seed, so a run is a pure function of its seed.
 */
export class Prng {
  #state: number;

  constructor(seed: number, stream = 0) {
    // Mix the stream into the seed so that derived generators do not overlap.
    this.#state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  next(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** An integer in [0, n); 0 when n <= 0. */
  int(n: number): number {
    if (n <= 0) return 0;
    return Math.floor((this.next() / 4294967296) * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p (0..1). */
  chance(p: number): boolean {
    return p > 0 && this.next() / 4294967296 < p;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('sim: pick from an empty list');
    return xs[this.int(xs.length)] as T;
  }
}
