/**
 * Auth end to end on berth alone:
 *  - one in-process member: the JSON gateway (/v3/auth/*, the `Authorization` header), AuthStatus,
 *    admin-only Cluster calls, a lease that expires while auth is on (the server-originated revoke is
 *    not refused), and a restart that keeps users/roles/enabled but drops the member's simple tokens;
 *  - three real members: a follower offline while auth is set up receives the auth state in a raft
 *    snapshot (the log entries are compacted away) and then enforces it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { b64, postJson, removeDir, startTestMember, unb64, waitFor, freePort } from './ops-fixture.js';
import { startCluster, startServer, type ServerProcess } from '../../e2e/compat/support/servers.js';
import { EtcdRpc } from '../../e2e/compat/support/etcd-rpc.js';
import * as pb from '../../pkg/proto/gen/etcdserverpb/rpc.js';

const js = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...(token === undefined ? {} : { Authorization: token }) } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('auth on one member (gateway, status, cluster admin, lease expiry, restart)', { timeout: 120_000 }, () => {
  it('works through the JSON gateway and survives a restart', async () => {
    let m = await startTestMember(['--bcrypt-cost', '4', '--auth-token-ttl', '300']);
    const dir = m.dir;
    try {
      const u = m.url;
      for (const [path, body] of [
        ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
        ['/v3/auth/user/add', { name: 'alice', password: 'apw' }],
        ['/v3/auth/role/add', { name: 'app' }],
        ['/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('/c/'), range_end: b64('/c0') } }],
        ['/v3/auth/user/grant', { user: 'alice', role: 'app' }],
        ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
      ] as const) {
        const r = await postJson(`${u}${path}`, body);
        assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
      }
      const before = await postJson(`${u}/v3/auth/status`, {});
      assert.equal(before.json.enabled, undefined, 'disabled (false is omitted in JSON)');
      assert.equal((await postJson(`${u}/v3/auth/enable`, {})).status, 200);
      const status = await postJson(`${u}/v3/auth/status`, {});
      assert.equal(status.status, 400, 'AuthStatus needs root');
      assert.match(String(status.json.message), /user name is empty/);

      const login = await postJson(`${u}/v3/auth/authenticate`, { name: 'alice', password: 'apw' });
      assert.equal(login.status, 200, JSON.stringify(login.json));
      const alice = String(login.json.token);
      const root = String((await postJson(`${u}/v3/auth/authenticate`, { name: 'root', password: 'rootpw' })).json.token);
      const st = await post(`${u}/v3/auth/status`, {}, root);
      assert.equal(st.json.enabled, true);
      assert.equal(st.json.authRevision, '7', 'six changes after the initial revision 1; enabling does not count');

      assert.equal((await post(`${u}/v3/kv/put`, { key: b64('/c/a'), value: b64('1') }, alice)).status, 200);
      const denied = await post(`${u}/v3/kv/put`, { key: b64('/x'), value: b64('1') }, alice);
      assert.equal(denied.status, 403);
      assert.equal(denied.json.message, 'etcdserver: permission denied');
      const anon = await post(`${u}/v3/kv/range`, { key: b64('/c/a') });
      assert.equal(anon.json.message, 'etcdserver: user name is empty');
      const got = await post(`${u}/v3/kv/range`, { key: b64('/c/a') }, alice);
      assert.equal(unb64((got.json.kvs as { value: string }[])[0]?.value), '1');

      // Cluster membership changes need root; listing does not.
      const rpc = new EtcdRpc(m.endpoint);
      try {
        const add = await rpc.call(pb.ClusterService.memberAdd, pb.MemberAddRequest.fromPartial({ peerURLs: ['http://127.0.0.1:1'] }), alice);
        assert.deepEqual(add.ok ? 'ok' : add.message, 'etcdserver: permission denied');
        assert.ok((await rpc.call(pb.ClusterService.memberList, pb.MemberListRequest.fromPartial({}), alice)).ok);

        // A lease alice attached her key to expires: the leader's own revoke is not refused.
        const lease = await rpc.call(pb.LeaseService.leaseGrant, pb.LeaseGrantRequest.fromPartial({ TTL: 2n }), alice);
        assert.ok(lease.ok, js(lease));
        const p = await rpc.call(pb.KVService.put, pb.PutRequest.fromPartial({ key: Buffer.from('/c/leased'), value: Buffer.from('v'), lease: lease.value.ID }), alice);
        assert.ok(p.ok, js(p));
        await waitFor(
          async () => {
            const r = await rpc.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: Buffer.from('/c/leased') }), alice);
            return r.ok && r.value.kvs.length === 0 ? true : undefined;
          },
          'the leased key to be deleted at expiry',
          300,
          50,
        );
      } finally {
        rpc.close();
      }

      // Restart: the auth state is durable, this member's simple tokens are not.
      await m.stop();
      m = await startTestMember(['--bcrypt-cost', '4'], dir);
      const old = await post(`${m.url}/v3/kv/range`, { key: b64('/c/a') }, alice);
      assert.equal(old.json.message, 'etcdserver: invalid auth token');
      const again = String((await postJson(`${m.url}/v3/auth/authenticate`, { name: 'alice', password: 'apw' })).json.token);
      const r2 = await post(`${m.url}/v3/kv/range`, { key: b64('/c/a') }, again);
      assert.equal(unb64((r2.json.kvs as { value: string }[])[0]?.value), '1');
      const st2 = await post(`${m.url}/v3/auth/status`, {}, String((await postJson(`${m.url}/v3/auth/authenticate`, { name: 'root', password: 'rootpw' })).json.token));
      assert.equal(st2.json.enabled, true);
      assert.equal(st2.json.authRevision, '7');
    } finally {
      await m.stop();
      removeDir(dir);
    }
  });
});

describe('simple token TTL (--auth-token-ttl)', { timeout: 60_000 }, () => {
  it('a token stays valid while used and expires one TTL after its last use', async () => {
    const m = await startTestMember(['--bcrypt-cost', '4', '--auth-token-ttl', '1']);
    try {
      for (const [path, body] of [
        ['/v3/auth/user/add', { name: 'root', password: 'rootpw' }],
        ['/v3/auth/user/grant', { user: 'root', role: 'root' }],
        ['/v3/auth/enable', {}],
      ] as const) {
        assert.equal((await postJson(`${m.url}${path}`, body)).status, 200, path);
      }
      const token = String((await postJson(`${m.url}/v3/auth/authenticate`, { name: 'root', password: 'rootpw' })).json.token);
      // Used every 250 ms for 2.5 TTLs: each use slides the expiry.
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        const r = await post(`${m.url}/v3/kv/range`, { key: b64('k') }, token);
        assert.equal(r.status, 200, `token expired while in use: ${js(r.json)}`);
        await new Promise((res) => setTimeout(res, 250));
      }
      // Unused for more than one TTL (time itself is the condition here).
      await new Promise((res) => setTimeout(res, 1600));
      const r = await post(`${m.url}/v3/kv/range`, { key: b64('k') }, token);
      assert.equal(r.json.message, 'etcdserver: invalid auth token');
    } finally {
      await m.stop();
      removeDir(m.dir);
    }
  });
});

describe('auth state travels in raft snapshots (3 real members)', { timeout: 240_000 }, () => {
  it('a follower that missed the auth setup enforces it after installing a snapshot', async () => {
    const FLAGS = ['--snapshot-count', '50', '--experimental-snapshot-catchup-entries', '10', '--bcrypt-cost', '4'];
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
    const cluster = await startCluster('berth', 3, FLAGS, ports);
    const procs: ServerProcess[] = [...cluster.members];
    try {
      // Take the last member down before anything about auth exists.
      const victim = 2;
      await (procs[victim] as ServerProcess).kill('SIGKILL');
      const live = [0, 1].map((i) => new EtcdRpc((procs[i] as ServerProcess).endpoint));
      const c = live[0] as EtcdRpc;
      const ok = async (p: Promise<{ ok: boolean }>, what: string): Promise<void> => {
        const r = await p;
        assert.ok(r.ok, `${what}: ${js(r)}`);
      };
      // The killed member may have been the leader: wait for a new one (a linearizable read goes through).
      await waitFor(async () => ((await c.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: Buffer.from('k') }))).ok ? true : undefined), 'a leader', 200, 50);
      await ok(c.call(pb.AuthService.userAdd, pb.AuthUserAddRequest.fromPartial({ name: 'root', password: 'rootpw' })), 'root');
      await ok(c.call(pb.AuthService.userAdd, pb.AuthUserAddRequest.fromPartial({ name: 'alice', password: 'apw' })), 'alice');
      await ok(c.call(pb.AuthService.roleAdd, pb.AuthRoleAddRequest.fromPartial({ name: 'app' })), 'role');
      await ok(
        c.call(pb.AuthService.roleGrantPermission, pb.AuthRoleGrantPermissionRequest.fromPartial({ name: 'app', perm: { permType: 0, key: Buffer.from('/r/'), rangeEnd: Buffer.from('/r0') } })),
        'perm',
      );
      await ok(c.call(pb.AuthService.userGrantRole, pb.AuthUserGrantRoleRequest.fromPartial({ user: 'alice', role: 'app' })), 'grant');
      await ok(c.call(pb.AuthService.userGrantRole, pb.AuthUserGrantRoleRequest.fromPartial({ user: 'root', role: 'root' })), 'grant root');
      await ok(c.call(pb.AuthService.authEnable, {}), 'enable');
      const rootTok = await c.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name: 'root', password: 'rootpw' }));
      assert.ok(rootTok.ok);
      // Enough writes to compact the log past the auth entries.
      for (let i = 0; i < 200; i++) await ok(c.call(pb.KVService.put, pb.PutRequest.fromPartial({ key: Buffer.from(`/r/${i}`), value: Buffer.from('v') }), rootTok.value.token), `put ${i}`);
      for (const l of live) l.close();
      const v = ports[victim] as { client: number; peer: number };
      procs[victim] = await startServer('berth', { clientPort: v.client, peerPort: v.peer, name: `m${victim}`, dataDir: (procs[victim] as ServerProcess).dataDir, initialCluster, extraArgs: FLAGS });
      const f = new EtcdRpc((procs[victim] as ServerProcess).endpoint);
      try {
        // Authenticate on the restarted follower itself: it checks the password from its own store.
        const tok = await waitFor(async () => {
          const r = await f.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name: 'alice', password: 'apw' }));
          return r.ok ? r.value.token : undefined;
        }, 'alice to authenticate on the restarted follower', 400, 50);
        assert.match((procs[victim] as ServerProcess).output(), /applied snapshot/, 'the follower installed a snapshot');
        const read = await f.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: Buffer.from('/r/'), rangeEnd: Buffer.from('/r0'), serializable: true, countOnly: true }), tok);
        assert.ok(read.ok && read.value.count === 200n, js(read));
        const denied = await f.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: Buffer.from('/x'), serializable: true }), tok);
        assert.deepEqual(denied.ok ? 'ok' : denied.message, 'etcdserver: permission denied');
        const anon = await f.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: Buffer.from('/r/1'), serializable: true }));
        assert.deepEqual(anon.ok ? 'ok' : anon.message, 'etcdserver: user name is empty');
      } finally {
        f.close();
      }
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  });
});
