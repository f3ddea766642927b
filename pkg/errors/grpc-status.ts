/**
 * The ONE place that maps berth error kinds to gRPC status codes and etcd's exact message strings
 * (architecture invariant 4). Go clients recognise errors by message text, so the strings below
 * must match etcd byte for byte; test/errors/grpc-status.test.ts pins the whole table.
 */
import { status } from '@grpc/grpc-js';
import type { BerthError } from './berth-error.js';
import { ERROR_KINDS, type ErrorKind } from './kinds.js';

/** A gRPC status code, numerically equal to grpc-js's `status` enum. */
export type GrpcCode = status;

export interface WireError {
  readonly code: GrpcCode;
  readonly message: string;
}

const INTERNAL_MESSAGE = 'etcdserver: internal error';

const TABLE: { readonly [K in ErrorKind]: WireError } = {
  emptyKey: { code: status.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  keyNotFound: { code: status.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  valueProvided: { code: status.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  leaseProvided: { code: status.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  tooManyOps: { code: status.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  duplicateKey: { code: status.INVALID_ARGUMENT, message: 'etcdserver: duplicate key given in txn request' },
  invalidSortOption: { code: status.INVALID_ARGUMENT, message: 'etcdserver: invalid sort option' },
  compacted: { code: status.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  futureRevision: { code: status.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision is a future revision' },
  noSpace: { code: status.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },
  leaseNotFound: { code: status.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  leaseExists: { code: status.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  leaseTtlTooLarge: { code: status.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },
  memberExists: { code: status.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  peerUrlExists: { code: status.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  memberNotEnoughStarted: {
    code: status.FAILED_PRECONDITION,
    message: 'etcdserver: re-configuration failed due to not enough started members',
  },
  memberBadUrls: { code: status.INVALID_ARGUMENT, message: 'etcdserver: given member URLs are invalid' },
  memberNotFound: { code: status.NOT_FOUND, message: 'etcdserver: member not found' },
  memberNotLearner: { code: status.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member' },
  learnerNotReady: {
    code: status.FAILED_PRECONDITION,
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  tooManyLearners: { code: status.FAILED_PRECONDITION, message: 'etcdserver: too many learner members in cluster' },
  requestTooLarge: { code: status.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  tooManyRequests: { code: status.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },
  rootUserNotExist: { code: status.FAILED_PRECONDITION, message: 'etcdserver: root user does not exist' },
  rootRoleNotExist: { code: status.FAILED_PRECONDITION, message: 'etcdserver: root user does not have root role' },
  userAlreadyExists: { code: status.FAILED_PRECONDITION, message: 'etcdserver: user name already exists' },
  userEmpty: { code: status.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' },
  userNotFound: { code: status.FAILED_PRECONDITION, message: 'etcdserver: user name not found' },
  roleAlreadyExists: { code: status.FAILED_PRECONDITION, message: 'etcdserver: role name already exists' },
  roleNotFound: { code: status.FAILED_PRECONDITION, message: 'etcdserver: role name not found' },
  roleEmpty: { code: status.INVALID_ARGUMENT, message: 'etcdserver: role name is empty' },
  authFailed: {
    code: status.INVALID_ARGUMENT,
    message: 'etcdserver: authentication failed, invalid user ID or password',
  },
  permissionDenied: { code: status.PERMISSION_DENIED, message: 'etcdserver: permission denied' },
  roleNotGranted: { code: status.FAILED_PRECONDITION, message: 'etcdserver: role is not granted to the user' },
  permissionNotGranted: {
    code: status.FAILED_PRECONDITION,
    message: 'etcdserver: permission is not granted to the role',
  },
  authNotEnabled: { code: status.FAILED_PRECONDITION, message: 'etcdserver: authentication is not enabled' },
  invalidAuthToken: { code: status.UNAUTHENTICATED, message: 'etcdserver: invalid auth token' },
  invalidAuthManagement: { code: status.INVALID_ARGUMENT, message: 'etcdserver: invalid auth management' },
  authOldRevision: { code: status.INVALID_ARGUMENT, message: 'etcdserver: revision of auth store is old' },
  permissionNotGiven: { code: status.INVALID_ARGUMENT, message: 'etcdserver: permission not given' },
  noLeader: { code: status.UNAVAILABLE, message: 'etcdserver: no leader' },
  notLeader: { code: status.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  leaderChanged: { code: status.UNAVAILABLE, message: 'etcdserver: leader changed' },
  notCapable: { code: status.UNAVAILABLE, message: 'etcdserver: not capable' },
  stopped: { code: status.UNAVAILABLE, message: 'etcdserver: server stopped' },
  timeout: { code: status.UNAVAILABLE, message: 'etcdserver: request timed out' },
  timeoutDueToLeaderFail: {
    code: status.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
  },
  timeoutDueToConnectionLost: {
    code: status.UNAVAILABLE,
    message: 'etcdserver: request timed out, possibly due to connection lost',
  },
  unhealthy: { code: status.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  corrupt: { code: status.DATA_LOSS, message: 'etcdserver: corrupt cluster' },
  notSupportedForLearner: { code: status.UNAVAILABLE, message: 'etcdserver: rpc not supported for learner' },
  badLeaderTransferee: { code: status.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },
  ttlIsZero: { code: status.INVALID_ARGUMENT, message: 'etcdserver: ttl is 0' },
  electionNotLeader: { code: status.UNKNOWN, message: 'election: not leader' },
  electionNoLeader: { code: status.UNKNOWN, message: 'election: no leader' },
  electionMissingLeaderKey: { code: status.UNKNOWN, message: '"leader" field must be provided' },
  mutexSessionExpired: { code: status.UNKNOWN, message: 'mutex: session is expired' },
  cancelled: { code: status.CANCELLED, message: 'context canceled' },
  internal: { code: status.INTERNAL, message: INTERNAL_MESSAGE },
};

/** The wire code and exact etcd message of a kind. Total over {@link ErrorKind}; never throws. */
export function wireErrorOf(kind: ErrorKind): WireError {
  return TABLE[kind];
}

/**
 * The gRPC status to send for an error. Table kinds get etcd's exact message and no detail (clients
 * compare strings); `internal` appends its detail, since no client matches on it.
 */
export function toGrpcStatus(err: BerthError): WireError {
  const wire = TABLE[err.kind];
  if (err.kind === 'internal' && err.detail !== undefined && err.detail !== '') {
    return { code: wire.code, message: `${INTERNAL_MESSAGE}: ${err.detail}` };
  }
  return wire;
}

const BY_MESSAGE: ReadonlyMap<string, ErrorKind> = new Map(
  ERROR_KINDS.filter((k) => k !== 'internal').map((k) => [TABLE[k].message, k] as const),
);

/**
 * Reverse lookup for clients and the CLI: the kind whose etcd message is `message`, or undefined.
 * Accepts the bare message, or a grpc-js/Go rendering that ends in `desc = <message>` or
 * `<code>: <message>` (e.g. `9 FAILED_PRECONDITION: etcdserver: not leader`).
 */
export function kindFromMessage(message: string): ErrorKind | undefined {
  const exact = BY_MESSAGE.get(message);
  if (exact !== undefined) return exact;
  // A client's rendering puts the message last, after "desc = " or "<CODE>: ".
  for (const sep of ['desc = ', ': ']) {
    for (let at = message.indexOf(sep); at >= 0; at = message.indexOf(sep, at + 1)) {
      const kind = BY_MESSAGE.get(message.slice(at + sep.length));
      if (kind !== undefined) return kind;
    }
  }
  return undefined;
}
