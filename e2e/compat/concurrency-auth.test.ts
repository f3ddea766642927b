// Differential test of the Lock and Election services under auth: the same raw gRPC calls against a
// real etcd (Debian etcd-server 3.4.23) and then berth, one member each, with identical flags and
// ports. etcd serves v3lock/v3election on an in-process client that carries the caller's token, so
// every KV call the recipes make (their Txns, and the reads of Leader, Observe and the lock/campaign
// waits) is permission-checked as the caller. alice has READWRITE on `lock/` only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as pb from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { LockService, LockRequest, UnlockRequest } from '../../pkg/proto/gen/v3lockpb/v3lock.js';
import { CampaignRequest, ElectionService, LeaderRequest, ProclaimRequest, ResignRequest } from '../../pkg/proto/gen/v3electionpb/v3election.js';
import { EtcdRpc, type RpcResult } from './support/etcd-rpc.js';
import { enableAuthWithLocker } from './support/locker-auth.js';
import { freePort, startCluster, type Flavor } from './support/servers.js';

const b = (s: string): Buffer => Buffer.from(s);

/** Lease IDs differ between runs: a recipe key `name/<lease hex>` is shown as `name/<lease>`. */
const LEASE_KEY = /\/[0-9a-f]{8,16}$/;
const DROPPED: ReadonlySet<string> = new Set(['header', 'ID', 'lease', 'rev', 'createRevision', 'modRevision', 'version']);

function show(r: RpcResult<unknown> | 'open'): unknown {
  if (r === 'open') return 'stream open, nothing sent';
  // A stream that ended cleanly: grpc-js always sends the message "OK" with status 0, Go none.
  if (!r.ok && r.code === 0) return 'stream ended with status OK, nothing sent';
  if (!r.ok) return { code: r.code, message: r.message };
  return JSON.parse(
    JSON.stringify(r.value, (k, v: unknown) => {
      if (DROPPED.has(k)) return undefined;
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1').replace(LEASE_KEY, '/<lease>');
      if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer') {
        return Buffer.from((v as { data: number[] }).data).toString('latin1').replace(LEASE_KEY, '/<lease>');
      }
      return v;
    }),
  );
}

type Log = { step: string; got: unknown }[];

async function login(c: EtcdRpc, name: string, password: string): Promise<string> {
  const r = await c.call(pb.AuthService.authenticate, pb.AuthenticateRequest.fromPartial({ name, password }));
  assert.ok(r.ok, `authenticate ${name}: ${JSON.stringify(show(r))}`);
  return r.value.token;
}

async function scenario(endpoint: string): Promise<Log> {
  const log: Log = [];
  const c = new EtcdRpc(endpoint);
  const rec = async <T>(step: string, p: Promise<RpcResult<T> | 'open'>): Promise<RpcResult<T> | 'open'> => {
    const r = await p;
    log.push({ step, got: show(r) });
    return r;
  };
  const lockAs = (name: string, token: string | undefined): Promise<RpcResult<unknown>> => c.call(LockService.lock, LockRequest.fromPartial({ name: b(name) }), token);
  const campaignAs = (name: string, value: string, token: string | undefined) =>
    c.call(ElectionService.campaign, CampaignRequest.fromPartial({ name: b(name), value: b(value) }), token);
  const leaderAs = (name: string, token: string | undefined) => c.call(ElectionService.leader, LeaderRequest.fromPartial({ name: b(name) }), token);
  const observeAs = (name: string, token: string | undefined) => c.firstOfStream(ElectionService.observe, LeaderRequest.fromPartial({ name: b(name) }), token, 1500);
  try {
    await enableAuthWithLocker(c);
    const alice = await login(c, 'alice', 'apw');
    const root = await login(c, 'root', 'rootpw');

    // Lock / Unlock.
    const held = await rec('lock lock/a as alice', lockAs('lock/a', alice));
    await rec('lock other/a as alice', lockAs('other/a', alice));
    await rec('lock lock/a without a token', lockAs('lock/a', undefined));
    const rootHeld = await rec('lock other/a as root', lockAs('other/a', root));
    if (rootHeld !== 'open' && rootHeld.ok) {
      const key = (rootHeld.value as { key: Uint8Array }).key;
      await rec('unlock root key other/a/.. as alice', c.call(LockService.unlock, UnlockRequest.fromPartial({ key }), alice));
      await rec('unlock root key other/a/.. as root', c.call(LockService.unlock, UnlockRequest.fromPartial({ key }), root));
    }
    if (held !== 'open' && held.ok) {
      await rec('unlock lock/a as alice', c.call(LockService.unlock, UnlockRequest.fromPartial({ key: (held.value as { key: Uint8Array }).key }), alice));
    }

    // Election on a permitted name.
    const won = await rec('campaign lock/e as alice', campaignAs('lock/e', 'v1', alice));
    await rec('leader lock/e as alice', leaderAs('lock/e', alice));
    await rec('observe lock/e as alice', observeAs('lock/e', alice));
    if (won !== 'open' && won.ok) {
      const leader = (won.value as { leader: unknown }).leader as ProclaimRequest['leader'];
      await rec('proclaim lock/e as alice', c.call(ElectionService.proclaim, ProclaimRequest.fromPartial({ leader, value: b('v2') }), alice));
      await rec('leader lock/e as alice after proclaim', leaderAs('lock/e', alice));
      await rec('resign lock/e as alice', c.call(ElectionService.resign, ResignRequest.fromPartial({ leader }), alice));
    }
    await rec('leader lock/e (none) as alice', leaderAs('lock/e', alice));

    // Election on a forbidden name, with and without a leader.
    await rec('leader other/e (none) as alice', leaderAs('other/e', alice));
    await rec('campaign other/e as alice', campaignAs('other/e', 'x', alice));
    await rec('campaign other/e as root', campaignAs('other/e', 'r', root));
    await rec('leader other/e as alice', leaderAs('other/e', alice));
    await rec('leader other/e without a token', leaderAs('other/e', undefined));
    await rec('leader other/e as root', leaderAs('other/e', root));
    await rec('observe other/e as alice', observeAs('other/e', alice));
    await rec('observe other/e without a token', observeAs('other/e', undefined));
    await rec('observe other/e as root', observeAs('other/e', root));
    return log;
  } finally {
    c.close();
  }
}

async function run(flavor: Flavor, ports: { client: number; peer: number }[]): Promise<Log> {
  const cluster = await startCluster(flavor, 1, ['--bcrypt-cost', '4'], ports);
  try {
    return await scenario(cluster.endpoints[0] ?? '');
  } finally {
    await cluster.stop();
  }
}

test('Lock and Election check the caller\'s permissions like etcd', async (t) => {
  const ports = [{ client: await freePort(), peer: await freePort() }];
  const etcd = await run('etcd', ports);
  const berth = await run('berth', ports);
  if (process.env['CONCURRENCY_AUTH_DUMP'] !== undefined) console.log(JSON.stringify({ etcd, berth }, null, 1));
  assert.equal(berth.length, etcd.length);
  await Promise.all(etcd.map((e, i) => t.test(`${i + 1}: ${e.step}`, () => assert.deepEqual(berth[i], e))));
});
