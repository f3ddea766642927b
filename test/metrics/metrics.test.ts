import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../pkg/metrics/index.js';
import { register as globalRegistry } from 'prom-client';

const ETCD_NAMES = [
  'etcd_server_has_leader',
  'etcd_server_is_leader',
  'etcd_server_leader_changes_seen_total',
  'etcd_server_proposals_committed_total',
  'etcd_server_proposals_applied_total',
  'etcd_server_proposals_pending',
  'etcd_server_proposals_failed_total',
  'etcd_disk_wal_fsync_duration_seconds',
  'etcd_disk_backend_commit_duration_seconds',
  'etcd_mvcc_db_total_size_in_bytes',
  'etcd_mvcc_db_total_size_in_use_in_bytes',
  'etcd_debugging_mvcc_keys_total',
  'etcd_network_peer_sent_bytes_total',
  'etcd_server_version',
  'etcd_cluster_version',
  'grpc_server_handled_total',
  'grpc_server_started_total',
];

test('registry text output names every etcd metric, plus process and nodejs defaults', async () => {
  const m = createMetrics();
  m.server.version.set({ server_version: '3.5.17' }, 1);
  m.cluster.version.set({ cluster_version: '3.5' }, 1);
  m.network.peerSentBytes.inc({ To: 'abc' }, 10);
  m.grpc.handled.inc({ grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range', grpc_code: 'OK' });
  const text = await m.registry.metrics();
  for (const name of ETCD_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  assert.match(text, /^etcd_server_version\{server_version="3\.5\.17"\} 1$/m);
  assert.match(text, /^etcd_cluster_version\{cluster_version="3\.5"\} 1$/m);
  assert.match(text, /^grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb\.KV",grpc_method="Range",grpc_code="OK"\} 1$/m);
  assert.match(text, /^process_cpu_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
});

test('types match etcd (committed/applied are gauges, fsync a histogram)', async () => {
  const text = await createMetrics({ defaultMetrics: false }).registry.metrics();
  assert.match(text, /^# TYPE etcd_server_proposals_committed_total gauge$/m);
  assert.match(text, /^# TYPE etcd_server_leader_changes_seen_total counter$/m);
  assert.match(text, /^# TYPE etcd_disk_wal_fsync_duration_seconds histogram$/m);
});

test('histograms use etcd bucket layouts', async () => {
  const m = createMetrics({ defaultMetrics: false });
  m.disk.walFsyncDuration.observe(0.002);
  const text = await m.registry.metrics();
  const les = [...text.matchAll(/^etcd_disk_wal_fsync_duration_seconds_bucket\{le="([^"]+)"\}/gm)].map((x) => x[1]);
  // 0.001 * 2^k for k = 0..13, then +Inf
  assert.deepEqual(les, [...Array.from({ length: 14 }, (_, k) => String(0.001 * 2 ** k)), '+Inf']);
});

test('each call has its own registry; the global default registry stays empty', async () => {
  const a = createMetrics({ defaultMetrics: false });
  const b = createMetrics({ defaultMetrics: false });
  a.server.hasLeader.set(1);
  assert.match(await a.registry.metrics(), /^etcd_server_has_leader 1$/m);
  assert.match(await b.registry.metrics(), /^etcd_server_has_leader 0$/m);
  assert.doesNotMatch(await globalRegistry.metrics(), /etcd_/);
});

test('serverVersion option pre-sets etcd_server_version', async () => {
  const m = createMetrics({ defaultMetrics: false, serverVersion: '3.5.17' });
  assert.match(await m.registry.metrics(), /^etcd_server_version\{server_version="3\.5\.17"\} 1$/m);
});
