/**
 * A learner refuses client calls, like etcd's gRPC interceptors (etcdserver/api/v3rpc/interceptor.go):
 * while this member's record says it is a learner, every unary call except Maintenance.Status and a
 * serializable KV.Range, and every streaming call (Watch, LeaseKeepAlive, Maintenance.Snapshot,
 * Election.Observe), answers Unavailable "etcdserver: rpc not supported for learner" before reaching
 * the service (so before the auth gate, as etcd's interceptor runs before the handler). The JSON
 * gateway calls the same recorded handlers, so it answers the same (etcd's gateway dials its own gRPC
 * server). etcd 3.4 refuses every stream on a learner; 3.5.x later allows Maintenance.Snapshot — berth
 * follows 3.4 (see docs/membership.md).
 */
import type { Server, ServiceError } from '@grpc/grpc-js';
import { berthError } from '../errors/index.js';
import { toServiceError } from './errors.js';
import { wrapServices, type MethodHandler } from './service-wrap.js';

interface AnyCall {
  readonly request?: unknown;
  emit(event: 'error', err: ServiceError): boolean;
}

type Handler = (call: AnyCall, cb?: (err: ServiceError | null, value?: unknown) => void) => void;

const STATUS_PATH = '/etcdserverpb.Maintenance/Status';
const RANGE_PATH = '/etcdserverpb.KV/Range';

/** etcd's isRPCSupportedForLearner, for unary calls (streams are never supported). */
export function supportedForLearner(path: string, request: unknown): boolean {
  if (path === STATUS_PATH) return true;
  if (path === RANGE_PATH) return (request as { serializable?: unknown } | undefined)?.serializable === true;
  return false;
}

/**
 * Wraps `server.addService` so every service added afterwards refuses calls while `isLearner()` says
 * this member is a learner (etcd: `s.IsMemberExist(s.ID()) && s.IsLearner()`). Install it before the
 * auth gate so the learner check runs first.
 */
export function gateLearnerCalls(server: Server, isLearner: () => boolean): void {
  wrapServices(server, (def, handler) => {
    const h = handler as Handler;
    const unary = !def.requestStream && !def.responseStream;
    const gated: Handler = (call, cb) => {
      if (!isLearner() || (unary && supportedForLearner(def.path, call.request))) return h(call, cb);
      const err = toServiceError(berthError('notSupportedForLearner'));
      if (!def.responseStream && cb !== undefined) cb(err);
      else call.emit('error', err);
    };
    return gated as MethodHandler;
  });
}
