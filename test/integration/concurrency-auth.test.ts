/**
 * Lock and Election under auth, on one in-process member: every KV call the recipes make is checked
 * as the caller, like etcd's in-process client that carries the caller's token (the same answers
 * are compared with etcd 3.4.23 in e2e/compat/concurrency-auth.test.ts). alice has READWRITE on
 * `lock/` only. Also the reads of a waiting Lock: checked when they happen, against the auth state
 * of that moment (a permission revoked during the wait, auth enabled during the wait).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { removeDir, startTestMember, waitFor } from './ops-fixture.js';
import { EtcdRpc, type RpcResult } from '../../e2e/compat/support/etcd-rpc.js';
import { enableAuthWithLocker } from '../../e2e/compat/support/locker-auth.js';
import * as pb from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { LockRequest, LockService, UnlockRequest } from '../../pkg/proto/gen/v3lockpb/v3lock.js';
import { CampaignRequest, ElectionService, LeaderRequest } from '../../pkg/proto/gen/v3electionpb/v3election.js';

const b = (s: string): Buffer => Buffer.from(s);
const DENIED = { code: 2, message: 'etcdserver: permission denied' };
const USER_EMPTY = { code: 2, message: 'etcdserver: user name is empty' };

function failure(r: RpcResult<unknown>): { code: number; message: string } | 'ok' {
  return r.ok ? 'ok' : { code: r.code, message: r.message };
}

async function must<T>(what: string, p: Promise<RpcResult<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) assert.fail(`${what}: ${r.code} ${r.message}`);
  return r.value;
}

async function setUpAuth(c: EtcdRpc): Promise<{ alice: string; root: string }> {
  await enableAuthWithLocker(c);
  const alice = await must('login alice', c.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name: 'alice', password: 'apw' })));
  const root = await must('login root', c.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name: 'root', password: 'rootpw' })));
  return { alice: alice.token, root: root.token };
}

/** Resolves once `n` keys exist under `prefix` (a Lock has queued its key). */
async function keysUnder(c: EtcdRpc, prefix: string, n: number, token: string | undefined): Promise<void> {
  const end = b(prefix);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
  await waitFor(async () => {
    const r = await c.call(pb.KVService.range, pb.RangeRequest.fromPartial({ key: b(prefix), rangeEnd: end, countOnly: true }), token);
    return r.ok && r.value.count === BigInt(n) ? true : undefined;
  }, `${n} keys under ${prefix}`);
}

describe('Lock and Election check the caller like etcd', { timeout: 120_000 }, () => {
  it('allows the permitted prefix and denies the rest', async () => {
    const m = await startTestMember(['--bcrypt-cost', '4']);
    const c = new EtcdRpc(m.endpoint);
    try {
      const { alice, root } = await setUpAuth(c);
      const lock = (name: string, token: string | undefined): Promise<RpcResult<{ key: Uint8Array }>> => c.call(LockService.lock, LockRequest.fromPartial({ name: b(name) }), token);

      const held = await must('lock lock/a as alice', lock('lock/a', alice));
      assert.match(Buffer.from(held.key).toString(), /^lock\/a\/[0-9a-f]+$/);
      assert.deepEqual(failure(await lock('other/a', alice)), DENIED);
      assert.deepEqual(failure(await lock('lock/a', undefined)), USER_EMPTY);
      await must('unlock as alice', c.call(LockService.unlock, UnlockRequest.fromPartial({ key: held.key }), alice));

      const campaign = (name: string, token: string) => c.call(ElectionService.campaign, CampaignRequest.fromPartial({ name: b(name), value: b(`by ${token === root ? 'root' : 'alice'}`) }), token);
      const leader = (name: string, token: string | undefined) => c.call(ElectionService.leader, LeaderRequest.fromPartial({ name: b(name) }), token);
      const observe = (name: string, token: string) => c.firstOfStream(ElectionService.observe, LeaderRequest.fromPartial({ name: b(name) }), token, 5000);

      await must('campaign lock/e as alice', campaign('lock/e', alice));
      const l = await must('leader lock/e as alice', leader('lock/e', alice));
      assert.equal(Buffer.from(l.kv?.value ?? []).toString(), 'by alice');
      const o = await observe('lock/e', alice);
      assert.ok(o !== 'open' && o.ok, `observe lock/e: ${o === 'open' ? o : o.ok ? 'ok' : o.message}`);
      assert.equal(Buffer.from(o.value.kv?.value ?? []).toString(), 'by alice');

      assert.deepEqual(failure(await leader('other/e', alice)), DENIED, 'no leader yet: still denied, not "no leader"');
      assert.deepEqual(failure(await campaign('other/e', alice)), DENIED);
      await must('campaign other/e as root', campaign('other/e', root));
      assert.deepEqual(failure(await leader('other/e', alice)), DENIED);
      assert.deepEqual(failure(await leader('other/e', undefined)), USER_EMPTY);
      // etcd's Observe ends without an error and without a message when its read is refused.
      const denied = await observe('other/e', alice);
      assert.deepEqual(denied === 'open' || denied.ok ? denied : denied.code, 0);
      const r = await must('leader other/e as root', leader('other/e', root));
      assert.equal(Buffer.from(r.kv?.value ?? []).toString(), 'by root');
    } finally {
      c.close();
      await m.stop();
      removeDir(m.dir);
    }
  });

  it('checks the reads of a waiting Lock when they happen', async () => {
    const m = await startTestMember(['--bcrypt-cost', '4']);
    const c = new EtcdRpc(m.endpoint, 30_000);
    try {
      // Auth enabled while an anonymous Lock waits: its next read has no user.
      const holder = await must('anonymous lock lock/z', c.call(LockService.lock, LockRequest.fromPartial({ name: b('lock/z') })));
      const anonWaiter = c.call(LockService.lock, LockRequest.fromPartial({ name: b('lock/z') }));
      await keysUnder(c, 'lock/z/', 2, undefined);
      const { alice, root } = await setUpAuth(c);
      await must('root unlocks lock/z', c.call(LockService.unlock, UnlockRequest.fromPartial({ key: holder.key }), root));
      assert.deepEqual(failure(await anonWaiter), USER_EMPTY);

      // alice queues behind root; her permission is revoked while she waits.
      const rootHeld = await must('root locks lock/w', c.call(LockService.lock, LockRequest.fromPartial({ name: b('lock/w') }), root));
      const waiter = c.call(LockService.lock, LockRequest.fromPartial({ name: b('lock/w') }), alice);
      await keysUnder(c, 'lock/w/', 2, root);
      await must('revoke lock/ from locker', c.call(pb.AuthService.roleRevokePermission, pb.AuthRoleRevokePermissionRequest.fromPartial({ role: 'locker', key: b('lock/'), rangeEnd: b('lock0') }), root));
      await must('root unlocks lock/w', c.call(LockService.unlock, UnlockRequest.fromPartial({ key: rootHeld.key }), root));
      assert.deepEqual(failure(await waiter), DENIED);
    } finally {
      c.close();
      await m.stop();
      removeDir(m.dir);
    }
  });
});
