/**
 * The closed set of lessor failures, returned as values. The server maps them onto berth's error
 * kinds (pkg/errors), which alone know etcd's wire codes and messages.
 */
export type LeaseErrorKind =
  /** NotFound "etcdserver: requested lease not found" */
  | 'lease-not-found'
  /** FailedPrecondition "etcdserver: lease already exists" */
  | 'lease-exists'
  /** OutOfRange "etcdserver: too large lease TTL" */
  | 'ttl-too-large'
  /** This member's lessor does not manage expiry (it is not the leader's): the caller must go to the leader. */
  | 'not-primary';

export type LeaseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: LeaseErrorKind };

export function leaseOk<T>(value: T): LeaseResult<T> {
  return { ok: true, value };
}

export function leaseErr(error: LeaseErrorKind): LeaseResult<never> {
  return { ok: false, error };
}
