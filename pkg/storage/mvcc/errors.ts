/**
 * The closed set of MVCC failures, returned as values. The single error-mapping module of the
 * server turns a kind into a gRPC status and etcd's exact message (quoted per kind below).
 */
export type MvccErrorKind =
  /** OutOfRange "etcdserver: mvcc: required revision has been compacted" */
  | 'compacted'
  /** OutOfRange "etcdserver: mvcc: required revision is a future revision" */
  | 'future-rev'
  /** InvalidArgument "etcdserver: key not found" (ignore_value/ignore_lease on a missing key; also an empty RequestOp) */
  | 'key-not-found'
  /** InvalidArgument "etcdserver: value is provided" */
  | 'value-provided'
  /** InvalidArgument "etcdserver: lease is provided" */
  | 'lease-provided'
  /** InvalidArgument "etcdserver: too many operations in txn request" */
  | 'too-many-ops'
  /** InvalidArgument "etcdserver: duplicate key given in txn request" */
  | 'duplicate-key'
  /** InvalidArgument "etcdserver: key is not provided" */
  | 'empty-key'
  /** NotFound "etcdserver: requested lease not found" (only when the store was given a lease checker) */
  | 'lease-not-found';

export interface MvccError {
  readonly kind: MvccErrorKind;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MvccError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T>(kind: MvccErrorKind): Result<T> {
  return { ok: false, error: { kind } };
}
