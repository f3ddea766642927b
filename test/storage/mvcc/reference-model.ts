/**
 * An obviously-correct, in-memory model of etcd's MVCC semantics for the differential test: full
 * per-key history in arrays, every read a linear walk. Written from ETCD-COMPAT.md and etcd's
 * documented apply rules, independently of pkg/storage/mvcc's data structures.
 */
import type {
  Compare,
  DeleteRangeRequest,
  Event,
  KeyValue,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../../../pkg/storage/mvcc/index.js';

export type Outcome = { ok: true; value: unknown; events?: Event[] } | { ok: false; kind: string };

const s = (k: Uint8Array): string => Buffer.from(k).toString('latin1');
const b = (k: string): Uint8Array => new Uint8Array(Buffer.from(k, 'latin1'));
const EMPTY = new Uint8Array(0);

function cmpBytes(x: Uint8Array, y: Uint8Array): number {
  const a = s(x);
  const c = s(y);
  return a < c ? -1 : a > c ? 1 : 0;
}

function inRange(k: string, key: Uint8Array, end: Uint8Array | undefined): boolean {
  const ks = s(key);
  if (end === undefined || end.length === 0) return k === ks;
  if (k < ks) return false;
  if (end.length === 1 && end[0] === 0) return true;
  return k < s(end);
}

interface Version {
  main: bigint;
  kv: KeyValue | null; // null = tombstone
}

/** Reads through a txn's own writes (when `at` is the txn's revision) or from history. */
type View = (key: string) => KeyValue | undefined;

export class ReferenceStore {
  current = 1n;
  compacted = -1n;
  readonly history = new Map<string, Version[]>();
  readonly log: Event[] = [];
  readonly maxTxnOps: number;
  readonly leaseExists: (id: bigint) => boolean;

  constructor(maxTxnOps: number, leaseExists: (id: bigint) => boolean) {
    this.maxTxnOps = maxTxnOps;
    this.leaseExists = leaseExists;
  }

  at(rev: bigint): View {
    return (key) => {
      const vs = this.history.get(key);
      if (vs === undefined) return undefined;
      for (let i = vs.length - 1; i >= 0; i--) {
        const v = vs[i] as Version;
        if (v.main <= rev) return v.kv ?? undefined;
      }
      return undefined;
    };
  }

  keys(): string[] {
    return [...this.history.keys()].sort();
  }

  range(r: RangeRequest): Outcome {
    if (r.key.length === 0) return { ok: false, kind: 'empty-key' };
    return rangeAt(this.compacted, r, this.current, (rev) => this.at(rev), this.keys());
  }

  // ---- writes: a txn engine that all write requests go through ----

  #write(body: (t: Tx) => Outcome): Outcome {
    const t = new Tx(this);
    const out = body(t);
    if (!out.ok) return out;
    const main = this.current + 1n;
    const events: Event[] = [];
    for (const c of t.changes) {
      const vs = this.history.get(c.key) ?? [];
      vs.push({ main, kv: c.kv });
      this.history.set(c.key, vs);
      const prev = this.at(this.current)(c.key);
      const ev: Event = c.kv === null
        ? { type: 1, kv: { key: b(c.key), createRevision: 0n, modRevision: main, version: 0n, value: EMPTY, lease: 0n } }
        : { type: 0, kv: { ...c.kv } };
      // Like etcd's watch, a create event (create == mod revision) never carries prev_kv.
      if (prev !== undefined && !(c.kv !== null && c.kv.createRevision === main)) ev.prevKv = { ...prev };
      events.push(ev);
    }
    if (t.changes.length > 0) this.current = main;
    this.log.push(...events);
    return { ok: true, value: out.value, events };
  }

  put(r: PutRequest): Outcome {
    const v = checkPutShape(r);
    if (v !== null) return { ok: false, kind: v };
    if ((r.lease ?? 0n) !== 0n && !this.leaseExists(r.lease ?? 0n)) return { ok: false, kind: 'lease-not-found' };
    return this.#write((t) => t.put(r));
  }

  deleteRange(r: DeleteRangeRequest): Outcome {
    if (r.key.length === 0) return { ok: false, kind: 'empty-key' };
    return this.#write((t) => ({ ok: true, value: t.del(r) }));
  }

  txn(r: TxnRequest): Outcome {
    const bad = checkTxnShape(r, this.maxTxnOps) ?? (overlaps(r.success ?? []) || overlaps(r.failure ?? []) ? 'duplicate-key' : null);
    if (bad !== null) return { ok: false, kind: bad };
    const base = this.at(this.current);
    const keys = this.keys();
    // 1. every compare of the taken path, against the state before the txn
    const taken = (req: TxnRequest): boolean =>
      (req.compare ?? []).every((c) => compare(c, keys.filter((k) => inRange(k, c.key, c.rangeEnd)).map(base).filter((kv) => kv !== undefined)));
    const path = new Map<TxnRequest, boolean>();
    const walk = (req: TxnRequest): void => {
      const ok = taken(req);
      path.set(req, ok);
      for (const op of (ok ? req.success : req.failure) ?? []) if ('requestTxn' in op) walk(op.requestTxn);
    };
    walk(r);
    const flat = (req: TxnRequest): RequestOp[] =>
      ((path.get(req) === true ? req.success : req.failure) ?? []).flatMap((op) => ('requestTxn' in op ? flat(op.requestTxn) : [op]));
    const ops = flat(r);
    // 2. checks of the taken path: all puts first, then all ranges
    for (const op of ops) {
      if (!('requestPut' in op)) continue;
      const p = op.requestPut;
      if ((p.ignoreValue === true || p.ignoreLease === true) && base(s(p.key)) === undefined) return { ok: false, kind: 'key-not-found' };
      if ((p.lease ?? 0n) !== 0n && !this.leaseExists(p.lease ?? 0n)) return { ok: false, kind: 'lease-not-found' };
    }
    for (const op of ops) {
      if (!('requestRange' in op)) continue;
      const rev = op.requestRange.revision ?? 0n;
      if (rev === 0n) continue;
      if (rev > this.current) return { ok: false, kind: 'future-rev' };
      if (rev < this.compacted) return { ok: false, kind: 'compacted' };
    }
    // 3. run
    return this.#write((t) => {
      const exec = (req: TxnRequest, top: boolean): unknown => {
        const ok = path.get(req) === true;
        const responses = ((ok ? req.success : req.failure) ?? []).map((op) => {
          if ('requestRange' in op) {
            const res = t.range(op.requestRange);
            if (!res.ok) throw new Error('reference: range failed after checks');
            return { responseRange: res.value };
          }
          if ('requestPut' in op) {
            const res = t.put(op.requestPut);
            // only after a "\0"-range delete of the same key earlier in the txn: the txn fails
            if (!res.ok) throw new Abort(res.kind);
            return { responsePut: res.value };
          }
          if ('requestDeleteRange' in op) return { responseDeleteRange: t.del(op.requestDeleteRange) };
          if ('requestTxn' in op) return { responseTxn: exec(op.requestTxn, false) };
          throw new Error('reference: empty op');
        });
        return { header: { revision: top ? t.rev() : 0n }, succeeded: ok, responses };
      };
      try {
        return { ok: true, value: exec(r, true) };
      } catch (e) {
        if (e instanceof Abort) return { ok: false, kind: e.kind };
        throw e;
      }
    });
  }

  compact(rev: bigint): Outcome {
    if (rev <= this.compacted) return { ok: false, kind: 'compacted' };
    if (rev > this.current) return { ok: false, kind: 'future-rev' };
    this.compacted = rev;
    return { ok: true, value: { header: { revision: this.current } }, events: [] };
  }

  /** Events of revisions ≥ from (the whole log is kept; compaction only forbids asking below it). */
  eventsFrom(from: bigint): Outcome {
    if (from < this.compacted) return { ok: false, kind: 'compacted' };
    // prev_kv lives at modRevision - 1: unavailable (omitted, like etcd) once that is compacted.
    return {
      ok: true,
      value: this.log
        .filter((e) => e.kv.modRevision >= from)
        .map((e) => (e.kv.modRevision - 1n < this.compacted ? { type: e.type, kv: e.kv } : e)),
    };
  }
}

