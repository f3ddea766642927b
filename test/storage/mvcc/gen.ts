/**
 * Seeded random requests for the differential test: small key alphabet (with 0x00 and 0xff so the
 * encoding's escape and the "\0" range end are exercised), every request option, nested txns.
 */
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../../../pkg/storage/mvcc/index.js';

/** mulberry32: tiny, fast, good enough for test generation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [0x00, 0x01, 0x61, 0x62, 0xfe, 0xff];
const VALUES = [0x00, 0x61, 0x62, 0xff];

export class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  #recent: Uint8Array[] = [];
  /** A short key; one time in five a recently generated one (same key in several ops of a txn). */
  key(): Uint8Array {
    if (this.#recent.length > 0 && this.chance(0.2)) return this.pick(this.#recent);
    const x = this.r();
    const len = x < 0.4 ? 1 : x < 0.85 ? 2 : 3;
    const k = Uint8Array.from({ length: len }, () => this.pick(ALPHABET));
    this.#recent.push(k);
    if (this.#recent.length > 4) this.#recent.shift();
    return k;
  }
  value(): Uint8Array {
    return Uint8Array.from({ length: this.int(3) }, () => this.pick(VALUES));
  }
  rangeEnd(key: Uint8Array): Uint8Array | undefined {
    const x = this.r();
    if (x < 0.3) return undefined;
    if (x < 0.45) return Uint8Array.of(0);
    if (x < 0.7) return prefixEnd(key);
    return this.key();
  }
  /** A revision near the interesting ones: 0, negative, around the compaction point and the current one. */
  rev(current: bigint, compacted: bigint): bigint {
    const x = this.r();
    if (x < 0.5) return 0n;
    if (x < 0.55) return -1n - BigInt(this.int(2));
    if (x < 0.7) return current + BigInt(this.int(3));
    if (x < 0.75 && compacted > 0n) return compacted - 1n + BigInt(this.int(3));
    return 1n + BigInt(this.int(Number(current)));
  }
  lease(): bigint {
    return this.chance(0.7) ? 0n : BigInt(1 + this.int(4));
  }
  range(current: bigint, compacted: bigint): RangeRequest {
    const key = this.key();
    const r: RangeRequest = { key };
    const end = this.rangeEnd(key);
    if (end !== undefined) r.rangeEnd = end;
    if (this.chance(0.4)) r.limit = BigInt(this.int(5)) - (this.chance(0.05) ? 3n : 0n);
    if (this.chance(0.4)) r.revision = this.rev(current, compacted);
    if (this.chance(0.3)) r.sortOrder = this.pick([0, 1, 2] as const);
    if (this.chance(0.3)) r.sortTarget = this.pick([0, 1, 2, 3, 4] as const);
    if (this.chance(0.1)) r.keysOnly = true;
    if (this.chance(0.07)) r.countOnly = true;
    if (this.chance(0.1)) r.minModRevision = BigInt(this.int(Number(current) + 1));
    if (this.chance(0.1)) r.maxModRevision = BigInt(this.int(Number(current) + 1));
    if (this.chance(0.1)) r.minCreateRevision = BigInt(this.int(Number(current) + 1));
    if (this.chance(0.1)) r.maxCreateRevision = BigInt(this.int(Number(current) + 1));
    return r;
  }
  put(): PutRequest {
    const p: PutRequest = { key: this.key(), value: this.value() };
    const lease = this.lease();
    if (lease !== 0n) p.lease = lease;
    if (this.chance(0.5)) p.prevKv = true;
    if (this.chance(0.08)) {
      p.ignoreValue = true;
      if (this.chance(0.8)) p.value = new Uint8Array(0);
    }
    if (this.chance(0.08)) {
      p.ignoreLease = true;
      if (this.chance(0.8)) delete p.lease;
    }
    if (this.chance(0.005)) p.key = new Uint8Array(0);
    return p;
  }
  del(): DeleteRangeRequest {
    const key = this.key();
    const d: DeleteRangeRequest = { key };
    const end = this.rangeEnd(key);
    if (end !== undefined) d.rangeEnd = end;
    if (this.chance(0.5)) d.prevKv = true;
    return d;
  }
  compare(current: bigint): Compare {
    const key = this.key();
    const target = this.pick([0, 1, 2, 3, 4] as const);
    const c: Compare = { key, target, result: this.pick([0, 1, 2, 3] as const) };
    if (this.chance(0.2)) {
      const end = this.rangeEnd(key);
      if (end !== undefined) c.rangeEnd = end;
    }
    const n = BigInt(this.int(Number(current) + 2));
    if (target === 0) c.version = BigInt(this.int(4));
    if (target === 1) c.createRevision = n;
    if (target === 2) c.modRevision = this.chance(0.3) ? 0n : n;
    if (target === 3) c.value = this.value();
    if (target === 4) c.lease = BigInt(this.int(5));
    return c;
  }
  op(depth: number, current: bigint, compacted: bigint): RequestOp {
    const x = this.r();
    if (x < 0.01) return {};
    if (x < 0.3) return { requestRange: this.range(current, compacted) };
    if (x < 0.65) return { requestPut: this.put() };
    if (x < 0.85 || depth >= 2) return { requestDeleteRange: this.del() };
    return { requestTxn: this.txn(depth + 1, current, compacted) };
  }
  txn(depth: number, current: bigint, compacted: bigint): TxnRequest {
    const n = (): number => (this.chance(0.03) ? 9 : this.int(depth === 0 ? 5 : 3));
    return {
      compare: Array.from({ length: this.int(3) }, () => this.compare(current)),
      success: Array.from({ length: n() }, () => this.op(depth, current, compacted)),
      failure: Array.from({ length: n() }, () => this.op(depth, current, compacted)),
    };
  }
}

/** The smallest key greater than every key with this prefix ("\0" when there is none). */
export function prefixEnd(key: Uint8Array): Uint8Array {
  const out = Uint8Array.from(key);
  for (let i = out.length - 1; i >= 0; i--) {
    if ((out[i] as number) < 0xff) {
      out[i] = (out[i] as number) + 1;
      return out.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}
