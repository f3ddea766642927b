// Authentication across a cluster, driven over raw gRPC (the `token` metadata exactly as clientv3
// sends it), against real etcd 3.4.23 and berth with identical flags and ports:
//  - simple tokens on 3 members: the same scenario (setup, allowed/denied KV calls, watch denial,
//    leases whose attached keys the user may not write, a token used on other members, password
//    change invalidating tokens, empty request to every Auth RPC) must give the same observations
//    (response bodies without headers, or gRPC code + message); tokens are compared by shape;
//  - JWT (RS256) on 2 members: a token signed by one member is accepted by the other; a forged or
//    expired-format token is refused; after any auth change an old token is refused with "revision
//    of auth store is old" — again identical on both;
//  - properties checked on each flavour separately (no output comparison): a permission revoked
//    while a user writes in a bounded loop — no write issued after the revocation was acknowledged
//    succeeds on any member, and every acknowledged write is stored; malformed request bytes to
//    every Auth RPC get an error and the server keeps serving.
// Where berth deliberately differs from etcd 3.4 (nested txns are permission-checked), the step is
// asserted on berth only and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pb from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Permission_Type } from '../../pkg/proto/gen/authpb/auth.js';
import { EtcdRpc, type RpcResult } from './support/etcd-rpc.js';
import { freePort, startCluster, type Cluster, type Flavor } from './support/servers.js';

const b = (s: string): Buffer => Buffer.from(s);
const prefixEnd = (p: string): Buffer => {
  const e = Buffer.from(p);
  e[e.length - 1] = (e[e.length - 1] ?? 0) + 1;
  return e;
};

/** A comparable rendering: headers and lease IDs dropped, bytes as text, bigints as strings. */
function show(r: RpcResult<unknown>): unknown {
  if (!r.ok) return { code: r.code, message: r.message };
  return JSON.parse(
    JSON.stringify(r.value, (k, v: unknown) => {
      if (k === 'header' || k === 'ID') return undefined;
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
      if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer') return Buffer.from((v as { data: number[] }).data).toString('latin1');
      return v;
    }),
  );
}

type Log = { step: string; got: unknown }[];

async function until<T>(probe: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setup(c: EtcdRpc, log: Log): Promise<void> {
  const steps: [string, Promise<RpcResult<unknown>>][] = [];
  const run = async (name: string, p: Promise<RpcResult<unknown>>): Promise<void> => {
    const r = await p;
    log.push({ step: name, got: show(r) });
    assert.ok(r.ok, `${name}: ${JSON.stringify(show(r))}`);
  };
  void steps;
  await run('user add root', c.call(pb.AuthService.userAdd, pb.AuthUserAddRequest.fromPartial({ name: 'root', password: 'rootpw' })));
  await run('user add alice', c.call(pb.AuthService.userAdd, pb.AuthUserAddRequest.fromPartial({ name: 'alice', password: 'apw' })));
  await run('role add app', c.call(pb.AuthService.roleAdd, pb.AuthRoleAddRequest.fromPartial({ name: 'app' })));
  await run(
    'grant READ /r/',
    c.call(pb.AuthService.roleGrantPermission, pb.AuthRoleGrantPermissionRequest.fromPartial({ name: 'app', perm: { permType: Permission_Type.READ, key: b('/r/'), rangeEnd: prefixEnd('/r/') } })),
  );
  await run(
    'grant READWRITE /c/',
    c.call(pb.AuthService.roleGrantPermission, pb.AuthRoleGrantPermissionRequest.fromPartial({ name: 'app', perm: { permType: Permission_Type.READWRITE, key: b('/c/'), rangeEnd: prefixEnd('/c/') } })),
  );
  await run('grant app to alice', c.call(pb.AuthService.userGrantRole, pb.AuthUserGrantRoleRequest.fromPartial({ user: 'alice', role: 'app' })));
  await run('grant root to root', c.call(pb.AuthService.userGrantRole, pb.AuthUserGrantRoleRequest.fromPartial({ user: 'root', role: 'root' })));
  await run('put /r/x', c.call(pb.KVService.put, pb.PutRequest.fromPartial({ key: b('/r/x'), value: b('1') })));
  await run('auth enable', c.call(pb.AuthService.authEnable, {}));
}

async function login(c: EtcdRpc, name: string, password: string): Promise<string> {
  const r = await c.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name, password }));
  assert.ok(r.ok, `authenticate ${name}: ${JSON.stringify(show(r))}`);
  return r.value.token;
}

