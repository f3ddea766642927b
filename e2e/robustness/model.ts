/**
 * The etcd key-value model the checkers replay: per-key version histories (so the state at any
 * revision is a binary search away) and the deterministic semantics of range, put, delete and txn.
 */
import type { Compare, DeleteOp, Kv, Op, PutOp, RangeOp, RangeResult, StepResult, TxnStep, WatchEvent } from './history.js';

/** Whether `k` is in [key, end): end '' = only key; end '\0' = every key >= key. */
export function inRange(k: string, key: string, end: string): boolean {
  if (end === '') return k === key;
  if (end === '\0') return k >= key;
  return k >= key && k < end;
}

export function sameKv(a: Kv | null | undefined, b: Kv | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  return a.key === b.key && a.value === b.value && a.create === b.create && a.mod === b.mod && a.version === b.version && a.lease === b.lease;
}

export function sameEvent(a: WatchEvent, b: WatchEvent): boolean {
  if (a.type !== b.type || a.kv.key !== b.kv.key || a.kv.mod !== b.kv.mod) return false;
  return a.type === 'delete' || sameKv(a.kv, b.kv);
}

/** The state of every key at every revision seen so far. */
export class KeyHistory {
  readonly #keys = new Map<string, { revs: number[]; kvs: (Kv | null)[] }>();
  #sorted: string[] | undefined = [];
  rev = 1;

  at(key: string, rev: number): Kv | null {
    const h = this.#keys.get(key);
    if (h === undefined) return null;
    let lo = 0;
    let hi = h.revs.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((h.revs[mid] as number) <= rev) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? null : (h.kvs[found] ?? null);
  }

  keys(): readonly string[] {
    this.#sorted ??= [...this.#keys.keys()].sort();
    return this.#sorted;
  }

  rangeAt(key: string, end: string, rev: number): Kv[] {
    const out: Kv[] = [];
    for (const k of this.keys()) {
      if (!inRange(k, key, end)) continue;
      const kv = this.at(k, rev);
      if (kv !== null) out.push(kv);
    }
    return out;
  }

  /** Leases with keys attached at `rev`, and those keys. */
  leaseKeys(rev: number): Map<number, string[]> {
    const m = new Map<number, string[]>();
    for (const k of this.keys()) {
      const kv = this.at(k, rev);
      if (kv !== null && kv.lease !== 0) m.set(kv.lease, [...(m.get(kv.lease) ?? []), k]);
    }
    return m;
  }

  /** Records the events of revision `rev` (the next one). */
  apply(rev: number, events: readonly WatchEvent[]): void {
    for (const e of events) {
      let h = this.#keys.get(e.kv.key);
      if (h === undefined) {
        h = { revs: [], kvs: [] };
        this.#keys.set(e.kv.key, h);
        this.#sorted = undefined;
      }
      h.revs.push(rev);
      h.kvs.push(e.type === 'put' ? e.kv : null);
    }
    this.rev = rev;
  }
}

export function rangeResult(kvs: readonly Kv[], limit: number): RangeResult {
  return { kind: 'range', kvs: limit > 0 ? kvs.slice(0, limit) : [...kvs], count: kvs.length, more: limit > 0 && kvs.length > limit };
}

/** What a write-capable op does to the state at revision `base`, committed as revision base+1. */
export interface Execution {
  readonly events: WatchEvent[];
  readonly results: StepResult[];
  readonly succeeded: boolean;
  /** Why etcd would reject it as a whole (then nothing is written). */
  readonly error: string | null;
}

export function execute(op: Op, h: KeyHistory, base: number, leaseAlive: (id: number) => boolean): Execution {
  const rev = base + 1;
  const overlay = new Map<string, Kv | null>();
  const get = (k: string): Kv | null => (overlay.has(k) ? (overlay.get(k) ?? null) : h.at(k, base));
  const range = (key: string, end: string): Kv[] => {
    const keys = new Set([...h.keys(), ...overlay.keys()]);
    return [...keys].filter((k) => inRange(k, key, end)).sort().flatMap((k) => {
      const kv = get(k);
      return kv === null ? [] : [kv];
    });
  };
  const events: WatchEvent[] = [];
  const results: StepResult[] = [];
  let error: string | null = null;
  const step = (s: TxnStep): void => {
    if (s.kind === 'range') {
      results.push(rangeResult(range(s.key, s.end), s.limit));
    } else if (s.kind === 'put') {
      const prev = get(s.key);
      if (s.lease !== 0 && !leaseAlive(s.lease)) error = 'lease not found';
      const kv: Kv = { key: s.key, value: s.value, create: prev?.create ?? rev, mod: rev, version: (prev?.version ?? 0) + 1, lease: s.lease };
      overlay.set(s.key, kv);
      events.push({ type: 'put', kv, prev });
      results.push({ kind: 'put', prev: s.prevKv ? prev : null });
    } else {
      const prevs = range(s.key, s.end);
      for (const p of prevs) {
        overlay.set(p.key, null);
        events.push({ type: 'delete', kv: { key: p.key, value: '', create: 0, mod: rev, version: 0, lease: 0 }, prev: p });
      }
      results.push({ kind: 'delete', deleted: prevs.length, prevs: s.prevKv ? prevs : [] });
    }
  };
  let succeeded = true;
  if (op.kind === 'txn') {
    succeeded = op.compares.every((c) => compare(c, get(c.key)));
    for (const s of succeeded ? op.success : op.failure) step(s);
  } else if (op.kind === 'put' || op.kind === 'delete' || op.kind === 'range') {
    step(op as PutOp | DeleteOp | RangeOp);
  }
  if (error !== null) return { events: [], results: [], succeeded, error };
  return { events, results, succeeded, error };
}

function compare(c: Compare, kv: Kv | null): boolean {
  if (c.target === 'value') {
    if (kv === null) return false;
    return cmp(kv.value, c.value as string, c.op);
  }
  const v = kv === null ? 0 : c.target === 'mod' ? kv.mod : c.target === 'version' ? kv.version : kv.create;
  return cmp(v, c.value as number, c.op);
}

function cmp<T extends number | string>(a: T, b: T, op: Compare['op']): boolean {
  switch (op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '>':
      return a > b;
  }
}

/** Op id encoded in a value written by the harness: `o<id>` or `o<id>.<i>`. */
export function opIdOfValue(v: string): number | undefined {
  const m = /^o(\d+)(?:\.\d+)?$/.exec(v);
  return m === null ? undefined : Number(m[1]);
}

export function writesPossible(op: Op): boolean {
  if (op.kind === 'put' || op.kind === 'delete') return true;
  if (op.kind === 'txn') return [...op.success, ...op.failure].some((s) => s.kind !== 'range');
  return false;
}
