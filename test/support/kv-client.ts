/**
 * A minimal promise-based etcd KV client over grpc-js, built from berth's generated service
 * definitions — for tests that need many requests per second (spawning etcdctl per request is slow).
 */
import * as grpc from '@grpc/grpc-js';
import {
  KVService,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';

export interface KvClient {
  put(req: Partial<PutRequest>): Promise<PutResponse>;
  range(req: Partial<RangeRequest>): Promise<RangeResponse>;
  close(): void;
}

type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

export function kvClient(endpoint: string, opts: { deadlineMs?: number } = {}): KvClient {
  const Ctor = grpc.makeGenericClientConstructor(KVService, 'KV');
  const c = new Ctor(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    put: UnaryFn<PutRequest, PutResponse>;
    range: UnaryFn<RangeRequest, RangeResponse>;
  };
  const call = <Req, Res>(fn: UnaryFn<Req, Res>, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + (opts.deadlineMs ?? 5000));
      fn.call(c, req, new grpc.Metadata(), { deadline }, (err, res) => (err !== null ? reject(err) : resolve(res as Res)));
    });
  const bytes = new Uint8Array(0);
  return {
    put: (r) => call(c.put, { key: bytes, value: bytes, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false, ...r }),
    range: (r) =>
      call(c.range, {
        key: bytes,
        rangeEnd: bytes,
        limit: 0n,
        revision: 0n,
        sortOrder: 0,
        sortTarget: 0,
        serializable: false,
        keysOnly: false,
        countOnly: false,
        minModRevision: 0n,
        maxModRevision: 0n,
        minCreateRevision: 0n,
        maxCreateRevision: 0n,
        ...r,
      }),
    close: () => c.close(),
  };
}