const range = (key: string, rangeEnd = ''): pb.RangeRequest => pb.RangeRequest.fromPartial({ key: b(key), rangeEnd: b(rangeEnd) });
const put = (key: string, value: string, lease = 0n): pb.PutRequest => pb.PutRequest.fromPartial({ key: b(key), value: b(value), lease });

/** Every Auth RPC with an all-defaults request, in an order that leaves auth enabled until the end. */
const EMPTY_AUTH_CALLS: readonly (keyof typeof pb.AuthService)[] = [
  'authEnable',
  'userAdd',
  'userGet',
  'userList',
  'userDelete',
  'userChangePassword',
  'userGrantRole',
  'userRevokeRole',
  'roleAdd',
  'roleGet',
  'roleList',
  'roleDelete',
  'roleGrantPermission',
  'roleRevokePermission',
  'authenticate',
  'authDisable',
];

async function simpleScenario(flavor: Flavor, cluster: Cluster): Promise<Log> {
  const log: Log = [];
  const cs = cluster.endpoints.map((e) => new EtcdRpc(e));
  const [c0, c1, c2] = cs as [EtcdRpc, EtcdRpc, EtcdRpc];
  const rec = async (step: string, p: Promise<RpcResult<unknown>>): Promise<RpcResult<unknown>> => {
    const r = await p;
    log.push({ step, got: show(r) });
    return r;
  };
  try {
    await setup(c0, log);
    await rec('authenticate wrong password', c0.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name: 'alice', password: 'nope' })));
    await rec('authenticate unknown user', c0.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name: 'ghost', password: 'x' })));
    const t = await login(c0, 'alice', 'apw');
    const root = await login(c0, 'root', 'rootpw');
    log.push({ step: 'simple token shape', got: /^[a-zA-Z]{16}\.\d+$/.test(t) });
    await rec('range /r/x as alice', c0.call(pb.KVService.range, range('/r/x'), t));
    await rec('range /r/ prefix as alice', c0.call(pb.KVService.range, range('/r/', '/r0'), t));
    await rec('range /x as alice', c0.call(pb.KVService.range, range('/x'), t));
    await rec('range without token', c0.call(pb.KVService.range, range('/r/x')));
    await rec('range with a garbage token', c0.call(pb.KVService.range, range('/r/x'), 'garbage.1'));
    await rec('put /r/x as alice (read only)', c0.call(pb.KVService.put, put('/r/x', '2'), t));
    await rec('put /c/k as alice', c0.call(pb.KVService.put, put('/c/k', 'v'), t));
    await rec('put /c/k prev_kv as alice', c0.call(pb.KVService.put, pb.PutRequest.fromPartial({ key: b('/c/k'), value: b('w'), prevKv: true }), t));
    await rec('delete /r/x as alice', c0.call(pb.KVService.deleteRange, pb.DeleteRangeRequest.fromPartial({ key: b('/r/x') }), t));
    await rec(
      'txn compare /x (unreadable) as alice',
      c0.call(pb.KVService.txn, pb.TxnRequest.fromPartial({ compare: [{ key: b('/x'), target: pb.Compare_CompareTarget.VERSION, result: pb.Compare_CompareResult.EQUAL, targetUnion: { $case: 'version', value: 0n } }] }), t),
    );
    await rec(
      'txn failure branch writes /r/y as alice',
      c0.call(pb.KVService.txn, pb.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestRange', value: range('/r/x') } }], failure: [{ request: { $case: 'requestPut', value: put('/r/y', 'v') } }] }), t),
    );
    // The token is replicated: every member that applied the Authenticate entry accepts it.
    for (const [i, c] of [[1, c1], [2, c2]] as const) {
      const r = await until(async () => {
        const x = await c.call(pb.KVService.range, range('/r/x'), t);
        return !x.ok && x.message === 'etcdserver: invalid auth token' ? undefined : x;
      }, `the token to be accepted on member ${i}`);
      log.push({ step: `range /r/x as alice on member ${i}`, got: show(r) });
    }
    // Watch: denied creates are canceled with watch_id -1 and etcd's reason.
    await rec('watch /x as alice', c0.watchOnce({ key: b('/x') }, t));
    await rec('watch /r/ as alice', c0.watchOnce({ key: b('/r/'), rangeEnd: prefixEnd('/r/') }, t));
    await rec('watch without token', c0.watchOnce({ key: b('/r/x') }));
    // Leases: granting is free; a lease with a key alice may not write can be neither revoked nor reused by her.
    const lease = await c0.call(pb.LeaseService.leaseGrant, pb.LeaseGrantRequest.fromPartial({ TTL: 600n }), t);
    log.push({ step: 'lease grant as alice', got: show(lease) });
    assert.ok(lease.ok);
    const id = lease.value.ID;
    await rec('put /secret with the lease as root', c0.call(pb.KVService.put, put('/secret', 's', id), root));
    await rec('lease revoke as alice', c0.call(pb.LeaseService.leaseRevoke, pb.LeaseRevokeRequest.fromPartial({ ID: id }), t));
    await rec('put /c/l with the lease as alice', c0.call(pb.KVService.put, put('/c/l', 'v', id), t));
    await rec('lease revoke as root', c0.call(pb.LeaseService.leaseRevoke, pb.LeaseRevokeRequest.fromPartial({ ID: id }), root));
    // Admin calls.
    await rec('user list as alice', c0.call(pb.AuthService.userList, {}, t));
    await rec('user get alice as alice', c0.call(pb.AuthService.userGet, pb.AuthUserGetRequest.fromPartial({ name: 'alice' }), t));
    await rec('role get app as alice', c0.call(pb.AuthService.roleGet, pb.AuthRoleGetRequest.fromPartial({ role: 'app' }), t));
    await rec('user get root as alice', c0.call(pb.AuthService.userGet, pb.AuthUserGetRequest.fromPartial({ name: 'root' }), t));
    await rec('auth disable as alice', c0.call(pb.AuthService.authDisable, {}, t));
    await rec('hashkv as alice', c0.call(pb.MaintenanceService.hashKv, pb.HashKVRequest.fromPartial({}), t));
    await rec('status as alice', c0.call(pb.MaintenanceService.status, {}, t).then((r) => (r.ok ? { ok: true as const, value: 'served' } : r)));
    // A password change drops the user's tokens on every member.
    await rec('change alice password', c0.call(pb.AuthService.userChangePassword, pb.AuthUserChangePasswordRequest.fromPartial({ name: 'alice', password: 'apw2' }), root));
    for (const [i, c] of cs.entries()) {
      const r = await until(async () => {
        const x = await c.call(pb.KVService.range, range('/r/x'), t);
        return x.ok ? undefined : x;
      }, `the old token to be dropped on member ${i}`);
      log.push({ step: `old token after password change, member ${i}`, got: show(r) });
    }
    // Every Auth RPC with an empty request, as root (auth disable last).
    for (const name of EMPTY_AUTH_CALLS) {
      const def = pb.AuthService[name] as { path: string };
      const r = await c0.raw(def.path, Buffer.alloc(0), root);
      log.push({ step: `empty ${name}`, got: r.ok ? 'ok' : { code: r.code, message: r.message } });
    }
    void flavor;
    return log;
  } finally {
    for (const c of cs) c.close();
  }
}

