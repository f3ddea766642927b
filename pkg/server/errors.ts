/**
 * Maps the error kinds of the packages below the server onto berth's closed set (pkg/errors), which
 * alone knows the wire codes and etcd's messages.
 */
import { berthError, toGrpcStatus, type BerthError, type ErrorKind } from '../errors/index.js';
import type { MvccError, MvccErrorKind } from '../storage/mvcc/index.js';
import type { StepResult } from '../raft/index.js';
import { Metadata, type ServiceError } from '@grpc/grpc-js';

const MVCC: { readonly [K in MvccErrorKind]: ErrorKind } = {
  compacted: 'compacted',
  'future-rev': 'futureRevision',
  'key-not-found': 'keyNotFound',
  'value-provided': 'valueProvided',
  'lease-provided': 'leaseProvided',
  'too-many-ops': 'tooManyOps',
  'duplicate-key': 'duplicateKey',
  'empty-key': 'emptyKey',
  'lease-not-found': 'leaseNotFound',
};

export function mvccError(e: MvccError): BerthError {
  return berthError(MVCC[e.kind]);
}

/** A proposal raft refused: no leader known, a transfer in progress, or flow control. */
export function proposalError(r: Exclude<StepResult, { ok: true }>): BerthError {
  switch (r.reason) {
    case 'proposal-dropped':
      return berthError('noLeader', r.detail);
    default:
      return berthError('internal', `${r.reason}: ${r.detail}`);
  }
}

/** The grpc-js error object for a berth error. */
export function toServiceError(e: BerthError): ServiceError {
  const w = toGrpcStatus(e);
  const err = new Error(w.message) as ServiceError;
  err.code = w.code;
  err.details = w.message;
  err.metadata = new Metadata();
  return err;
}
