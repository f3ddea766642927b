/**
 * Canned but realistic replies for {@link FakeEtcd}: a three-key store that Range/DeleteRange answer
 * from (honouring range_end, sort, limit, keys_only), one lease, one member, and plain acks.
 * Values are fixed so tests can assert exactly what etcdctl prints.
 */
import { createHash } from 'node:crypto';

import * as grpc from '@grpc/grpc-js';

import {
  AlarmResponse,
  AuthEnableResponse,
  AuthService,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionResponse,
  AuthUserAddResponse,
  AuthUserGrantRoleResponse,
  ClusterService,
  CompactionResponse,
  DefragmentResponse,
  DeleteRangeResponse,
  HashKVResponse,
  KVService,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseService,
  LeaseTimeToLiveResponse,
  MaintenanceService,
  MemberAddResponse,
  MemberListResponse,
  MemberPromoteResponse,
  PutResponse,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  RangeResponse,
  SnapshotResponse,
  StatusResponse,
  TxnResponse,
  WatchResponse,
  WatchService,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import type { ResponseHeader } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Permission_Type } from '../../../pkg/proto/gen/authpb/auth.js';
import { Event_EventType, KeyValue } from '../../../pkg/proto/gen/mvccpb/kv.js';
import type { FakeEtcd } from './fake-etcd.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/** IDs above 2^53 on purpose: a codec that loses 64-bit precision prints different digits. */
export const CLUSTER_ID = 0x9f3b6a1c2d4e5f60n;
export const MEMBER_ID = 0x8e9e05c52164694dn;
export const LEASE_ID = 0x694d81a5e7d3c0b1n;
export const LEASE_ID_2 = 0x694d81a5e7d3c0c7n;
export const REVISION = 42n;
export const RAFT_TERM = 7n;
export const SERVER_VERSION = '3.5.17';
export const WATCH_ID = 3n;

export const HEADER: ResponseHeader = { clusterId: CLUSTER_ID, memberId: MEMBER_ID, revision: REVISION, raftTerm: RAFT_TERM };

/** The store: a1 and a2 share the prefix "a"; b1 is attached to LEASE_ID. Sorted by key. */
export const STORE: readonly KeyValue[] = [
  KeyValue.fromPartial({ key: enc('a1'), value: enc('v1'), createRevision: 2n, modRevision: 2n, version: 1n }),
  KeyValue.fromPartial({ key: enc('a2'), value: enc('v2'), createRevision: 3n, modRevision: 5n, version: 2n }),
  KeyValue.fromPartial({ key: enc('b1'), value: enc('w1'), createRevision: 4n, modRevision: 4n, version: 1n, lease: LEASE_ID }),
];

function inRange(k: Uint8Array, key: Uint8Array, end: Uint8Array): boolean {
  const cmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b);
  if (end.length === 0) return cmp(k, key) === 0;
  if (end.length === 1 && end[0] === 0) return cmp(k, key) >= 0;
  return cmp(k, key) >= 0 && cmp(k, end) < 0;
}

function sortKey(kv: KeyValue, target: RangeRequest_SortTarget): bigint | Buffer {
  switch (target) {
    case RangeRequest_SortTarget.VERSION:
      return kv.version;
    case RangeRequest_SortTarget.CREATE:
      return kv.createRevision;
    case RangeRequest_SortTarget.MOD:
      return kv.modRevision;
    case RangeRequest_SortTarget.VALUE:
      return Buffer.from(kv.value);
    default:
      return Buffer.from(kv.key);
  }
}

/** Range over STORE with etcd's semantics for range_end, sorting, limit/more/count and keys_only. */
export function rangeReply(req: RangeRequest): RangeResponse {
  let kvs = STORE.filter((kv) => inRange(kv.key, req.key, req.rangeEnd));
  const count = BigInt(kvs.length);
  if (req.sortOrder !== RangeRequest_SortOrder.NONE) {
    const dir = req.sortOrder === RangeRequest_SortOrder.DESCEND ? -1 : 1;
    kvs = [...kvs].sort((x, y) => {
      const a = sortKey(x, req.sortTarget);
      const b = sortKey(y, req.sortTarget);
      const c = typeof a === 'bigint' && typeof b === 'bigint' ? (a < b ? -1 : a > b ? 1 : 0) : Buffer.compare(a as Buffer, b as Buffer);
      return c * dir;
    });
  }
  const limited = req.limit > 0n ? kvs.slice(0, Number(req.limit)) : kvs;
  const out = req.keysOnly ? limited.map((kv) => ({ ...kv, value: new Uint8Array(0) })) : limited;
  return RangeResponse.fromPartial({
    header: HEADER,
    kvs: req.countOnly ? [] : out,
    more: limited.length < kvs.length,
    count,
  });
}