async function runCluster<T>(flavor: Flavor, n: number, ports: { client: number; peer: number }[], extra: readonly string[], fn: (c: Cluster) => Promise<T>): Promise<T> {
  const cluster = await startCluster(flavor, n, ['--bcrypt-cost', '4', ...extra], ports);
  try {
    return await fn(cluster);
  } finally {
    await cluster.stop();
  }
}

async function portsFor(n: number): Promise<{ client: number; peer: number }[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push({ client: await freePort(), peer: await freePort() });
  return out;
}

function compare(t: { test: (name: string, fn: () => void) => Promise<void> }, etcd: Log, berth: Log): Promise<void[]> {
  return Promise.all(
    etcd.map((e, i) =>
      t.test(`${i + 1}: ${e.step}`, () => {
        assert.deepEqual(berth[i], e);
      }),
    ),
  );
}

test('simple tokens on 3 members: berth answers every auth scenario step like etcd', async (t) => {
  const ports = await portsFor(3);
  const etcd = await runCluster('etcd', 3, ports, [], (c) => simpleScenario('etcd', c));
  const berth = await runCluster('berth', 3, ports, [], (c) => simpleScenario('berth', c));
  if (process.env['AUTH_DIFF_DUMP'] !== undefined) console.log(JSON.stringify({ etcd, berth }, null, 1));
  assert.equal(berth.length, etcd.length);
  await compare(t, etcd, berth);
});

