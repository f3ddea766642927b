/** Maps lessor failures (pkg/lease) onto berth's closed set of error kinds. */
import { berthError, type BerthError, type ErrorKind } from '../../errors/index.js';
import type { LeaseErrorKind } from '../../lease/index.js';

const KINDS: { readonly [K in LeaseErrorKind]: ErrorKind } = {
  'lease-not-found': 'leaseNotFound',
  'lease-exists': 'leaseExists',
  'ttl-too-large': 'leaseTtlTooLarge',
  // Only reaches a client if a service forgot to wait for or forward to the leader.
  'not-primary': 'notLeader',
};

export function leaseError(kind: LeaseErrorKind): BerthError {
  return berthError(KINDS[kind]);
}
