/**
 * /metrics, /health, /livez, /readyz and /version on the client port, and the separate
 * --listen-metrics-urls listener; and that every exported etcd metric is fed: after a workload
 * touching every subsystem, each one moved, or is in metrics-fixture.ts's lists with its reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KVClient, MaintenanceClient, type HashResponse, type TxnResponse } from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { etcdctl, freePort, removeDir, startTestMember, waitFor, type TestMember } from './ops-fixture.js';
import { ALLOWED_STATIC, etcdFamilies, freshSamples, movedFamilies, PEER_METRICS, samples, STARTUP_STATE, type Samples } from './metrics-fixture.js';

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

describe('every exported etcd metric is fed (one member, --metrics extensive)', { timeout: 120_000 }, () => {
  let m: TestMember;
  before(async () => {
    m = await startTestMember(['--metrics', 'extensive']);
  });
  after(async () => {
    await m.stop();
    removeDir(m.dir);
  });

  const scrape = async (): Promise<string> => (await fetch(`${m.url}/metrics`)).text();
  const value = async (series: string): Promise<number> => samples(await scrape()).get(series) ?? 0;
  const ctl = async (args: readonly string[]): Promise<string> => {
    const r = await etcdctl(m.endpoint, args);
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  it('a workload over every subsystem moves every metric that is not listed as static', async () => {
    const base = await scrape();
    const families = etcdFamilies(base);
    const before = samples(base);
    const during: Samples[] = [];

    // A watch open while keys change: stream and watcher gauges, events sent.
    const watch = spawn('etcdctl', ['--endpoints', m.endpoint, 'watch', 'wk', '--prefix'], { env: { ...process.env, ETCDCTL_API: '3' } });
    let watched = '';
    watch.stdout.on('data', (d: Buffer) => (watched += d.toString()));
    try {
      await waitFor(async () => ((await value('etcd_debugging_mvcc_watcher_total')) === 1 ? true : undefined), 'the watcher registered', 400);
      await ctl(['put', 'wk/a', '1']);
      await ctl(['put', 'wk/b', '2']);
      await waitFor(async () => (watched.includes('wk/b') ? true : undefined), 'watch events', 400);
      during.push(samples(await scrape()));
    } finally {
      watch.kill();
    }

    // KV: range, txn (compare + put + range), delete.
    await ctl(['put', 'mk', 'v']);
    assert.match(await ctl(['get', 'mk']), /mk\nv/);
    const kv = new KVClient(m.endpoint, grpc.credentials.createInsecure());
    const maint = new MaintenanceClient(m.endpoint, grpc.credentials.createInsecure());
    try {
      const txn = await new Promise<TxnResponse>((resolve, reject) =>
        kv.txn(
          {
            compare: [{ key: Buffer.from('mk'), rangeEnd: Buffer.alloc(0), result: Compare_CompareResult.GREATER, target: Compare_CompareTarget.VERSION, targetUnion: { $case: 'version', value: 0n } }],
            success: [
              { request: { $case: 'requestPut', value: { key: Buffer.from('mk2'), value: Buffer.from('w'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } } },
              { request: { $case: 'requestRange', value: { key: Buffer.from('mk'), rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n } } },
            ],
            failure: [],
          },
          (err, res) => (err === null ? resolve(res) : reject(err)),
        ),
      );
      assert.equal(txn.succeeded, true);
      await ctl(['del', 'mk2']);
      await ctl(['put', 'mk', 'v2']); // mk's first revision and mk2's history are compactable

      // Leases: grant, keep-alive, revoke; and one left to expire.
      const id = /lease ([0-9a-f]+) granted/.exec(await ctl(['lease', 'grant', '60']))?.[1];
      assert.ok(id !== undefined);
      await ctl(['lease', 'keep-alive', '--once', id]);
      await ctl(['lease', 'revoke', id]);
      await ctl(['lease', 'grant', '1']);

      // Compaction (physical), Hash, HashKV, snapshot, defragmentation.
      const rev = JSON.parse(await ctl(['get', 'mk', '-w', 'json'])) as { header: { revision: number } };
      await ctl(['compact', String(rev.header.revision), '--physical']);
      const hash = await new Promise<HashResponse>((resolve, reject) => maint.hash({}, (err, res) => (err === null ? resolve(res) : reject(err))));
      assert.ok(hash.hash > 0);
      await ctl(['endpoint', 'hashkv']);
      await ctl(['snapshot', 'save', join(m.dir, 'metrics-test.snap')]);
      await ctl(['defrag']);
    } finally {
      kv.close();
      maint.close();
    }

    // Health checks, and a learner promotion the leader refuses (the learner never started).
    assert.equal((await fetch(`${m.url}/health`)).status, 200);
    assert.equal((await fetch(`${m.url}/readyz`)).status, 200);
    const learner = /Member\s+([0-9a-f]+) added/.exec(await ctl(['member', 'add', 'never-started', '--learner', '--peer-urls', `http://127.0.0.1:${await freePort()}`]))?.[1];
    assert.ok(learner !== undefined);
    const promote = await etcdctl(m.endpoint, ['member', 'promote', learner]);
    assert.notEqual(promote.code, 0);
    assert.match(promote.stderr, /can only promote a learner member which is in sync with leader/);
    await ctl(['member', 'remove', learner]);

    // The expired lease is revoked by the leader within a few expiry ticks.
    await waitFor(async () => ((await value('etcd_debugging_server_lease_expired_total')) > 0 ? true : undefined), 'the lease to expire', 300, 100);

    const expected = [...families.keys()].filter((f) => !STARTUP_STATE.has(f) && !PEER_METRICS.has(f) && ALLOWED_STATIC[f] === undefined);
    let missing: string[] = expected;
    // Values observed after a response (snapshot and hash timings) settle within a scrape or two.
    for (let i = 0; i < 50 && missing.length > 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      const moved = new Set<string>();
      for (const s of [...during, samples(await scrape())]) for (const f of movedFamilies(families, before, s)) moved.add(f);
      missing = expected.filter((f) => !moved.has(f));
    }
    assert.deepEqual(missing, [], 'registered but not moved by the workload');

    // etcd's counting (apply/op-counts.ts): puts wk/a wk/b mk mk and the txn's; one delete; ranges: two
    // gets, the txn's compare (a read txn of its own) and its range, the reads of /health and of
    // /readyz's two read checks; one txn (its write txn made 2 calls).
    const now = samples(await scrape());
    const delta = (series: string): number => (now.get(series) ?? 0) - (before.get(series) ?? 0);
    assert.deepEqual(
      { put: delta('etcd_mvcc_put_total'), delete: delta('etcd_mvcc_delete_total'), range: delta('etcd_mvcc_range_total'), txn: delta('etcd_mvcc_txn_total') },
      { put: 5, delete: 1, range: 7, txn: 1 },
    );
    assert.equal(now.get('etcd_debugging_mvcc_keys_total'), 3, 'live keys wk/a, wk/b, mk');
    assert.equal(delta('etcd_debugging_lease_granted_total'), 2);
    assert.equal(delta('etcd_debugging_lease_revoked_total'), 2, 'one revoked by the client, one expired');

    const fresh = await freshSamples();
    const unset = [...STARTUP_STATE].filter((f) => !movedFamilies(families, fresh, before).has(f));
    assert.deepEqual(unset, [], 'startup state not set');
  });

  it('the lists of static, startup and peer metrics name only registered metrics', async () => {
    const families = etcdFamilies(await scrape());
    const stale = [...Object.keys(ALLOWED_STATIC), ...STARTUP_STATE, ...PEER_METRICS].filter((f) => !families.has(f));
    assert.deepEqual(stale, []);
  });

  it('counts client requests with etcdctl\'s API version, and gRPC latency by method', async () => {
    const text = await scrape();
    assert.match(text, /^etcd_server_client_requests_total\{type="unary",client_api_version="3\.4"\} [1-9]/m);
    assert.match(text, /^etcd_server_client_requests_total\{type="stream",client_api_version="3\.4"\} [1-9]/m);
    assert.match(text, /^grpc_server_handling_seconds_count\{grpc_type="unary",grpc_service="etcdserverpb\.KV",grpc_method="Put"\} [1-9]/m);
    assert.match(text, /^etcd_mvcc_txn_total [1-9]/m);
  });
});

describe('--metrics basic (the default)', () => {
  it('does not export the gRPC latency histogram, like go-grpc-prometheus without it enabled', async () => {
    const m = await startTestMember();
    try {
      assert.equal((await etcdctl(m.endpoint, ['put', 'a', 'b'])).code, 0);
      const text = await (await fetch(`${m.url}/metrics`)).text();
      assert.doesNotMatch(text, /grpc_server_handling_seconds/);
      assert.match(text, /^grpc_server_handled_total\{/m);
    } finally {
      await m.stop();
      removeDir(m.dir);
    }
  });
});