/** The member the fake server claims to be. */
export const MEMBER = {
  ID: MEMBER_ID,
  name: 'infra1',
  peerURLs: ['http://127.0.0.1:2380'],
  clientURLs: ['http://127.0.0.1:2379'],
  isLearner: false,
};
export const LEARNER = {
  ID: 0x1d3a9b2c4e5f6071n,
  name: 'infra2',
  peerURLs: ['http://127.0.0.2:2380'],
  clientURLs: [],
  isLearner: true,
};

/** The member `member add` creates. */
export const NEW_MEMBER_ID = 0x5f6a7b8c9d0e1f23n;

/**
 * A snapshot stream as etcdctl accepts it: a body of whole 512-byte pages, then the SHA-256 of the body
 * (etcdctl `snapshot save` refuses a stream whose length is not 512·n + 32: "sha256 checksum not found").
 * The body holds every byte value; the stream goes out in three chunks of unequal size.
 */
const SNAPSHOT_BODY = Buffer.from(Array.from({ length: 136 * 512 }, (_, i) => (i * 131 + (i >> 8)) & 0xff));
export const SNAPSHOT_BLOB: Buffer = Buffer.concat([SNAPSHOT_BODY, createHash('sha256').update(SNAPSHOT_BODY).digest()]);
const SNAPSHOT_CHUNKS = [0, 32_768, 65_536, SNAPSHOT_BLOB.length];

export const HASH = 3_735_928_559; // 0xdeadbeef: uses all 32 bits of the uint32 field

