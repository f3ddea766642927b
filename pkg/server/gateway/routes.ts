/**
 * The JSON gateway's routes: etcd's HTTP paths (the google.api.http annotations of etcd's rpc.proto,
 * all POST with the whole request as the body) → gRPC method path and message codecs.
 */
import * as rpc from '../../proto/gen/etcdserverpb/rpc.js';
import * as lock from '../../proto/gen/v3lockpb/v3lock.js';
import * as election from '../../proto/gen/v3electionpb/v3election.js';
import type { GatewayStreamRoute } from './stream.js';

interface JsonCodec {
  fromJSON(object: unknown): unknown;
  toJSON(message: never): unknown;
}

export interface GatewayRoute {
  readonly grpcPath: string;
  readonly request: JsonCodec;
  readonly response: JsonCodec;
}

const r = (grpcPath: string, request: JsonCodec, response: JsonCodec): GatewayRoute => ({ grpcPath, request, response });
const KV = '/etcdserverpb.KV/';
const LEASE = '/etcdserverpb.Lease/';
const CLUSTER = '/etcdserverpb.Cluster/';
const MAINT = '/etcdserverpb.Maintenance/';
const AUTH = '/etcdserverpb.Auth/';

/** Unary routes by HTTP path (streams: GATEWAY_STREAM_ROUTES). */
export const GATEWAY_ROUTES: Readonly<Record<string, GatewayRoute>> = {
  '/v3/kv/range': r(KV + 'Range', rpc.RangeRequest, rpc.RangeResponse),
  '/v3/kv/put': r(KV + 'Put', rpc.PutRequest, rpc.PutResponse),
  '/v3/kv/deleterange': r(KV + 'DeleteRange', rpc.DeleteRangeRequest, rpc.DeleteRangeResponse),
  '/v3/kv/txn': r(KV + 'Txn', rpc.TxnRequest, rpc.TxnResponse),
  '/v3/kv/compaction': r(KV + 'Compact', rpc.CompactionRequest, rpc.CompactionResponse),

  '/v3/lease/grant': r(LEASE + 'LeaseGrant', rpc.LeaseGrantRequest, rpc.LeaseGrantResponse),
  '/v3/lease/revoke': r(LEASE + 'LeaseRevoke', rpc.LeaseRevokeRequest, rpc.LeaseRevokeResponse),
  '/v3/kv/lease/revoke': r(LEASE + 'LeaseRevoke', rpc.LeaseRevokeRequest, rpc.LeaseRevokeResponse),
  '/v3/lease/timetolive': r(LEASE + 'LeaseTimeToLive', rpc.LeaseTimeToLiveRequest, rpc.LeaseTimeToLiveResponse),
  '/v3/kv/lease/timetolive': r(LEASE + 'LeaseTimeToLive', rpc.LeaseTimeToLiveRequest, rpc.LeaseTimeToLiveResponse),
  '/v3/lease/leases': r(LEASE + 'LeaseLeases', rpc.LeaseLeasesRequest, rpc.LeaseLeasesResponse),
  '/v3/kv/lease/leases': r(LEASE + 'LeaseLeases', rpc.LeaseLeasesRequest, rpc.LeaseLeasesResponse),

  '/v3/cluster/member/add': r(CLUSTER + 'MemberAdd', rpc.MemberAddRequest, rpc.MemberAddResponse),
  '/v3/cluster/member/remove': r(CLUSTER + 'MemberRemove', rpc.MemberRemoveRequest, rpc.MemberRemoveResponse),
  '/v3/cluster/member/update': r(CLUSTER + 'MemberUpdate', rpc.MemberUpdateRequest, rpc.MemberUpdateResponse),
  '/v3/cluster/member/list': r(CLUSTER + 'MemberList', rpc.MemberListRequest, rpc.MemberListResponse),
  '/v3/cluster/member/promote': r(CLUSTER + 'MemberPromote', rpc.MemberPromoteRequest, rpc.MemberPromoteResponse),

  '/v3/maintenance/alarm': r(MAINT + 'Alarm', rpc.AlarmRequest, rpc.AlarmResponse),
  '/v3/maintenance/status': r(MAINT + 'Status', rpc.StatusRequest, rpc.StatusResponse),
  '/v3/maintenance/defragment': r(MAINT + 'Defragment', rpc.DefragmentRequest, rpc.DefragmentResponse),
  '/v3/maintenance/hash': r(MAINT + 'Hash', rpc.HashRequest, rpc.HashResponse),
  '/v3/maintenance/hashkv': r(MAINT + 'HashKV', rpc.HashKVRequest, rpc.HashKVResponse),
  '/v3/maintenance/transfer-leadership': r(MAINT + 'MoveLeader', rpc.MoveLeaderRequest, rpc.MoveLeaderResponse),
  '/v3/maintenance/downgrade': r(MAINT + 'Downgrade', rpc.DowngradeRequest, rpc.DowngradeResponse),

  '/v3/auth/enable': r(AUTH + 'AuthEnable', rpc.AuthEnableRequest, rpc.AuthEnableResponse),
  '/v3/auth/disable': r(AUTH + 'AuthDisable', rpc.AuthDisableRequest, rpc.AuthDisableResponse),
  '/v3/auth/status': r(AUTH + 'AuthStatus', rpc.AuthStatusRequest, rpc.AuthStatusResponse),
  '/v3/auth/authenticate': r(AUTH + 'Authenticate', rpc.AuthenticateRequest, rpc.AuthenticateResponse),
  '/v3/auth/user/add': r(AUTH + 'UserAdd', rpc.AuthUserAddRequest, rpc.AuthUserAddResponse),
  '/v3/auth/user/get': r(AUTH + 'UserGet', rpc.AuthUserGetRequest, rpc.AuthUserGetResponse),
  '/v3/auth/user/list': r(AUTH + 'UserList', rpc.AuthUserListRequest, rpc.AuthUserListResponse),
  '/v3/auth/user/delete': r(AUTH + 'UserDelete', rpc.AuthUserDeleteRequest, rpc.AuthUserDeleteResponse),
  '/v3/auth/user/changepw': r(AUTH + 'UserChangePassword', rpc.AuthUserChangePasswordRequest, rpc.AuthUserChangePasswordResponse),
  '/v3/auth/user/grant': r(AUTH + 'UserGrantRole', rpc.AuthUserGrantRoleRequest, rpc.AuthUserGrantRoleResponse),
  '/v3/auth/user/revoke': r(AUTH + 'UserRevokeRole', rpc.AuthUserRevokeRoleRequest, rpc.AuthUserRevokeRoleResponse),
  '/v3/auth/role/add': r(AUTH + 'RoleAdd', rpc.AuthRoleAddRequest, rpc.AuthRoleAddResponse),
  '/v3/auth/role/get': r(AUTH + 'RoleGet', rpc.AuthRoleGetRequest, rpc.AuthRoleGetResponse),
  '/v3/auth/role/list': r(AUTH + 'RoleList', rpc.AuthRoleListRequest, rpc.AuthRoleListResponse),
  '/v3/auth/role/delete': r(AUTH + 'RoleDelete', rpc.AuthRoleDeleteRequest, rpc.AuthRoleDeleteResponse),
  '/v3/auth/role/grant': r(AUTH + 'RoleGrantPermission', rpc.AuthRoleGrantPermissionRequest, rpc.AuthRoleGrantPermissionResponse),
  '/v3/auth/role/revoke': r(AUTH + 'RoleRevokePermission', rpc.AuthRoleRevokePermissionRequest, rpc.AuthRoleRevokePermissionResponse),

  '/v3/lock/lock': r('/v3lockpb.Lock/Lock', lock.LockRequest, lock.LockResponse),
  '/v3/lock/unlock': r('/v3lockpb.Lock/Unlock', lock.UnlockRequest, lock.UnlockResponse),
  '/v3/election/campaign': r('/v3electionpb.Election/Campaign', election.CampaignRequest, election.CampaignResponse),
  '/v3/election/proclaim': r('/v3electionpb.Election/Proclaim', election.ProclaimRequest, election.ProclaimResponse),
  '/v3/election/leader': r('/v3electionpb.Election/Leader', election.LeaderRequest, election.LeaderResponse),
  '/v3/election/resign': r('/v3electionpb.Election/Resign', election.ResignRequest, election.ResignResponse),
};

/** Streaming routes: newline-delimited `{"result": ...}` responses (see stream.ts). */
export const GATEWAY_STREAM_ROUTES: Readonly<Record<string, GatewayStreamRoute>> = {
  '/v3/watch': { grpcPath: '/etcdserverpb.Watch/Watch', request: rpc.WatchRequest, response: rpc.WatchResponse },
  '/v3/lease/keepalive': { grpcPath: LEASE + 'LeaseKeepAlive', request: rpc.LeaseKeepAliveRequest, response: rpc.LeaseKeepAliveResponse },
  '/v3/maintenance/snapshot': { grpcPath: MAINT + 'Snapshot', request: rpc.SnapshotRequest, response: rpc.SnapshotResponse },
  '/v3/election/observe': { grpcPath: '/v3electionpb.Election/Observe', request: election.LeaderRequest, response: election.LeaderResponse },
};