async function jwtScenario(cluster: Cluster): Promise<Log> {
  const log: Log = [];
  const cs = cluster.endpoints.map((e) => new EtcdRpc(e));
  const [c0, c1] = cs as [EtcdRpc, EtcdRpc];
  const rec = async (step: string, p: Promise<RpcResult<unknown>>): Promise<void> => {
    log.push({ step, got: show(await p) });
  };
  try {
    await setup(c0, log);
    const t = await login(c0, 'alice', 'apw');
    const root = await login(c0, 'root', 'rootpw');
    const [h = '', c = '', s = ''] = t.split('.');
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as { username: string; revision: number; exp: number };
    log.push({ step: 'jwt header', got: JSON.parse(Buffer.from(h, 'base64url').toString()) as unknown });
    log.push({ step: 'jwt claims', got: { username: claims.username, revision: claims.revision, ttl: Math.round(claims.exp - Date.now() / 1000) > 590 } });
    await rec('range as alice on the signing member', c0.call(pb.KVService.range, range('/r/x'), t));
    await rec('range as alice on the other member', c1.call(pb.KVService.range, range('/r/x'), t));
    await rec('put /c/k as alice on the other member', c1.call(pb.KVService.put, put('/c/k', 'v'), t));
    const forged = Buffer.from(JSON.stringify({ ...claims, username: 'root' })).toString('base64url');
    await rec('forged claims', c1.call(pb.KVService.range, range('/r/x'), `${h}.${forged}.${s}`));
    await rec('garbage token', c1.call(pb.KVService.range, range('/r/x'), 'a.b.c'));
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    await rec('alg none', c1.call(pb.KVService.range, range('/r/x'), `${none}.${forged}.`));
    await rec('an unrelated auth change', c0.call(pb.AuthService.roleAdd, pb.AuthRoleAddRequest.fromPartial({ name: 'other' }), root));
    await rec('range with the older token', c1.call(pb.KVService.range, range('/r/x'), t));
    await rec('put with the older token', c1.call(pb.KVService.put, put('/c/k', 'w'), t));
    const t2 = await login(c1, 'alice', 'apw');
    await rec('range with a fresh token', c0.call(pb.KVService.range, range('/r/x'), t2));
    return log;
  } finally {
    for (const x of cs) x.close();
  }
}