/** Installs every canned reply the etcdctl battery needs. */
export function installCannedReplies(fake: FakeEtcd): void {
  fake.onUnary(KVService.range, rangeReply);
  fake.onUnary(KVService.put, (req) =>
    PutResponse.fromPartial({
      header: HEADER,
      ...(req.prevKv ? { prevKv: { key: req.key, value: enc('old'), createRevision: 2n, modRevision: 41n, version: 3n } } : {}),
    }),
  );
  fake.onUnary(KVService.deleteRange, (req) => {
    const hit = STORE.filter((kv) => inRange(kv.key, req.key, req.rangeEnd));
    return DeleteRangeResponse.fromPartial({ header: HEADER, deleted: BigInt(hit.length), prevKvs: req.prevKv ? hit : [] });
  });
  fake.onUnary(KVService.txn, () =>
    TxnResponse.fromPartial({
      header: HEADER,
      succeeded: true,
      responses: [
        { response: { $case: 'responsePut', value: { header: HEADER } } },
        { response: { $case: 'responseRange', value: rangeReply(RangeRequest.fromPartial({ key: enc('a'), rangeEnd: enc('b') })) } },
        { response: { $case: 'responseDeleteRange', value: { header: HEADER, deleted: 1n } } },
      ],
    }),
  );
  fake.onUnary(KVService.compact, () => CompactionResponse.fromPartial({ header: HEADER }));

  fake.onStream(WatchService.watch, (req) => {
    const u = req.requestUnion;
    if (u?.$case === 'createRequest') {
      const key = u.value.key;
      return [
        WatchResponse.fromPartial({ header: HEADER, watchId: WATCH_ID, created: true }),
        WatchResponse.fromPartial({
          header: { ...HEADER, revision: REVISION + 1n },
          watchId: WATCH_ID,
          events: [
            {
              type: Event_EventType.PUT,
              kv: { key, value: enc('bar'), createRevision: 2n, modRevision: REVISION + 1n, version: 4n },
              ...(u.value.prevKv ? { prevKv: { key, value: enc('old'), createRevision: 2n, modRevision: 41n, version: 3n } } : {}),
            },
          ],
        }),
      ];
    }
    if (u?.$case === 'progressRequest') {
      return [WatchResponse.fromPartial({ header: HEADER, watchId: -1n })];
    }
    return [];
  });

  fake.onUnary(LeaseService.leaseGrant, (req) =>
    LeaseGrantResponse.fromPartial({ header: HEADER, ID: req.ID === 0n ? LEASE_ID : req.ID, TTL: req.TTL }),
  );
  fake.onUnary(LeaseService.leaseRevoke, () => LeaseRevokeResponse.fromPartial({ header: HEADER }));
  fake.onStream(LeaseService.leaseKeepAlive, (req) => [LeaseKeepAliveResponse.fromPartial({ header: HEADER, ID: req.ID, TTL: 60n })]);
  fake.onUnary(LeaseService.leaseTimeToLive, (req) =>
    LeaseTimeToLiveResponse.fromPartial({
      header: HEADER,
      ID: req.ID,
      TTL: 42n,
      grantedTTL: 60n,
      keys: req.keys ? [enc('b1'), enc('b2')] : [],
    }),
  );
  fake.onUnary(LeaseService.leaseLeases, () =>
    LeaseLeasesResponse.fromPartial({ header: HEADER, leases: [{ ID: LEASE_ID }, { ID: LEASE_ID_2 }] }),
  );

  fake.onUnary(ClusterService.memberList, () => MemberListResponse.fromPartial({ header: HEADER, members: [MEMBER, LEARNER] }));
  fake.onUnary(ClusterService.memberAdd, (req) => {
    const added = { ID: NEW_MEMBER_ID, name: '', peerURLs: req.peerURLs, clientURLs: [], isLearner: req.isLearner };
    return MemberAddResponse.fromPartial({ header: HEADER, member: added, members: [MEMBER, added] });
  });
  fake.onUnary(ClusterService.memberPromote, (req) =>
    MemberPromoteResponse.fromPartial({ header: HEADER, members: [MEMBER, { ...LEARNER, ID: req.ID, isLearner: false }] }),
  );

  fake.onUnary(MaintenanceService.status, () =>
    StatusResponse.fromPartial({
      header: HEADER,
      version: SERVER_VERSION,
      dbSize: 24_576n,
      leader: MEMBER_ID,
      raftIndex: 1234n,
      raftTerm: RAFT_TERM,
      raftAppliedIndex: 1233n,
      errors: [],
      dbSizeInUse: 16_384n,
      isLearner: false,
    }),
  );
  fake.onServerStream(MaintenanceService.snapshot, () =>
    SNAPSHOT_CHUNKS.slice(1).map((end, i) =>
      SnapshotResponse.fromPartial({
        header: HEADER,
        remainingBytes: BigInt(SNAPSHOT_BLOB.length - end),
        blob: SNAPSHOT_BLOB.subarray(SNAPSHOT_CHUNKS[i], end),
      }),
    ),
  );
  fake.onUnary(MaintenanceService.defragment, () => DefragmentResponse.fromPartial({ header: HEADER }));
  fake.onUnary(MaintenanceService.hashKv, () =>
    HashKVResponse.fromPartial({ header: HEADER, hash: HASH, compactRevision: 5n, hashRevision: REVISION }),
  );
  fake.onUnary(MaintenanceService.alarm, () =>
    AlarmResponse.fromPartial({ header: HEADER, alarms: [{ memberID: MEMBER_ID, alarm: 1 }] }),
  );

  fake.onUnary(AuthService.authEnable, () => AuthEnableResponse.fromPartial({ header: HEADER }));
  fake.onUnary(AuthService.roleGrantPermission, () => AuthRoleGrantPermissionResponse.fromPartial({ header: HEADER }));
  fake.onUnary(AuthService.roleGet, () =>
    AuthRoleGetResponse.fromPartial({
      header: HEADER,
      perm: [
        { permType: Permission_Type.READWRITE, key: enc('/app/'), rangeEnd: enc('/app0') },
        { permType: Permission_Type.READ, key: enc('/cfg'), rangeEnd: new Uint8Array(0) },
        { permType: Permission_Type.WRITE, key: enc('/logs'), rangeEnd: Buffer.from([0]) },
      ],
    }),
  );
  fake.onUnary(AuthService.userGrantRole, () => AuthUserGrantRoleResponse.fromPartial({ header: HEADER }));
  fake.onUnary(AuthService.userAdd, (req) =>
    req.name === 'taken'
      ? { code: grpc.status.FAILED_PRECONDITION, details: 'etcdserver: user name already exists', metadata: new grpc.Metadata() }
      : AuthUserAddResponse.fromPartial({ header: HEADER }),
  );
}
