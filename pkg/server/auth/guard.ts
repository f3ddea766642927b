/**
 * Apply-time permission checks (etcd's auth applier): every member decides the same way because the
 * command carries the user and the auth revision its token was checked at, and auth changes are
 * applied in log order. Client calls made while auth is enabled carry a header; so does a client
 * LeaseRevoke made while auth is off (an empty one). A command without a header is either a client
 * command proposed while auth was off (KV writes and auth commands: judged as anonymous, like etcd's
 * empty header) or one the server proposes itself (lease expiry, checkpoints, alarms, member
 * attributes, compaction), which is not checked. So a write or LeaseRevoke sent while auth was off
 * and applied after AuthEnable fails with "user name is empty" (a revoke only if keys are attached),
 * as in etcd, while the leader's expiry revokes still go through (etcd proposes them as root).
 *
 * - Put: WRITE on the key; READ too with prev_kv; with a lease, WRITE on every key already attached
 *   to it (whoever cannot revoke the lease may not attach to it).
 * - DeleteRange: WRITE on the range; READ too with prev_kv.
 * - Txn: READ on every compare, and the ops of both branches as above, nested txns included.
 * - LeaseRevoke: WRITE on every attached key.
 * - Auth admin commands: the root role; UserGet also for the user itself, RoleGet for holders of the role.
 */
import { checkAdmin, checkOp, NO_USER, type AuthInfo } from '../../auth/index.js';
import { berthError, type BerthError, type ErrorKind } from '../../errors/index.js';
import type { Command } from '../../proto/gen/berthpb/command.js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import type { MemberAuth } from './member-auth.js';

export interface ApplyGuard {
  /** True when the check needs earlier batched writes applied first (lease attachments). */
  barrier(cmd: Command): boolean;
  check(cmd: Command): BerthError | undefined;
}

/** The keys currently attached to a lease (empty when unknown). */
export type LeaseKeys = (lease: bigint) => readonly Uint8Array[];

/** Commands only clients propose (so a missing header means "sent while auth was off"). */
const CLIENT_ONLY: ReadonlySet<string> = new Set(['put', 'deleteRange', 'txn', 'authUserGet', 'authRoleGet']);

const ADMIN_CASES: ReadonlySet<string> = new Set([
  'authEnable',
  'authDisable',
  'authStatus',
  'authUserAdd',
  'authUserDelete',
  'authUserChangePassword',
  'authUserGrantRole',
  'authUserRevokeRole',
  'authUserList',
  'authRoleAdd',
  'authRoleDelete',
  'authRoleGrantPermission',
  'authRoleRevokePermission',
  'authRoleList',
]);

function txnUsesLease(t: pb.TxnRequest): boolean {
  for (const op of [...t.success, ...t.failure]) {
    const r = op.request;
    if (r?.$case === 'requestPut' && r.value.lease !== 0n) return true;
    if (r?.$case === 'requestTxn' && txnUsesLease(r.value)) return true;
  }
  return false;
}

export function applyGuard(auth: MemberAuth, leaseKeys: LeaseKeys): ApplyGuard {
  const store = auth.store;

  const leasePuts = (ai: AuthInfo, lease: bigint): ErrorKind | undefined => {
    if (lease === 0n) return undefined;
    for (const k of leaseKeys(lease)) {
      const e = checkOp(store, ai, k, new Uint8Array(), 'write');
      if (e !== undefined) return e;
    }
    return undefined;
  };

  const put = (ai: AuthInfo, r: pb.PutRequest): ErrorKind | undefined =>
    checkOp(store, ai, r.key, new Uint8Array(), 'write') ?? leasePuts(ai, r.lease) ?? (r.prevKv ? checkOp(store, ai, r.key, new Uint8Array(), 'read') : undefined);

  const deleteRange = (ai: AuthInfo, r: pb.DeleteRangeRequest): ErrorKind | undefined =>
    (r.prevKv ? checkOp(store, ai, r.key, r.rangeEnd, 'read') : undefined) ?? checkOp(store, ai, r.key, r.rangeEnd, 'write');

  const txn = (ai: AuthInfo, t: pb.TxnRequest): ErrorKind | undefined => {
    for (const c of t.compare) {
      const e = checkOp(store, ai, c.key, c.rangeEnd, 'read');
      if (e !== undefined) return e;
    }
    for (const op of [...t.success, ...t.failure]) {
      const r = op.request;
      let e: ErrorKind | undefined;
      if (r?.$case === 'requestRange') e = checkOp(store, ai, r.value.key, r.value.rangeEnd, 'read');
      else if (r?.$case === 'requestPut') e = put(ai, r.value);
      else if (r?.$case === 'requestDeleteRange') e = deleteRange(ai, r.value);
      else if (r?.$case === 'requestTxn') e = txn(ai, r.value);
      if (e !== undefined) return e;
    }
    return undefined;
  };

  const decide = (cmd: Command): ErrorKind | undefined => {
    const r = cmd.request;
    const h = cmd.header;
    if (r === undefined || !store.enabled) return undefined;
    if (h === undefined && !CLIENT_ONLY.has(r.$case) && !ADMIN_CASES.has(r.$case)) return undefined;
    const ai: AuthInfo = h === undefined ? NO_USER : { username: h.username, revision: h.authRevision };
    switch (r.$case) {
      case 'put':
        return put(ai, r.value);
      case 'deleteRange':
        return deleteRange(ai, r.value);
      case 'txn':
        return txn(ai, r.value);
      case 'leaseRevoke':
        return leasePuts(ai, r.value.ID);
      case 'authUserGet': {
        const e = checkAdmin(store, ai);
        return e !== undefined && r.value.name !== ai.username ? e : undefined;
      }
      case 'authRoleGet': {
        const e = checkAdmin(store, ai);
        return e !== undefined && !store.hasRole(ai.username, r.value.role) ? e : undefined;
      }
      default:
        return ADMIN_CASES.has(r.$case) ? checkAdmin(store, ai) : undefined;
    }
  };

  return {
    barrier(cmd) {
      const r = cmd.request;
      if (!store.enabled || r === undefined) return false;
      return (r.$case === 'put' && r.value.lease !== 0n) || (r.$case === 'txn' && txnUsesLease(r.value));
    },
    check(cmd) {
      const e = decide(cmd);
      return e === undefined ? undefined : berthError(e);
    },
  };
}
