/**
 * How a failed call reads to a user: the text etcdctl prints after "Error: ". Server errors already
 * carry etcd's messages ("etcdserver: requested lease not found") in the gRPC status details; the
 * client-side cases get Go's context messages, which is what etcdctl shows for them.
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';

export class ClientError extends Error {
  constructor(
    message: string,
    /** The gRPC status code, when the failure came from a call. */
    readonly code?: Status,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** The etcdctl-style message of any error a call or dial can produce. */
export function errorMessage(err: unknown): string {
  if (err instanceof ClientError) return err.message;
  if (isServiceError(err)) {
    if (err.code === Status.DEADLINE_EXCEEDED) return 'context deadline exceeded';
    if (err.code === Status.CANCELLED) return 'context canceled';
    if (err.details !== '') return err.details;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

export function toClientError(err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  return new ClientError(errorMessage(err), isServiceError(err) ? err.code : undefined);
}

/**
 * Whether a failed call may be retried on another endpoint: the endpoint was unreachable (no etcd
 * message from a server), so the request did not take effect there.
 */
export function isUnreachable(err: unknown): boolean {
  return isServiceError(err) && err.code === Status.UNAVAILABLE && !err.details.startsWith('etcdserver:');
}
