/**
 * The harness's etcd client over grpc-js: one channel per endpoint, unary KV/Lease/Maintenance calls
 * with a deadline, converted to and from the plain history types, and raw watch streams.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ClusterService,
  MemberAddRequest,
  MemberListRequest,
  MemberPromoteRequest,
  MemberRemoveRequest,
  Compare as PbCompare,
  Compare_CompareResult,
  Compare_CompareTarget,
  CompactionRequest,
  DeleteRangeRequest,
  HashKVRequest,
  KVService,
  LeaseGrantRequest,
  LeaseRevokeRequest,
  LeaseService,
  MaintenanceService,
  PutRequest,
  RangeRequest,
  RequestOp,
  StatusRequest,
  TxnRequest,
  WatchRequest,
  WatchService,
  type DeleteRangeResponse,
  type HashKVResponse,
  type MemberAddResponse,
  type MemberListResponse,
  type PutResponse,
  type RangeResponse,
  type ResponseOp,
  type StatusResponse,
  type TxnResponse,
  type WatchResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import type { KeyValue } from '../../pkg/proto/gen/mvccpb/kv.js';
import type { Compare, Kv, Op, Result, StepResult, TxnStep } from './history.js';

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => grpc.ClientUnaryCall;

const enc = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const dec = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export function kvOf(k: KeyValue): Kv {
  return { key: dec(k.key), value: dec(k.value), create: Number(k.createRevision), mod: Number(k.modRevision), version: Number(k.version), lease: Number(k.lease) };
}

export class EtcdClient {
  readonly endpoint: string;
  readonly #kv: grpc.Client;
  readonly #lease: grpc.Client;
  readonly #maint: grpc.Client;
  readonly #watch: grpc.Client;
  readonly #cluster: grpc.Client;

  constructor(endpoint: string) {
    this.endpoint = endpoint;
    const creds = grpc.credentials.createInsecure();
    const opts = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 };
    this.#kv = new (grpc.makeGenericClientConstructor(KVService, 'KV'))(endpoint, creds, opts);
    const ch = this.#kv.getChannel();
    this.#lease = new (grpc.makeGenericClientConstructor(LeaseService, 'Lease'))(endpoint, creds, { ...opts, channelOverride: ch });
    this.#maint = new (grpc.makeGenericClientConstructor(MaintenanceService, 'Maintenance'))(endpoint, creds, { ...opts, channelOverride: ch });
    this.#watch = new (grpc.makeGenericClientConstructor(WatchService, 'Watch'))(endpoint, creds, { ...opts, channelOverride: ch });
    this.#cluster = new (grpc.makeGenericClientConstructor(ClusterService, 'Cluster'))(endpoint, creds, { ...opts, channelOverride: ch });
  }

  #call<R>(client: grpc.Client, method: string, req: unknown, timeoutMs: number): Promise<R> {
    const fn = (client as unknown as Record<string, Unary>)[method] as Unary;
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err !== null ? reject(err) : resolve(res as R)));
    });
  }

  /** Runs one history operation; resolves to the header revision and the result. Rejects on any error. */
  async run(op: Op, timeoutMs: number): Promise<{ rev: number; result: Result }> {
    switch (op.kind) {
      case 'range': {
        const r = await this.#call<RangeResponse>(this.#kv, 'range', rangeReq(op), timeoutMs);
        return { rev: Number(r.header?.revision ?? 0), result: rangeRes(r) };
      }
      case 'put': {
        const r = await this.#call<PutResponse>(this.#kv, 'put', putReq(op), timeoutMs);
        return { rev: Number(r.header?.revision ?? 0), result: putRes(r, op.prevKv) };
      }
      case 'delete': {
        const r = await this.#call<DeleteRangeResponse>(this.#kv, 'deleteRange', delReq(op), timeoutMs);
        return { rev: Number(r.header?.revision ?? 0), result: delRes(r, op.prevKv) };
      }
      case 'txn': {
        const req = TxnRequest.fromPartial({
          compare: op.compares.map(cmpReq),
          success: op.success.map(stepReq),
          failure: op.failure.map(stepReq),
        });
        const r = await this.#call<TxnResponse>(this.#kv, 'txn', req, timeoutMs);
        const steps = r.succeeded ? op.success : op.failure;
        return {
          rev: Number(r.header?.revision ?? 0),
          result: { kind: 'txn', succeeded: r.succeeded, results: r.responses.map((x, i) => stepRes(x, steps[i] as TxnStep)) },
        };
      }
      case 'leaseGrant': {
        const r = await this.#call<{ header?: { revision: bigint }; error: string }>(this.#lease, 'leaseGrant', LeaseGrantRequest.fromPartial({ ID: BigInt(op.id), TTL: BigInt(op.ttl) }), timeoutMs);
        if (r.error !== '') throw new Error(r.error);
        return { rev: Number(r.header?.revision ?? 0), result: { kind: 'leaseGrant' } };
      }
      case 'leaseRevoke': {
        const r = await this.#call<{ header?: { revision: bigint } }>(this.#lease, 'leaseRevoke', LeaseRevokeRequest.fromPartial({ ID: BigInt(op.id) }), timeoutMs);
        return { rev: Number(r.header?.revision ?? 0), result: { kind: 'leaseRevoke' } };
      }
      case 'compact': {
        const r = await this.#call<{ header?: { revision: bigint } }>(this.#kv, 'compact', CompactionRequest.fromPartial({ revision: BigInt(op.revision), physical: true }), timeoutMs);
        return { rev: Number(r.header?.revision ?? 0), result: { kind: 'compact' } };
      }
    }
  }

  status(timeoutMs: number): Promise<StatusResponse> {
    return this.#call<StatusResponse>(this.#maint, 'status', StatusRequest.fromPartial({}), timeoutMs);
  }

  hashKV(revision: number, timeoutMs: number): Promise<HashKVResponse> {
    return this.#call<HashKVResponse>(this.#maint, 'hashKv', HashKVRequest.fromPartial({ revision: BigInt(revision) }), timeoutMs);
  }

  memberList(timeoutMs: number): Promise<MemberListResponse> {
    return this.#call<MemberListResponse>(this.#cluster, 'memberList', MemberListRequest.fromPartial({ linearizable: true }), timeoutMs);
  }

  memberAdd(peerUrl: string, isLearner: boolean, timeoutMs: number): Promise<MemberAddResponse> {
    return this.#call<MemberAddResponse>(this.#cluster, 'memberAdd', MemberAddRequest.fromPartial({ peerURLs: [peerUrl], isLearner }), timeoutMs);
  }

  async memberRemove(id: bigint, timeoutMs: number): Promise<void> {
    await this.#call<unknown>(this.#cluster, 'memberRemove', MemberRemoveRequest.fromPartial({ ID: id }), timeoutMs);
  }

  async memberPromote(id: bigint, timeoutMs: number): Promise<void> {
    await this.#call<unknown>(this.#cluster, 'memberPromote', MemberPromoteRequest.fromPartial({ ID: id }), timeoutMs);
  }

  /** A raw bidi watch stream (the caller writes WatchRequests and reads WatchResponses). */
  watchStream(): grpc.ClientDuplexStream<WatchRequest, WatchResponse> {
    const fn = (this.#watch as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<WatchRequest, WatchResponse>>)['watch'];
    return (fn as (md: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<WatchRequest, WatchResponse>).call(this.#watch, new grpc.Metadata(), {});
  }

  close(): void {
    this.#kv.close();
  }
}

export function watchCreate(key: string, end: string, startRevision: number, prevKv: boolean): WatchRequest {
  return WatchRequest.fromPartial({
    requestUnion: { $case: 'createRequest', value: { key: enc(key), rangeEnd: enc(end), startRevision: BigInt(startRevision), prevKv, progressNotify: true, filters: [], watchId: 0n, fragment: false } },
  });
}

export function watchProgress(): WatchRequest {
  return WatchRequest.fromPartial({ requestUnion: { $case: 'progressRequest', value: {} } });
}

function rangeReq(op: { key: string; end: string; limit: number; revision: number }): RangeRequest {
  return RangeRequest.fromPartial({ key: enc(op.key), rangeEnd: enc(op.end), limit: BigInt(op.limit), revision: BigInt(op.revision) });
}
function putReq(op: { key: string; value: string; lease: number; prevKv: boolean }): PutRequest {
  return PutRequest.fromPartial({ key: enc(op.key), value: enc(op.value), lease: BigInt(op.lease), prevKv: op.prevKv });
}
function delReq(op: { key: string; end: string; prevKv: boolean }): DeleteRangeRequest {
  return DeleteRangeRequest.fromPartial({ key: enc(op.key), rangeEnd: enc(op.end), prevKv: op.prevKv });
}
function stepReq(s: TxnStep): RequestOp {
  if (s.kind === 'range') return RequestOp.fromPartial({ request: { $case: 'requestRange', value: rangeReq(s) } });
  if (s.kind === 'put') return RequestOp.fromPartial({ request: { $case: 'requestPut', value: putReq(s) } });
  return RequestOp.fromPartial({ request: { $case: 'requestDeleteRange', value: delReq(s) } });
}
function cmpReq(c: Compare): PbCompare {
  const result = { '=': Compare_CompareResult.EQUAL, '!=': Compare_CompareResult.NOT_EQUAL, '<': Compare_CompareResult.LESS, '>': Compare_CompareResult.GREATER }[c.op];
  const target = { mod: Compare_CompareTarget.MOD, version: Compare_CompareTarget.VERSION, create: Compare_CompareTarget.CREATE, value: Compare_CompareTarget.VALUE }[c.target];
  const targetUnion =
    c.target === 'value'
      ? { $case: 'value' as const, value: enc(String(c.value)) }
      : c.target === 'mod'
        ? { $case: 'modRevision' as const, value: BigInt(c.value) }
        : c.target === 'version'
          ? { $case: 'version' as const, value: BigInt(c.value) }
          : { $case: 'createRevision' as const, value: BigInt(c.value) };
  return PbCompare.fromPartial({ result, target, key: enc(c.key), targetUnion });
}
function rangeRes(r: RangeResponse): StepResult {
  return { kind: 'range', kvs: r.kvs.map(kvOf), count: Number(r.count), more: r.more };
}
function putRes(r: PutResponse, prevKv: boolean): StepResult {
  return { kind: 'put', prev: prevKv && r.prevKv !== undefined ? kvOf(r.prevKv) : null };
}
function delRes(r: DeleteRangeResponse, prevKv: boolean): StepResult {
  return { kind: 'delete', deleted: Number(r.deleted), prevs: prevKv ? r.prevKvs.map(kvOf) : [] };
}
function stepRes(x: ResponseOp, s: TxnStep): StepResult {
  const r = x.response;
  if (r?.$case === 'responseRange') return rangeRes(r.value);
  if (r?.$case === 'responsePut') return putRes(r.value, s.kind === 'put' && s.prevKv);
  if (r?.$case === 'responseDeleteRange') return delRes(r.value, s.kind === 'delete' && s.prevKv);
  throw new Error(`unexpected txn response ${r?.$case ?? 'empty'}`);
}
