/**
 * The closed set of error kinds a client can observe from berth.
 *
 * Every row of ETCD-COMPAT.md's error table is one kind; `internal` covers broken invariants and
 * anything without an etcd equivalent. Packages return these kinds as values; only
 * `./grpc-status.ts` knows how they look on the wire.
 */
export const ERROR_KINDS = [
  // KV request validation
  'emptyKey',
  'keyNotFound',
  'valueProvided',
  'leaseProvided',
  'tooManyOps',
  'duplicateKey',
  'invalidSortOption',
  // MVCC
  'compacted',
  'futureRevision',
  'noSpace',
  // leases
  'leaseNotFound',
  'leaseExists',
  'leaseTtlTooLarge',
  // membership
  'memberExists',
  'peerUrlExists',
  'memberNotEnoughStarted',
  'memberBadUrls',
  'memberNotFound',
  'memberNotLearner',
  'learnerNotReady',
  'tooManyLearners',
  // request limits
  'requestTooLarge',
  'tooManyRequests',
  // auth
  'rootUserNotExist',
  'rootRoleNotExist',
  'userAlreadyExists',
  'userEmpty',
  'userNotFound',
  'roleAlreadyExists',
  'roleNotFound',
  'roleEmpty',
  'authFailed',
  'permissionDenied',
  'roleNotGranted',
  'permissionNotGranted',
  'authNotEnabled',
  'invalidAuthToken',
  'invalidAuthManagement',
  'authOldRevision',
  'permissionNotGiven',
  // leadership and availability
  'noLeader',
  'notLeader',
  'leaderChanged',
  'notCapable',
  'stopped',
  'timeout',
  'timeoutDueToLeaderFail',
  'timeoutDueToConnectionLost',
  'unhealthy',
  'corrupt',
  'notSupportedForLearner',
  'badLeaderTransferee',
  'ttlIsZero',
  // lock and election recipes (etcd sends these as code Unknown with the text)
  'electionNotLeader',
  'electionNoLeader',
  'electionMissingLeaderKey',
  'mutexSessionExpired',
  'cancelled',
  // generic
  'internal',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** True when `value` names one of the kinds above (for decoding untrusted strings). */
export function isErrorKind(value: string): value is ErrorKind {
  return (ERROR_KINDS as readonly string[]).includes(value);
}