test('JWT (RS256) on 2 members: verified on every member, forged and outdated tokens refused, like etcd', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-jwt-'));
  try {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const priv = join(dir, 'jwt.key');
    const pub = join(dir, 'jwt.pub');
    writeFileSync(priv, pair.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    writeFileSync(pub, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    const flags = ['--auth-token', `jwt,pub-key=${pub},priv-key=${priv},sign-method=RS256,ttl=10m`];
    const ports = await portsFor(2);
    const etcd = await runCluster('etcd', 2, ports, flags, jwtScenario);
    const berth = await runCluster('berth', 2, ports, flags, jwtScenario);
    if (process.env['AUTH_DIFF_DUMP'] !== undefined) console.log(JSON.stringify({ etcd, berth }, null, 1));
    assert.equal(berth.length, etcd.length);
    await compare(t, etcd, berth);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('berth: a permission revoked during write traffic grants nothing afterwards; malformed Auth requests are refused', async () => {
  await runCluster('berth', 3, await portsFor(3), [], async (cluster) => {
    const cs = cluster.endpoints.map((e) => new EtcdRpc(e));
    try {
      const c0 = cs[0] as EtcdRpc;
      await setup(c0, []);
      const root = await login(c0, 'root', 'rootpw');
      const alice = await login(c0, 'alice', 'apw');
      // The token must be known on every member before traffic starts.
      for (const c of cs) await until(async () => ((await c.call(pb.KVService.range, range('/r/x'), alice)).ok ? true : undefined), 'token replicated');

      // Nested txns are checked like top-level ones (etcd 3.4 does not look inside them: berth only).
      const nested = await c0.call(
        pb.KVService.txn,
        pb.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestTxn', value: pb.TxnRequest.fromPartial({ success: [{ request: { $case: 'requestPut', value: put('/x', 'stolen') } }] }) } }] }),
        alice,
      );
      assert.deepEqual(show(nested), { code: 7, message: 'etcdserver: permission denied' });

      const acked = new Set<string>();
      const refusedAfter: string[] = [];
      const unexpected: string[] = [];
      let revokedAt = -1; // sequence number issued when the revoke was acknowledged
      let seq = 0;
      const AFTER = 40; // puts each writer still issues once the revoke is acknowledged
      const writer = async (w: number): Promise<void> => {
        let after = 0;
        for (let i = 0; i < 2000 && after < AFTER; i++) {
          const n = seq++;
          const issuedAfterRevoke = revokedAt >= 0;
          const key = `/c/${w}/${i}`;
          const r = await (cs[(w + i) % cs.length] as EtcdRpc).call(pb.KVService.put, put(key, 'v'), alice);
          if (issuedAfterRevoke) after++;
          if (r.ok) {
            acked.add(key);
            if (issuedAfterRevoke) unexpected.push(`${key} (#${n}) succeeded after the revoke`);
          } else if (r.message === 'etcdserver: permission denied' || r.message === 'etcdserver: revision of auth store is old') {
            if (issuedAfterRevoke) refusedAfter.push(key);
          } else {
            unexpected.push(`${key}: ${r.message}`);
          }
        }
      };
      const writers = [0, 1, 2, 3].map((w) => writer(w));
      await until(async () => (acked.size >= 60 ? true : undefined), '60 acknowledged writes');
      const rv = await (cs[1] as EtcdRpc).call(
        pb.AuthService.roleRevokePermission,
        pb.AuthRoleRevokePermissionRequest.fromPartial({ role: 'app', key: b('/c/'), rangeEnd: prefixEnd('/c/') }),
        root,
      );
      assert.ok(rv.ok, JSON.stringify(show(rv)));
      revokedAt = seq;
      await Promise.all(writers);
      assert.deepEqual(unexpected, []);
      assert.equal(refusedAfter.length, 4 * AFTER);
      // Exactly the acknowledged writes are stored, on every member.
      for (const c of cs) {
        const all = await c.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: b('/c/'), rangeEnd: prefixEnd('/c/'), keysOnly: true }), root);
        assert.ok(all.ok);
        assert.deepEqual(new Set(all.value.kvs.map((kv) => Buffer.from(kv.key).toString())), acked);
      }

      // Malformed request bytes to every Auth RPC: an error, never a crash.
      const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x80]);
      for (const [name, def] of Object.entries(pb.AuthService)) {
        for (const token of [undefined, root]) {
          const r = await c0.raw(def.path, garbage, token);
          assert.equal(r.ok, false, `${name} accepted garbage`);
        }
      }
      // Wrong field types (a valid message of another type): decoded leniently, answered with an etcd error.
      const odd = Buffer.from(pb.PutRequest.encode(put('k', 'v', 5n)).finish());
      const r = await c0.raw(pb.AuthService.userGet.path, odd, root);
      assert.deepEqual(r.ok ? 'ok' : r.message, 'etcdserver: user name not found');
      const still = await c0.call(pb.KVService.range, range('/r/x'), root);
      assert.ok(still.ok, 'the member still serves');
    } finally {
      for (const c of cs) c.close();
    }
  });
});
