/**
 * A kube-apiserver-shaped workload over grpc-js, from berth's generated etcd definitions: objects are
 * created, updated and deleted through the exact Txn shapes kube-apiserver's etcd3 store uses, and
 * listed in pages (limit + the first page's revision, as the apiserver's paginated LIST does).
 *   create: Txn{ MOD(key) == 0 → Put }
 *   update: Txn{ MOD(key) == rev → Put ; else Range(key) }
 *   delete: Txn{ MOD(key) == rev → DeleteRange(key) ; else Range(key) }
 * Each phase is bounded in count and in time; latencies are per request (per full list for lists).
 */
import * as grpc from '@grpc/grpc-js';
import {
  Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  KVService,
  RangeRequest,
  TxnRequest,
  type RangeResponse,
  type TxnResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';

type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;
type KvStub = grpc.Client & { txn: UnaryFn<TxnRequest, TxnResponse>; range: UnaryFn<RangeRequest, RangeResponse> };

export interface PhaseResult {
  readonly name: string;
  readonly done: number;
  readonly failed: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Set when the phase hit its time bound before its count. */
  readonly note?: string;
}

export interface KubeOptions {
  readonly objects: number;
  readonly valueBytes: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly lists: number;
  readonly pageLimit: number;
  readonly phaseTimeoutMs: number;
}

const enc = new TextEncoder();

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function call<Req, Res>(c: KvStub, fn: UnaryFn<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn.call(c, req, new grpc.Metadata(), { deadline: new Date(Date.now() + 30_000) }, (err, res) => (err !== null ? reject(err) : resolve(res as Res)));
  });
}

function modIs(key: Uint8Array, rev: bigint): Compare {
  return Compare.fromPartial({ result: Compare_CompareResult.EQUAL, target: Compare_CompareTarget.MOD, key, targetUnion: { $case: 'modRevision', value: rev } });
}

/** Runs `count` operations with `concurrency` in flight, stopping early at the time bound. */
async function phase(name: string, count: number, o: KubeOptions, op: (i: number) => Promise<void>): Promise<PhaseResult> {
  const lat: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const deadline = started + o.phaseTimeoutMs;
  let stoppedEarly = false;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= count) return;
      if (performance.now() > deadline) {
        stoppedEarly = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i);
        lat.push(performance.now() - t0);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, count) }, () => worker()));
  const sec = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  return {
    name,
    done: lat.length,
    failed,
    requestsPerSec: lat.length / sec,
    p50Ms: percentile(lat, 0.5),
    p99Ms: percentile(lat, 0.99),
    ...(stoppedEarly ? { note: `stopped at the ${String(o.phaseTimeoutMs / 1000)} s bound after ${String(lat.length)} of ${String(count)}` } : {}),
  };
}

/** Runs create → list → update → delete against one endpoint; returns one result per phase. */
export async function runKube(endpoint: string, o: KubeOptions): Promise<PhaseResult[]> {
  const Ctor = grpc.makeGenericClientConstructor(KVService, 'KV');
  const stubs = Array.from(
    { length: o.connections },
    () => new Ctor(endpoint, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as KvStub,
  );
  const stub = (i: number): KvStub => stubs[i % stubs.length] as KvStub;
  const prefix = `/registry/pods/bench-${String(Date.now())}/`;
  const key = (i: number): Uint8Array => enc.encode(`${prefix}pod-${String(i).padStart(7, '0')}`);
  const value = (i: number, gen: number): Uint8Array => {
    const v = new Uint8Array(o.valueBytes).fill(0x61 + (gen % 26));
    v.set(enc.encode(`{"kind":"Pod","i":${String(i)},"gen":${String(gen)}}`).subarray(0, o.valueBytes));
    return v;
  };
  const revs = new Array<bigint>(o.objects).fill(0n);
  let created = 0;
  const results: PhaseResult[] = [];
  try {
    results.push(
      await phase('create', o.objects, o, async (i) => {
        const k = key(i);
        const r = await call(stub(i), stub(i).txn, TxnRequest.fromPartial({ compare: [modIs(k, 0n)], success: [{ request: { $case: 'requestPut', value: { key: k, value: value(i, 0) } } }] }));
        if (!r.succeeded) throw new Error('create: key exists');
        revs[i] = r.header?.revision ?? 0n;
        created++;
      }),
    );
    const end = enc.encode(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
    results.push(
      await phase(`list (${String(o.objects)} keys, pages of ${String(o.pageLimit)})`, o.lists, { ...o, concurrency: 1 }, async (i) => {
        let from = enc.encode(prefix);
        let rev = 0n;
        let seen = 0;
        for (let page = 0; page < Math.ceil(o.objects / o.pageLimit) + 2; page++) {
          const r = await call(stub(i), stub(i).range, RangeRequest.fromPartial({ key: from, rangeEnd: end, limit: BigInt(o.pageLimit), revision: rev }));
          if (rev === 0n) rev = r.header?.revision ?? 0n;
          seen += r.kvs.length;
          const last = r.kvs[r.kvs.length - 1];
          if (!r.more || last === undefined) break;
          from = new Uint8Array([...last.key, 0]);
        }
        if (seen !== created) throw new Error(`list saw ${String(seen)} of ${String(created)}`);
      }),
    );
    results.push(
      await phase('update', o.objects, o, async (i) => {
        const k = key(i);
        const r = await call(
          stub(i),
          stub(i).txn,
          TxnRequest.fromPartial({
            compare: [modIs(k, revs[i] ?? 0n)],
            success: [{ request: { $case: 'requestPut', value: { key: k, value: value(i, 1) } } }],
            failure: [{ request: { $case: 'requestRange', value: { key: k } } }],
          }),
        );
        if (!r.succeeded) throw new Error('update: conflict');
        revs[i] = r.header?.revision ?? 0n;
      }),
    );
    results.push(
      await phase('delete', o.objects, o, async (i) => {
        const k = key(i);
        const r = await call(
          stub(i),
          stub(i).txn,
          TxnRequest.fromPartial({
            compare: [modIs(k, revs[i] ?? 0n)],
            success: [{ request: { $case: 'requestDeleteRange', value: { key: k } } }],
            failure: [{ request: { $case: 'requestRange', value: { key: k } } }],
          }),
        );
        if (!r.succeeded) throw new Error('delete: conflict');
      }),
    );
  } finally {
    for (const s of stubs) s.close();
  }
  return results;
}
