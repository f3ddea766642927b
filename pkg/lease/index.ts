/**
 * pkg/lease — etcd's leases: the lessor (grant, revoke, keep-alive, expiry on the leader) and the
 * persisted lease records. See docs/lease.md.
 */
export { Lessor } from './lessor.js';
export type { LessorOptions, LessorDuties, LeaseCheckpoint, PreparedLeaseChange, PreparedGrant, PreparedRevoke, LeaseTimeToLive } from './lessor.js';
export type { LeaseErrorKind, LeaseResult } from './errors.js';
export { MAX_LEASE_TTL, minLeaseTtl, effectiveTtl } from './ttl.js';
export { deleteKeysTxn } from './revoke-txn.js';
export { openLessor, lessorOf, recoverAttachments } from './recover.js';
export { leaseKey, encodeLeaseRecord, decodeLeaseRecord, type LeaseRecord } from './record.js';
