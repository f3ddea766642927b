import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERROR_KINDS,
  berthError,
  isBerthError,
  kindFromMessage,
  toGrpcStatus,
  wireErrorOf,
  type ErrorKind,
} from '../../pkg/errors/index.js';

/**
 * ETCD-COMPAT.md's error table, transcribed independently of the implementation: kind, numeric gRPC
 * code, exact etcd message. Every row must map exactly; every kind but `internal` must be a row.
 */
const TABLE: ReadonlyArray<readonly [ErrorKind, number, string]> = [
  ['emptyKey', 3 /* InvalidArgument */, 'etcdserver: key is not provided'],
  ['keyNotFound', 3 /* InvalidArgument */, 'etcdserver: key not found'],
  ['valueProvided', 3 /* InvalidArgument */, 'etcdserver: value is provided'],
  ['leaseProvided', 3 /* InvalidArgument */, 'etcdserver: lease is provided'],
  ['tooManyOps', 3 /* InvalidArgument */, 'etcdserver: too many operations in txn request'],
  ['duplicateKey', 3 /* InvalidArgument */, 'etcdserver: duplicate key given in txn request'],
  ['invalidSortOption', 3 /* InvalidArgument */, 'etcdserver: invalid sort option'],
  ['electionNotLeader', 2 /* Unknown */, 'election: not leader'],
  ['electionNoLeader', 2 /* Unknown */, 'election: no leader'],
  ['electionMissingLeaderKey', 2 /* Unknown */, '"leader" field must be provided'],
  ['mutexSessionExpired', 2 /* Unknown */, 'mutex: session is expired'],
  ['cancelled', 1 /* Cancelled */, 'context canceled'],
  ['compacted', 11 /* OutOfRange */, 'etcdserver: mvcc: required revision has been compacted'],
  ['futureRevision', 11 /* OutOfRange */, 'etcdserver: mvcc: required revision is a future revision'],
  ['noSpace', 8 /* ResourceExhausted */, 'etcdserver: mvcc: database space exceeded'],
  ['leaseNotFound', 5 /* NotFound */, 'etcdserver: requested lease not found'],
  ['leaseExists', 9 /* FailedPrecondition */, 'etcdserver: lease already exists'],
  ['leaseTtlTooLarge', 11 /* OutOfRange */, 'etcdserver: too large lease TTL'],
  ['memberExists', 9 /* FailedPrecondition */, 'etcdserver: member ID already exist'],
  ['peerUrlExists', 9 /* FailedPrecondition */, 'etcdserver: Peer URLs already exists'],
  ['memberNotEnoughStarted', 9 /* FailedPrecondition */, 'etcdserver: re-configuration failed due to not enough started members'],
  ['memberBadUrls', 3 /* InvalidArgument */, 'etcdserver: given member URLs are invalid'],
  ['memberNotFound', 5 /* NotFound */, 'etcdserver: member not found'],
  ['memberNotLearner', 9 /* FailedPrecondition */, 'etcdserver: can only promote a learner member'],
  ['learnerNotReady', 9 /* FailedPrecondition */, 'etcdserver: can only promote a learner member which is in sync with leader'],
  ['tooManyLearners', 9 /* FailedPrecondition */, 'etcdserver: too many learner members in cluster'],
  ['requestTooLarge', 3 /* InvalidArgument */, 'etcdserver: request is too large'],
  ['tooManyRequests', 8 /* ResourceExhausted */, 'etcdserver: too many requests'],
  ['rootUserNotExist', 9 /* FailedPrecondition */, 'etcdserver: root user does not exist'],
  ['rootRoleNotExist', 9 /* FailedPrecondition */, 'etcdserver: root user does not have root role'],
  ['userAlreadyExists', 9 /* FailedPrecondition */, 'etcdserver: user name already exists'],
  ['userEmpty', 3 /* InvalidArgument */, 'etcdserver: user name is empty'],
  ['userNotFound', 9 /* FailedPrecondition */, 'etcdserver: user name not found'],
  ['roleAlreadyExists', 9 /* FailedPrecondition */, 'etcdserver: role name already exists'],
  ['roleNotFound', 9 /* FailedPrecondition */, 'etcdserver: role name not found'],
  ['roleEmpty', 3 /* InvalidArgument */, 'etcdserver: role name is empty'],
  ['authFailed', 3 /* InvalidArgument */, 'etcdserver: authentication failed, invalid user ID or password'],
  ['permissionDenied', 7 /* PermissionDenied */, 'etcdserver: permission denied'],
  ['roleNotGranted', 9 /* FailedPrecondition */, 'etcdserver: role is not granted to the user'],
  ['permissionNotGranted', 9 /* FailedPrecondition */, 'etcdserver: permission is not granted to the role'],
  ['authNotEnabled', 9 /* FailedPrecondition */, 'etcdserver: authentication is not enabled'],
  ['invalidAuthToken', 16 /* Unauthenticated */, 'etcdserver: invalid auth token'],
  ['invalidAuthManagement', 3 /* InvalidArgument */, 'etcdserver: invalid auth management'],
  ['authOldRevision', 3 /* InvalidArgument */, 'etcdserver: revision of auth store is old'],
  ['permissionNotGiven', 3 /* InvalidArgument */, 'etcdserver: permission not given'],
  ['noLeader', 14 /* Unavailable */, 'etcdserver: no leader'],
  ['notLeader', 9 /* FailedPrecondition */, 'etcdserver: not leader'],
  ['leaderChanged', 14 /* Unavailable */, 'etcdserver: leader changed'],
  ['notCapable', 14 /* Unavailable */, 'etcdserver: not capable'],
  ['stopped', 14 /* Unavailable */, 'etcdserver: server stopped'],
  ['timeout', 14 /* Unavailable */, 'etcdserver: request timed out'],
  ['timeoutDueToLeaderFail', 14 /* Unavailable */, 'etcdserver: request timed out, possibly due to previous leader failure'],
  ['timeoutDueToConnectionLost', 14 /* Unavailable */, 'etcdserver: request timed out, possibly due to connection lost'],
  ['unhealthy', 14 /* Unavailable */, 'etcdserver: unhealthy cluster'],
  ['corrupt', 15 /* DataLoss */, 'etcdserver: corrupt cluster'],
  ['notSupportedForLearner', 14 /* Unavailable */, 'etcdserver: rpc not supported for learner'],
  ['badLeaderTransferee', 9 /* FailedPrecondition */, 'etcdserver: bad leader transferee'],
  ['ttlIsZero', 3 /* InvalidArgument */, 'etcdserver: ttl is 0'],
];

