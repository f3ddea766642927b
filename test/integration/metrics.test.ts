/**
 * /metrics, /health, /livez, /readyz and /version on the client port, and the separate
 * --listen-metrics-urls listener.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdctl, freePort, removeDir, startTestMember, type TestMember } from './ops-fixture.js';

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  assert.ok(m !== null, `metric ${name} missing`);
  return Number(m[1]);
}

describe('metrics and health endpoints', () => {
  let m: TestMember;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    m = await startTestMember(['--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`]);
  });
  after(async () => {
    await m.stop();
    removeDir(m.dir);
  });

  it('/metrics exports etcd-named metrics with live values', async () => {
    assert.equal((await etcdctl(m.endpoint, ['put', 'mk', 'mv'])).code, 0);
    const res = await fetch(`${m.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.equal(sample(text, 'etcd_server_has_leader'), 1);
    assert.equal(sample(text, 'etcd_server_is_leader'), 1);
    assert.ok(sample(text, 'etcd_server_leader_changes_seen_total') >= 1);
    const committed = sample(text, 'etcd_server_proposals_committed_total');
    const applied = sample(text, 'etcd_server_proposals_applied_total');
    assert.ok(applied >= 2 && committed >= applied, `committed ${committed} applied ${applied}`);
    assert.equal(sample(text, 'etcd_server_proposals_pending'), 0);
    assert.equal(sample(text, 'etcd_server_proposals_failed_total'), 0);
    assert.ok(sample(text, 'etcd_mvcc_db_total_size_in_bytes') > 0);
    assert.ok(sample(text, 'etcd_mvcc_db_total_size_in_use_in_bytes') > 0);
    assert.match(text, /^etcd_server_version\{server_version="3\.\d+\.\d+"\} 1$/m);
    assert.match(text, new RegExp(`^etcd_server_id\\{server_id="${m.member.memberId.toString(16)}"\\} 1$`, 'm'));
    assert.match(text, /^etcd_cluster_version\{cluster_version="3\.\d+"\} 1$/m);
    assert.match(text, /^grpc_server_started_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put"\} [1-9]/m);
    assert.match(
      text,
      /^grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="OK"\} [1-9]/m,
    );
  });

  it('grpc_server_handled_total counts failures by code', async () => {
    const r = await etcdctl(m.endpoint, ['get', 'mk', '--rev', '99999']);
    assert.notEqual(r.code, 0);
    const text = await (await fetch(`${m.url}/metrics`)).text();
    assert.match(
      text,
      /^grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Range",grpc_code="OutOfRange"\} [1-9]/m,
    );
  });

  it('/health answers etcd JSON and counts checks', async () => {
    const res = await fetch(`${m.url}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { health: 'true', reason: '' });
    const ser = await fetch(`${m.url}/health?serializable=true`);
    assert.equal(ser.status, 200);
    const text = await (await fetch(`${m.url}/metrics`)).text();
    assert.ok(sample(text, 'etcd_server_health_success') >= 2);
    const post = await fetch(`${m.url}/health`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('etcdctl endpoint health is healthy', async () => {
    const r = await etcdctl(m.endpoint, ['endpoint', 'health']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /is healthy: successfully committed proposal/);
  });

  it('/livez and /readyz run etcd\'s named checks', async () => {
    const ready = await fetch(`${m.url}/readyz?verbose`);
    assert.equal(ready.status, 200);
    assert.equal(
      await ready.text(),
      '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n',
    );
    const live = await fetch(`${m.url}/livez`);
    assert.equal(live.status, 200);
    assert.equal(await live.text(), 'ok\n');
    const one = await fetch(`${m.url}/readyz/linearizable_read?verbose`);
    assert.equal(await one.text(), '[+]linearizable_read ok\nok\n');
    const excluded = await fetch(`${m.url}/readyz?verbose&exclude=non_learner`);
    assert.doesNotMatch(await excluded.text(), /non_learner/);
    const text = await (await fetch(`${m.url}/metrics`)).text();
    assert.match(text, /^etcd_server_healthcheck\{type="readyz",name="linearizable_read"\} 1$/m);
  });

  it('/version reports the emulated etcd version', async () => {
    const v = (await (await fetch(`${m.url}/version`)).json()) as { etcdserver: string; etcdcluster: string };
    assert.match(v.etcdserver, /^3\.\d+\.\d+$/);
    assert.equal(v.etcdcluster, v.etcdserver.split('.').slice(0, 2).join('.') + '.0');
  });

  it('--listen-metrics-urls serves /metrics and /health only', async () => {
    const base = `http://127.0.0.1:${metricsPort}`;
    let res: Response | undefined;
    for (let i = 0; i < 50 && res === undefined; i++) {
      res = await fetch(`${base}/metrics`).catch(() => undefined);
      if (res === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(res !== undefined, 'metrics listener up');
    assert.equal(res.status, 200);
    assert.equal(sample(await res.text(), 'etcd_server_has_leader'), 1);
    assert.equal((await fetch(`${base}/health`)).status, 200);
    assert.equal((await fetch(`${base}/v3/kv/range`, { method: 'POST', body: '{}' })).status, 404);
  });
});