class Abort extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

/** A write in progress: its own changes on top of the store's current state. */
class Tx {
  readonly changes: { key: string; kv: KeyValue | null }[] = [];
  readonly #store: ReferenceStore;
  constructor(store: ReferenceStore) {
    this.#store = store;
  }
  rev(): bigint {
    return this.changes.length > 0 ? this.#store.current + 1n : this.#store.current;
  }
  get(key: string): KeyValue | undefined {
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const c = this.changes[i] as { key: string; kv: KeyValue | null };
      if (c.key === key) return c.kv ?? undefined;
    }
    return this.#store.at(this.#store.current)(key);
  }
  keys(): string[] {
    return [...new Set([...this.#store.keys(), ...this.changes.map((c) => c.key)])].sort();
  }
  range(r: RangeRequest): Outcome {
    const cur = this.rev();
    // Reads at the txn's own revision see its writes; older revisions read history.
    const viewAt = (rev: bigint): View => (rev > this.#store.current ? (k) => this.get(k) : this.#store.at(rev));
    return rangeAt(this.#store.compacted, r, cur, viewAt, this.keys());
  }
  put(p: PutRequest): Outcome {
    const prev = this.get(s(p.key));
    if ((p.ignoreValue === true || p.ignoreLease === true) && prev === undefined) return { ok: false, kind: 'key-not-found' };
    const main = this.#store.current + 1n;
    const kv: KeyValue = {
      key: p.key,
      createRevision: prev?.createRevision ?? main,
      modRevision: main,
      version: (prev?.version ?? 0n) + 1n,
      value: p.ignoreValue === true ? (prev as KeyValue).value : (p.value ?? EMPTY),
      lease: p.ignoreLease === true ? (prev as KeyValue).lease : (p.lease ?? 0n),
    };
    const resp: { header: { revision: bigint }; prevKv?: KeyValue } = { header: { revision: main } };
    if (p.prevKv === true && prev !== undefined) resp.prevKv = { ...prev };
    this.changes.push({ key: s(p.key), kv });
    return { ok: true, value: resp };
  }
  del(d: DeleteRangeRequest): unknown {
    const victims = this.keys().filter((k) => inRange(k, d.key, d.rangeEnd) && this.get(k) !== undefined);
    const prevKvs = d.prevKv === true ? victims.map((k) => ({ ...(this.get(k) as KeyValue) })) : [];
    for (const k of victims) this.changes.push({ key: k, kv: null });
    return { header: { revision: this.rev() }, deleted: BigInt(victims.length), prevKvs };
  }
}


/** etcd's Range over a view: revision checks, count, filters, sort, limit/more, keys_only/count_only. */
function rangeAt(compacted: bigint, r: RangeRequest, cur: bigint, viewAt: (rev: bigint) => View, keys: string[]): Outcome {
  let rev = r.revision ?? 0n;
  if (rev > cur) return { ok: false, kind: 'future-rev' };
  if (rev <= 0n) rev = cur;
  if (rev < compacted) return { ok: false, kind: 'compacted' };
  const view = viewAt(rev);
  const all: KeyValue[] = [];
  for (const k of keys) {
    if (!inRange(k, r.key, r.rangeEnd)) continue;
    const kv = view(k);
    if (kv !== undefined) all.push({ ...kv });
  }
  const count = BigInt(all.length);
  if (r.countOnly === true) return { ok: true, value: { header: { revision: cur }, kvs: [], more: false, count } };
  let kvs = all.filter(
    (kv) =>
      ((r.maxModRevision ?? 0n) === 0n || kv.modRevision <= (r.maxModRevision ?? 0n)) &&
      ((r.minModRevision ?? 0n) === 0n || kv.modRevision >= (r.minModRevision ?? 0n)) &&
      ((r.maxCreateRevision ?? 0n) === 0n || kv.createRevision <= (r.maxCreateRevision ?? 0n)) &&
      ((r.minCreateRevision ?? 0n) === 0n || kv.createRevision >= (r.minCreateRevision ?? 0n)),
  );
  const target = r.sortTarget ?? 0;
  let order = r.sortOrder ?? 0;
  const limit = r.limit ?? 0n;
  const filtered = [r.minModRevision, r.maxModRevision, r.minCreateRevision, r.maxCreateRevision].some((v) => (v ?? 0n) !== 0n);
  // etcd quirk: with sort_order NONE (even when sorting by a non-key target) and no filter, only the
  // first limit+1 keys (in key order) are fetched, then sorted, then cut to limit.
  if (order === 0 && !filtered && limit > 0n) kvs = kvs.slice(0, Number(limit) + 1);
  if (target !== 0 && order === 0) order = 1;
  if (order !== 0) {
    const field = (kv: KeyValue): bigint | string =>
      target === 0 ? s(kv.key) : target === 1 ? kv.version : target === 2 ? kv.createRevision : target === 3 ? kv.modRevision : s(kv.value);
    const sign = order === 2 ? -1 : 1;
    kvs = [...kvs].sort((x, y) => {
      const fx = field(x);
      const fy = field(y);
      if (fx !== fy) return (fx < fy ? -1 : 1) * sign;
      return cmpBytes(x.key, y.key); // ties: ascending key order, as etcd returns for small ranges
    });
  }
  let more = false;
  if (limit > 0n && BigInt(kvs.length) > limit) {
    kvs = kvs.slice(0, Number(limit));
    more = true;
  }
  if (r.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
  return { ok: true, value: { header: { revision: cur }, kvs, more, count } };
}

function compare(c: Compare, kvs: KeyValue[]): boolean {
  const test = (kv: KeyValue): boolean => {
    let d: number;
    if (c.target === 3) d = cmpBytes(kv.value, c.value ?? EMPTY);
    else {
      const [have, want] =
        c.target === 0 ? [kv.version, c.version] : c.target === 1 ? [kv.createRevision, c.createRevision] : c.target === 2 ? [kv.modRevision, c.modRevision] : [kv.lease, c.lease];
      d = have < (want ?? 0n) ? -1 : have > (want ?? 0n) ? 1 : 0;
    }
    return c.result === 0 ? d === 0 : c.result === 1 ? d > 0 : c.result === 2 ? d < 0 : d !== 0;
  };
  if (kvs.length === 0) {
    if (c.target === 3) return false;
    return test({ key: c.key, createRevision: 0n, modRevision: 0n, version: 0n, value: EMPTY, lease: 0n });
  }
  return kvs.every(test);
}

function checkPutShape(p: PutRequest): string | null {
  if (p.key.length === 0) return 'empty-key';
  if (p.ignoreValue === true && (p.value ?? EMPTY).length > 0) return 'value-provided';
  if (p.ignoreLease === true && (p.lease ?? 0n) !== 0n) return 'lease-provided';
  return null;
}

function checkTxnShape(r: TxnRequest, max: number): string | null {
  const n = Math.max((r.compare ?? []).length, (r.success ?? []).length, (r.failure ?? []).length);
  if (n > max) return 'too-many-ops';
  if ((r.compare ?? []).some((c) => c.key.length === 0)) return 'empty-key';
  for (const op of [...(r.success ?? []), ...(r.failure ?? [])]) {
    let bad: string | null;
    if ('requestRange' in op) bad = op.requestRange.key.length === 0 ? 'empty-key' : null;
    else if ('requestPut' in op) bad = checkPutShape(op.requestPut);
    else if ('requestDeleteRange' in op) bad = op.requestDeleteRange.key.length === 0 ? 'empty-key' : null;
    else if ('requestTxn' in op) bad = checkTxnShape(op.requestTxn, max - n);
    else bad = 'key-not-found';
    if (bad !== null) return bad;
  }
  return null;
}

/** etcd's overlap rule; delete ranges are literal intervals (a "\0" end matches nothing). */
function overlaps(ops: RequestOp[]): boolean {
  return collect(ops) === null;
}

function collect(ops: RequestOp[]): { puts: Set<string>; dels: [string, string | null][] } | null {
  const dels: [string, string | null][] = ops.flatMap((op) =>
    'requestDeleteRange' in op
      ? [[s(op.requestDeleteRange.key), (op.requestDeleteRange.rangeEnd ?? EMPTY).length > 0 ? s(op.requestDeleteRange.rangeEnd as Uint8Array) : null] as [string, string | null]]
      : [],
  );
  const hits = (k: string): boolean => dels.some(([a, e]) => (e === null ? a === k : a <= k && k < e));
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('requestTxn' in op)) continue;
    const t = collect(op.requestTxn.success ?? []);
    const f = collect(op.requestTxn.failure ?? []);
    if (t === null || f === null) return null;
    for (const k of t.puts) {
      if (puts.has(k) || hits(k)) return null;
      puts.add(k);
    }
    for (const k of f.puts) {
      if ((puts.has(k) && !t.puts.has(k)) || hits(k)) return null;
      puts.add(k);
    }
    dels.push(...t.dels, ...f.dels);
  }
  for (const op of ops) {
    if (!('requestPut' in op)) continue;
    const k = s(op.requestPut.key);
    if (puts.has(k) || hits(k)) return null;
    puts.add(k);
  }
  return { puts, dels };
}
