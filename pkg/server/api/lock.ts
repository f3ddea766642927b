/**
 * The v3lockpb.Lock service: validate → call → map error → fill header. The recipe lives in
 * pkg/server/concurrency/lock.ts. A call the client cancels (or whose deadline passes) stops
 * waiting and gives its queued key back, as etcd's server does.
 */
import { Metadata, type sendUnaryData, type ServerUnaryCall, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as lockpb from '../../proto/gen/v3lockpb/v3lock.js';
import { berthError } from '../../errors/index.js';
import { concurrencyWireError, type ConcurrencyError, type Result } from '../concurrency/errors.js';
import type { Concurrency } from '../concurrency/kv-ops.js';
import { lock, unlock } from '../concurrency/lock.js';

/** The grpc-js error for a recipe failure (code UNKNOWN + etcd's text, like etcd's in-process client). */
export function recipeServiceError(e: ConcurrencyError): ServiceError {
  const w = concurrencyWireError(e);
  const err = new Error(w.message) as ServiceError;
  err.code = w.code;
  err.details = w.message;
  err.metadata = new Metadata();
  return err;
}

/**
 * An AbortSignal for one call: aborted with 'cancelled' when the client goes away, or with the
 * member's stop reason. `done` detaches it from the member's signal.
 */
export function callSignal(call: { on(event: 'cancelled', fn: () => void): unknown }, stop: AbortSignal): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const onStop = (): void => ac.abort(stop.reason);
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  call.on('cancelled', () => ac.abort({ kind: 'cancelled' } satisfies ConcurrencyError));
  return { signal: ac.signal, done: () => stop.removeEventListener('abort', onStop) };
}

/** A unary handler over a recipe: nothing escapes, every failure becomes a gRPC error. */
export function recipeUnary<Req, Res>(
  stop: AbortSignal,
  fn: (req: Req, signal: AbortSignal) => Promise<Result<Res>>,
): (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void {
  return (call, cb) => {
    const { signal, done } = callSignal(call, stop);
    fn(call.request, signal)
      .then(
        (r) => (r.ok ? cb(null, r.value) : cb(recipeServiceError(r.error))),
        (err: unknown) => cb(recipeServiceError({ kind: 'server', error: berthError('internal', err instanceof Error ? err.message : String(err)) })),
      )
      .finally(done);
  };
}

export function lockService(c: Concurrency, stop: AbortSignal): UntypedServiceImplementation {
  const header = (rev: bigint): lockpb.LockResponse['header'] => c.ctx.header(rev);

  const lockCall = async (req: lockpb.LockRequest, signal: AbortSignal): Promise<Result<lockpb.LockResponse>> => {
    const r = await lock(c, { name: req.name, lease: req.lease }, signal);
    return r.ok ? { ok: true, value: { header: header(r.value.revision), key: r.value.key } } : r;
  };

  const unlockCall = async (req: lockpb.UnlockRequest): Promise<Result<lockpb.UnlockResponse>> => {
    const r = await unlock(c, req.key);
    return r.ok ? { ok: true, value: { header: header(r.value) } } : r;
  };

  return { lock: recipeUnary(stop, lockCall), unlock: recipeUnary(stop, unlockCall) };
}