test('every row of the etcd error table maps to its exact gRPC code and message', () => {
  for (const [kind, code, message] of TABLE) {
    assert.deepEqual({ ...wireErrorOf(kind) }, { code, message }, kind);
    assert.deepEqual({ ...toGrpcStatus(berthError(kind, 'some internal detail')) }, { code, message }, kind);
  }
});

test('the kind set is closed: the table rows plus internal, no duplicates', () => {
  const fromTable = TABLE.map(([k]) => k);
  assert.equal(new Set(fromTable).size, fromTable.length);
  assert.deepEqual([...fromTable, 'internal'].sort(), [...ERROR_KINDS].sort());
  const messages = ERROR_KINDS.map((k) => wireErrorOf(k).message);
  assert.equal(new Set(messages).size, messages.length, 'messages are unique, so reverse lookup is total');
});

test('internal maps to INTERNAL (13) and carries its detail', () => {
  assert.deepEqual({ ...toGrpcStatus(berthError('internal')) }, { code: 13, message: 'etcdserver: internal error' });
  assert.deepEqual(
    { ...toGrpcStatus(berthError('internal', 'apply: bad entry')) },
    { code: 13, message: 'etcdserver: internal error: apply: bad entry' },
  );
});

test('kindFromMessage reverses every table row, bare or wrapped by a client', () => {
  for (const [kind, code, message] of TABLE) {
    assert.equal(kindFromMessage(message), kind);
    assert.equal(kindFromMessage(`rpc error: code = X desc = ${message}`), kind);
    assert.equal(kindFromMessage(`${code} SOME_CODE: ${message}`), kind);
  }
  assert.equal(kindFromMessage('etcdserver: something else'), undefined);
  assert.equal(kindFromMessage(''), undefined);
  assert.equal(kindFromMessage('etcdserver: internal error'), undefined);
});

test('berthError builds frozen plain data; isBerthError narrows', () => {
  const e = berthError('compacted', 'rev 5');
  assert.deepEqual({ ...e }, { kind: 'compacted', detail: 'rev 5' });
  assert.ok(Object.isFrozen(e));
  assert.deepEqual({ ...berthError('noLeader') }, { kind: 'noLeader' });
  assert.ok(isBerthError(e));
  assert.ok(!isBerthError({ kind: 'nope' }));
  assert.ok(!isBerthError(null));
  assert.ok(!isBerthError(new Error('x')));
});
