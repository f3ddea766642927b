/** Wires the KV service and its apply handlers into a member. */
import {
  CompactionResponse,
  DeleteRangeResponse,
  KVService,
  PutResponse,
  RangeResponse,
  TxnResponse,
} from '../../proto/gen/etcdserverpb/rpc.js';
import { encodeToBuffer } from '../../proto/encode.js';
import { kvHandlers } from '../apply/kv.js';
import type { ServiceModule } from '../services.js';
import { kvService } from './kv.js';
import { spaceQuota } from '../alarm/space-quota.js';
import { mvccOpCounter } from '../apply/op-counts.js';
import { memberMetrics } from './metrics-registry.js';
import { trackKeyCount } from './key-count.js';

/** The KV service with its responses encoded through the shared writer (pkg/proto/encode.ts). */
const KV_SERVICE: typeof KVService = {
  ...KVService,
  range: { ...KVService.range, responseSerialize: (v: RangeResponse) => encodeToBuffer(RangeResponse, v) },
  put: { ...KVService.put, responseSerialize: (v: PutResponse) => encodeToBuffer(PutResponse, v) },
  deleteRange: { ...KVService.deleteRange, responseSerialize: (v: DeleteRangeResponse) => encodeToBuffer(DeleteRangeResponse, v) },
  txn: { ...KVService.txn, responseSerialize: (v: TxnResponse) => encodeToBuffer(TxnResponse, v) },
  compact: { ...KVService.compact, responseSerialize: (v: CompactionResponse) => encodeToBuffer(CompactionResponse, v) },
};

export const kvModule: ServiceModule = {
  name: 'kv',
  register(ctx, grpcServer) {
    const publish = ctx.publishEvents;
    const metrics = memberMetrics(ctx);
    const count = mvccOpCounter(metrics);
    const h = kvHandlers(ctx.mvcc, publish, count);
    trackKeyCount(ctx, metrics.mvcc.keysTotal);
    ctx.registerHandler('put', h.put);
    ctx.registerHandler('deleteRange', h.deleteRange);
    ctx.registerHandler('txn', h.txn);
    ctx.registerHandler('compaction', h.compaction);
    grpcServer.addService(
      KV_SERVICE,
      kvService({
        mvcc: ctx.mvcc,
        proposer: { propose: (r) => ctx.propose(r) },
        linearizableRead: () => ctx.linearizableRead(),
        header: (rev) => ctx.header(rev),
        maxTxnOps: ctx.config.maxTxnOps,
        admitWrite: (cost) => spaceQuota(ctx).admit(cost),
        countRange: () => count(1, 0, 0),
      }),
    );
  },
};
