// Wire compatibility of berth's .proto files with the real etcdctl (Debian package etcd-client).
//
// A recording gRPC server built from pkg/proto/gen answers canned replies (support/canned.ts); each test
// runs one etcdctl command against it and checks both directions:
//   - the request etcdctl sent decodes, field by field, to what the command means;
//   - etcdctl renders our encoded reply as intended (its stdout).
// etcdctl missing is a failure, not a skip: CI installs it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';

import { Permission_Type } from '../../pkg/proto/gen/authpb/auth.js';
import {
  AlarmRequest,
  AuthEnableRequest,
  AuthRoleGetRequest,
  AuthRoleGrantPermissionRequest,
  AuthService,
  AuthUserAddRequest,
  AuthUserGrantRoleRequest,
  ClusterService,
  CompactionRequest,
  Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  DefragmentRequest,
  DeleteRangeRequest,
  HashKVRequest,
  KVService,
  LeaseGrantRequest,
  LeaseKeepAliveRequest,
  LeaseLeasesRequest,
  LeaseRevokeRequest,
  LeaseService,
  LeaseTimeToLiveRequest,
  MaintenanceService,
  MemberAddRequest,
  MemberListRequest,
  MemberPromoteRequest,
  PutRequest,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  RequestOp,
  SnapshotRequest,
  StatusRequest,
  TxnRequest,
  WatchRequest,
  WatchService,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { CLUSTER_ID, HASH, LEARNER, LEASE_ID, MEMBER_ID, NEW_MEMBER_ID, SNAPSHOT_BLOB, installCannedReplies } from './support/canned.js';
import { etcdctl, etcdctlUntilLines, etcdctlVersion } from './support/etcdctl.js';
import type { EtcdctlResult } from './support/etcdctl.js';
import { FakeEtcd } from './support/fake-etcd.js';
import type { Method } from './support/fake-etcd.js';

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/**
 * A comparable copy of a decoded message: bytes become latin1 text, one char per byte (the server hands
 * out Buffer slices while defaults are plain Uint8Array, which deepStrictEqual would tell apart);
 * everything else, bigint included, is kept as is.
 */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('latin1')}`;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

let fake: FakeEtcd;
let apiVersion = '';
let tmp = '';

/** Asserts a clean exit, with etcdctl's own words in the failure message. */
function ok(r: EtcdctlResult): void {
  assert.equal(r.code, 0, `etcdctl exited ${r.code ?? r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

/** Asserts the server received exactly `expected` (every field) on `method` and nothing on any other path. */
function received<Req, Res>(method: Method<Req, Res>, expected: readonly Req[]): void {
  const paths = [...new Set(fake.recorded.map((r) => r.path))];
  assert.deepEqual(paths, [method.path], `requests went to ${paths.join(', ')}`);
  assert.deepStrictEqual(plain(fake.requests(method)), plain(expected));
  for (const r of fake.recorded) {
    assert.equal(r.metadata['client-api-version'], apiVersion, `metadata of ${r.path}`);
  }
}

const version = etcdctlVersion();

// Its own test so that a missing etcdctl counts as a failure in the summary, not only as cancelled tests.
test('etcdctl is installed (Debian package etcd-client)', () => {
  if (version instanceof Error) throw version;
  assert.match(version, /^etcdctl version: 3\./);
});

// Bounded: each etcdctl run is killed after 15 s; the whole battery after 3 minutes.
describe('etcdctl (Debian etcd-client) against berth-generated protocol code', { timeout: 180_000 }, () => {
  before(async () => {
    const v = version;
    if (v instanceof Error) throw v;
    // "etcdctl version: 3.4.23" → the client sends client-api-version "3.4".
    apiVersion = /(\d+\.\d+)\.\d+/.exec(v)?.[1] ?? '';
    assert.notEqual(apiVersion, '', `cannot parse ${v}`);
    tmp = mkdtempSync(join(tmpdir(), 'berth-etcdctl-wire-'));
    fake = new FakeEtcd();
    installCannedReplies(fake);
    await fake.start();
  });
  after(() => {
    fake?.stop();
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => fake.clear());

  describe('KV', () => {
    test('get --prefix sends range_end = key+1 and prints every key and value', async () => {
      const r = await etcdctl(fake.endpoint, ['get', 'a', '--prefix']);
      ok(r);
      received(KVService.range, [RangeRequest.fromPartial({ key: enc('a'), rangeEnd: enc('b') })]);
      assert.equal(r.stdout, 'a1\nv1\na2\nv2\n');
    });

    test('get --limit --rev --sort-by --order carry limit, revision and the sort enums', async () => {
      const r = await etcdctl(fake.endpoint, ['get', 'a', '--prefix', '--limit', '1', '--rev', '5', '--sort-by=MODIFY', '--order=DESCEND']);
      ok(r);
      received(KVService.range, [
        RangeRequest.fromPartial({
          key: enc('a'),
          rangeEnd: enc('b'),
          limit: 1n,
          revision: 5n,
          sortOrder: RangeRequest_SortOrder.DESCEND,
          sortTarget: RangeRequest_SortTarget.MOD,
        }),
      ]);
      assert.equal(r.stdout, 'a2\nv2\n');
    });

    test('get --sort-by=CREATE/VERSION/VALUE --order=ASCEND maps to each SortTarget; KEY ASCEND is sent as no sort', async () => {
      const A = RangeRequest_SortOrder.ASCEND;
      const targets = [
        ['CREATE', RangeRequest_SortTarget.CREATE, A],
        ['VERSION', RangeRequest_SortTarget.VERSION, A],
        ['VALUE', RangeRequest_SortTarget.VALUE, A],
        // The Go client drops key-ascending (the server's natural order) to sort_order NONE.
        ['KEY', RangeRequest_SortTarget.KEY, RangeRequest_SortOrder.NONE],
      ] as const;
      for (const [flag, target, order] of targets) {
        fake.clear();
        const r = await etcdctl(fake.endpoint, ['get', 'a', '--prefix', `--sort-by=${flag}`, '--order=ASCEND']);
        ok(r);
        received(KVService.range, [
          RangeRequest.fromPartial({ key: enc('a'), rangeEnd: enc('b'), sortOrder: order, sortTarget: target }),
        ]);
        assert.equal(r.stdout, 'a1\nv1\na2\nv2\n', `--sort-by=${flag}`);
      }
    });

    test('get --keys-only sets keys_only and prints keys without values', async () => {
      const r = await etcdctl(fake.endpoint, ['get', 'a', '--prefix', '--keys-only']);
      ok(r);
      received(KVService.range, [RangeRequest.fromPartial({ key: enc('a'), rangeEnd: enc('b'), keysOnly: true })]);
      assert.equal(r.stdout, 'a1\n\na2\n\n');
    });

    test('get --from-key sends range_end "\\0"; an explicit range_end and --consistency=s pass through', async () => {
      let r = await etcdctl(fake.endpoint, ['get', '--from-key', 'a2']);
      ok(r);
      received(KVService.range, [RangeRequest.fromPartial({ key: enc('a2'), rangeEnd: Buffer.from([0]) })]);
      assert.equal(r.stdout, 'a2\nv2\nb1\nw1\n');

      fake.clear();
      r = await etcdctl(fake.endpoint, ['get', 'a1', 'b', '--consistency=s']);
      ok(r);
      received(KVService.range, [RangeRequest.fromPartial({ key: enc('a1'), rangeEnd: enc('b'), serializable: true })]);
      assert.equal(r.stdout, 'a1\nv1\na2\nv2\n');
    });

    test('-w json get renders the header with exact 64-bit ids and base64 kvs', async () => {
      const r = await etcdctl(fake.endpoint, ['-w', 'json', 'get', 'a1']);
      ok(r);
      received(KVService.range, [RangeRequest.fromPartial({ key: enc('a1') })]);
      // JSON.parse would round these to doubles: check the digits in the text.
      assert.match(r.stdout, new RegExp(`"cluster_id":${CLUSTER_ID}\\b`));
      assert.match(r.stdout, new RegExp(`"member_id":${MEMBER_ID}\\b`));
      const out = JSON.parse(r.stdout) as {
        header: { revision: number; raft_term: number };
        kvs: { key: string; value: string; create_revision: number; mod_revision: number; version: number }[];
        count: number;
        more?: boolean;
      };
      assert.equal(out.header.revision, 42);
      assert.equal(out.header.raft_term, 7);
      assert.equal(out.count, 1);
      assert.equal(out.more, undefined);
      assert.deepEqual(
        out.kvs.map((kv) => ({ ...kv, key: Buffer.from(kv.key, 'base64').toString(), value: Buffer.from(kv.value, 'base64').toString() })),
        [{ key: 'a1', value: 'v1', create_revision: 2, mod_revision: 2, version: 1 }],
      );
    });

    test('put --lease --prev-kv sends the 64-bit lease id and prints the previous kv', async () => {
      const r = await etcdctl(fake.endpoint, ['put', 'k', 'v', `--lease=${LEASE_ID.toString(16)}`, '--prev-kv']);
      ok(r);
      received(KVService.put, [PutRequest.fromPartial({ key: enc('k'), value: enc('v'), lease: LEASE_ID, prevKv: true })]);
      assert.equal(r.stdout, 'OK\nk\nold\n');
    });

    test('put --ignore-value --ignore-lease sets both flags and no value', async () => {
      const r = await etcdctl(fake.endpoint, ['put', 'k', '--ignore-value', '--ignore-lease']);
      ok(r);
      received(KVService.put, [PutRequest.fromPartial({ key: enc('k'), ignoreValue: true, ignoreLease: true })]);
      assert.equal(r.stdout, 'OK\n');
    });

    test('del --prefix sends range_end = key+1 and prints the deleted count', async () => {
      const r = await etcdctl(fake.endpoint, ['del', 'a', '--prefix']);
      ok(r);
      received(KVService.deleteRange, [DeleteRangeRequest.fromPartial({ key: enc('a'), rangeEnd: enc('b') })]);
      assert.equal(r.stdout, '2\n');
    });

    test('del --prev-kv sets prev_kv and prints the deleted kvs', async () => {
      const r = await etcdctl(fake.endpoint, ['del', 'a1', '--prev-kv']);
      ok(r);
      received(KVService.deleteRange, [DeleteRangeRequest.fromPartial({ key: enc('a1'), prevKv: true })]);
      assert.equal(r.stdout, '1\na1\nv1\n');
    });

    test('txn from stdin: compares (every target and result), success and failure ops', async () => {
      const script = [
        'mod("key1") > "0"',
        'value("key2") = "x"',
        'version("key3") != "2"',
        'create("key4") < "9"',
        '',
        'put key1 "overwrote-key1"',
        'get key2 --prefix',
        'del key3',
        '',
        'put key1 "created-key1"',
        '',
        '',
      ].join('\n');
      const r = await etcdctl(fake.endpoint, ['txn', '--interactive=false'], { stdin: script });
      ok(r);
      const cmp = (c: Partial<Compare>): Compare => Compare.fromPartial(c);
      const put = (key: string, value: string): RequestOp =>
        RequestOp.fromPartial({ request: { $case: 'requestPut', value: { key: enc(key), value: enc(value) } } });
      received(KVService.txn, [
        TxnRequest.fromPartial({
          compare: [
            cmp({ result: Compare_CompareResult.GREATER, target: Compare_CompareTarget.MOD, key: enc('key1'), targetUnion: { $case: 'modRevision', value: 0n } }),
            cmp({ result: Compare_CompareResult.EQUAL, target: Compare_CompareTarget.VALUE, key: enc('key2'), targetUnion: { $case: 'value', value: enc('x') } }),
            cmp({ result: Compare_CompareResult.NOT_EQUAL, target: Compare_CompareTarget.VERSION, key: enc('key3'), targetUnion: { $case: 'version', value: 2n } }),
            cmp({ result: Compare_CompareResult.LESS, target: Compare_CompareTarget.CREATE, key: enc('key4'), targetUnion: { $case: 'createRevision', value: 9n } }),
          ],
          success: [
            put('key1', 'overwrote-key1'),
            RequestOp.fromPartial({ request: { $case: 'requestRange', value: { key: enc('key2'), rangeEnd: enc('key3') } } }),
            RequestOp.fromPartial({ request: { $case: 'requestDeleteRange', value: { key: enc('key3') } } }),
          ],
          failure: [put('key1', 'created-key1')],
        }),
      ]);
      // Canned reply: succeeded, then one response per success op (put, range over "a", delete 1).
      assert.equal(r.stdout, 'SUCCESS\n\nOK\n\na1\nv1\na2\nv2\n\n1\n');
    });

    test('compaction --physical sends revision and physical', async () => {
      const r = await etcdctl(fake.endpoint, ['compaction', '--physical', '5']);
      ok(r);
      received(KVService.compact, [CompactionRequest.fromPartial({ revision: 5n, physical: true })]);
      assert.equal(r.stdout, 'compacted revision 5\n');
    });
  });

  describe('Watch', () => {
    test('watch --rev --prev-kv: one create request, leader-required metadata, event printed with prev kv', async () => {
      const r = await etcdctlUntilLines(fake.endpoint, ['watch', 'foo', '--rev', '5', '--prev-kv'], 5);
      received(WatchService.watch, [
        WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: { key: enc('foo'), startRevision: 5n, prevKv: true } } }),
      ]);
      assert.equal(fake.recorded[0]?.metadata['hasleader'], 'true');
      assert.equal(r.stdout, 'PUT\nfoo\nold\nfoo\nbar\n');
    });

    test('interactive watch --prefix then "progress": create then progress_request; progress printed', async () => {
      const r = await etcdctlUntilLines(fake.endpoint, ['watch', '-i'], 4, { stdin: 'watch foo --prefix\nprogress\n' });
      received(WatchService.watch, [
        WatchRequest.fromPartial({ requestUnion: { $case: 'createRequest', value: { key: enc('foo'), rangeEnd: enc('fop') } } }),
        WatchRequest.fromPartial({ requestUnion: { $case: 'progressRequest', value: {} } }),
      ]);
      assert.equal(r.stdout, 'PUT\nfoo\nbar\nprogress notify: 42\n');
    });
  });

  describe('Lease', () => {
    test('lease grant sends TTL with ID 0 and prints the server-chosen 64-bit id', async () => {
      const r = await etcdctl(fake.endpoint, ['lease', 'grant', '60']);
      ok(r);
      received(LeaseService.leaseGrant, [LeaseGrantRequest.fromPartial({ TTL: 60n, ID: 0n })]);
      assert.equal(r.stdout, `lease ${LEASE_ID.toString(16)} granted with TTL(60s)\n`);
    });

    test('lease keep-alive --once sends one keep-alive on the stream and prints the TTL', async () => {
      const r = await etcdctl(fake.endpoint, ['lease', 'keep-alive', '--once', LEASE_ID.toString(16)]);
      ok(r);
      received(LeaseService.leaseKeepAlive, [LeaseKeepAliveRequest.fromPartial({ ID: LEASE_ID })]);
      assert.equal(r.stdout, `lease ${LEASE_ID.toString(16)} keepalived with TTL(60)\n`);
    });

    test('lease timetolive --keys, lease list and lease revoke', async () => {
      let r = await etcdctl(fake.endpoint, ['lease', 'timetolive', LEASE_ID.toString(16), '--keys']);
      ok(r);
      received(LeaseService.leaseTimeToLive, [LeaseTimeToLiveRequest.fromPartial({ ID: LEASE_ID, keys: true })]);
      assert.equal(r.stdout, `lease ${LEASE_ID.toString(16)} granted with TTL(60s), remaining(42s), attached keys([b1 b2])\n`);

      fake.clear();
      r = await etcdctl(fake.endpoint, ['lease', 'list']);
      ok(r);
      received(LeaseService.leaseLeases, [LeaseLeasesRequest.fromPartial({})]);
      assert.equal(r.stdout, 'found 2 leases\n694d81a5e7d3c0b1\n694d81a5e7d3c0c7\n');

      fake.clear();
      r = await etcdctl(fake.endpoint, ['lease', 'revoke', LEASE_ID.toString(16)]);
      ok(r);
      received(LeaseService.leaseRevoke, [LeaseRevokeRequest.fromPartial({ ID: LEASE_ID })]);
      assert.equal(r.stdout, `lease ${LEASE_ID.toString(16)} revoked\n`);
    });
  });

  describe('Cluster and Maintenance', () => {
    test('member list prints ids in hex, names, URLs and the learner flag', async () => {
      const r = await etcdctl(fake.endpoint, ['member', 'list']);
      ok(r);
      received(ClusterService.memberList, [MemberListRequest.fromPartial({})]);
      assert.equal(
        r.stdout,
        '8e9e05c52164694d, started, infra1, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n' +
          '1d3a9b2c4e5f6071, started, infra2, http://127.0.0.2:2380, , true\n',
      );
    });

    test('endpoint status prints version, db size, leadership, term and indexes', async () => {
      const r = await etcdctl(fake.endpoint, ['endpoint', 'status']);
      ok(r);
      received(MaintenanceService.status, [StatusRequest.fromPartial({})]);
      assert.equal(r.stdout, `${fake.endpoint}, 8e9e05c52164694d, 3.5.17, 25 kB, true, false, 7, 1234, 1233, \n`);
    });

    test('member add --learner sends peer URLs and is_learner; prints the new id and cluster id in hex', async () => {
      const r = await etcdctl(fake.endpoint, ['member', 'add', 'infra3', '--peer-urls=http://127.0.0.3:2380,http://10.0.0.3:2380', '--learner']);
      ok(r);
      received(ClusterService.memberAdd, [
        MemberAddRequest.fromPartial({ peerURLs: ['http://127.0.0.3:2380', 'http://10.0.0.3:2380'], isLearner: true }),
      ]);
      assert.equal(
        r.stdout,
        `Member ${NEW_MEMBER_ID.toString(16)} added to cluster ${CLUSTER_ID.toString(16)}\n\n` +
          'ETCD_NAME="infra3"\n' +
          'ETCD_INITIAL_CLUSTER="infra1=http://127.0.0.1:2380,infra3=http://127.0.0.3:2380,infra3=http://10.0.0.3:2380"\n' +
          'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.3:2380,http://10.0.0.3:2380"\n' +
          'ETCD_INITIAL_CLUSTER_STATE="existing"\n',
      );
    });

    test('member promote sends the 64-bit member id', async () => {
      const r = await etcdctl(fake.endpoint, ['member', 'promote', LEARNER.ID.toString(16)]);
      ok(r);
      received(ClusterService.memberPromote, [MemberPromoteRequest.fromPartial({ ID: LEARNER.ID })]);
      assert.equal(r.stdout, `Member ${LEARNER.ID.toString(16)} promoted in cluster ${CLUSTER_ID.toString(16)}\n`);
    });

    test('snapshot save stores the streamed blob chunks byte for byte (512-byte pages + sha256 trailer)', async () => {
      const file = join(tmp, 'snap.db');
      const r = await etcdctl(fake.endpoint, ['snapshot', 'save', file]);
      ok(r);
      received(MaintenanceService.snapshot, [SnapshotRequest.fromPartial({})]);
      assert.equal(r.stdout, `Snapshot saved at ${file}\n`);
      assert.ok(readFileSync(file).equals(SNAPSHOT_BLOB), 'saved file differs from the streamed blob');
    });

    test('defrag and endpoint hashkv (uint32 hash with the top bit set)', async () => {
      let r = await etcdctl(fake.endpoint, ['defrag']);
      ok(r);
      received(MaintenanceService.defragment, [DefragmentRequest.fromPartial({})]);
      assert.equal(r.stdout, `Finished defragmenting etcd member[${fake.endpoint}]\n`);

      fake.clear();
      r = await etcdctl(fake.endpoint, ['endpoint', 'hashkv']);
      ok(r);
      received(MaintenanceService.hashKv, [HashKVRequest.fromPartial({ revision: 0n })]);
      assert.equal(r.stdout, `${fake.endpoint}, ${HASH}\n`);
    });

    test('alarm list sends action GET for every member and prints the alarm', async () => {
      const r = await etcdctl(fake.endpoint, ['alarm', 'list']);
      ok(r);
      received(MaintenanceService.alarm, [AlarmRequest.fromPartial({})]);
      assert.equal(r.stdout, `memberID:${MEMBER_ID} alarm:NOSPACE \n`);
    });
  });

  describe('Auth', () => {
    test('auth enable', async () => {
      const r = await etcdctl(fake.endpoint, ['auth', 'enable']);
      ok(r);
      received(AuthService.authEnable, [AuthEnableRequest.fromPartial({})]);
      assert.equal(r.stdout, 'Authentication Enabled\n');
    });

    test('user add with --new-user-password, from stdin (--interactive=false), and name:password', async () => {
      const cases = [
        { args: ['user', 'add', 'alice', '--new-user-password=s3cret'], stdin: '', name: 'alice', password: 's3cret' },
        { args: ['user', 'add', 'bob', '--interactive=false'], stdin: 'pw\n', name: 'bob', password: 'pw' },
        { args: ['user', 'add', 'carol:pw2', '--interactive=false'], stdin: '', name: 'carol', password: 'pw2' },
      ];
      for (const c of cases) {
        fake.clear();
        const r = await etcdctl(fake.endpoint, c.args, { stdin: c.stdin });
        ok(r);
        received(AuthService.userAdd, [
          AuthUserAddRequest.fromPartial({ name: c.name, password: c.password, options: { noPassword: false } }),
        ]);
        assert.equal(r.stdout, `User ${c.name} created\n`);
      }
    });

    test('role grant-permission: permission type and key range (--prefix, --from-key, single key)', async () => {
      const cases = [
        { args: ['app', 'readwrite', '/app/', '--prefix'], type: Permission_Type.READWRITE, key: '/app/', end: enc('/app0') },
        { args: ['logs', 'write', '/logs', '--from-key'], type: Permission_Type.WRITE, key: '/logs', end: Buffer.from([0]) },
        { args: ['cfg', 'read', '/cfg'], type: Permission_Type.READ, key: '/cfg', end: new Uint8Array(0) },
      ];
      for (const c of cases) {
        fake.clear();
        const r = await etcdctl(fake.endpoint, ['role', 'grant-permission', ...c.args]);
        ok(r);
        received(AuthService.roleGrantPermission, [
          AuthRoleGrantPermissionRequest.fromPartial({ name: c.args[0] ?? '', perm: { permType: c.type, key: enc(c.key), rangeEnd: c.end } }),
        ]);
        assert.equal(r.stdout, `Role ${c.args[0] ?? ''} updated\n`);
      }
    });

    test('role get renders each permission type and range form', async () => {
      const r = await etcdctl(fake.endpoint, ['role', 'get', 'app']);
      ok(r);
      received(AuthService.roleGet, [AuthRoleGetRequest.fromPartial({ role: 'app' })]);
      assert.equal(
        r.stdout,
        'Role app\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t/cfg\nKV Write:\n\t[/app/, /app0) (prefix /app/)\n\t[/logs, <open ended>\n',
      );
    });

    test('user grant-role', async () => {
      const r = await etcdctl(fake.endpoint, ['user', 'grant-role', 'alice', 'app']);
      ok(r);
      received(AuthService.userGrantRole, [AuthUserGrantRoleRequest.fromPartial({ user: 'alice', role: 'app' })]);
      assert.equal(r.stdout, 'Role app is granted to user alice\n');
    });

    test('an error status with etcd\'s message reaches etcdctl as that error', async () => {
      const r = await etcdctl(fake.endpoint, ['user', 'add', 'taken', '--new-user-password=x']);
      assert.notEqual(r.code, 0);
      received(AuthService.userAdd, [AuthUserAddRequest.fromPartial({ name: 'taken', password: 'x', options: {} })]);
      assert.match(r.stderr, /^Error: etcdserver: user name already exists$/m);
    });
  });
});
