/**
 * Reading Prometheus text for the metrics integration tests: samples by series, metric families by
 * name, and which families moved between two scrapes. Also the one list of etcd/gRPC metrics that
 * may keep their value under the tests' workloads, each with the reason, so a metric that is
 * registered but never fed fails a test instead of showing a constant on a dashboard.
 */
import { createMetrics } from '../../pkg/metrics/index.js';

/** Series (name plus label set, as printed) → value. */
export type Samples = ReadonlyMap<string, number>;

export function samples(text: string): Samples {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** The etcd_* and grpc_* families of a scrape: name → type. */
export function etcdFamilies(text: string): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE ((?:etcd|grpc)_\S+) (\S+)$/gm)) out.set(m[1] as string, m[2] as string);
  return out;
}

/**
 * The families with a series whose value differs from `before` (a series absent there counts as 0,
 * as a fresh labelled child would be). Histograms are compared by their _count series.
 */
export function movedFamilies(families: ReadonlyMap<string, string>, before: Samples, after: Samples): Set<string> {
  const moved = new Set<string>();
  for (const [series, value] of after) {
    const brace = series.indexOf('{');
    let name = brace < 0 ? series : series.slice(0, brace);
    if (name.endsWith('_count') && families.get(name.slice(0, -6)) === 'histogram') name = name.slice(0, -6);
    else if (families.get(name) === undefined || families.get(name) === 'histogram') continue;
    if (value !== (before.get(series) ?? 0)) moved.add(name);
  }
  return moved;
}

/** What a freshly created registry exports (every counter/gauge 0, no labelled series). */
export async function freshSamples(): Promise<Samples> {
  return samples(await createMetrics({ defaultMetrics: false }).registry.metrics());
}

/**
 * Set when the member starts and constant afterwards: they must differ from a fresh registry rather
 * than move under the workload.
 */
export const STARTUP_STATE: ReadonlySet<string> = new Set([
  'etcd_server_version',
  'etcd_server_id',
  'etcd_cluster_version',
  'etcd_server_has_leader',
  'etcd_server_is_leader',
  'etcd_server_quota_backend_bytes',
  'etcd_server_leader_changes_seen_total',
]);

/** Metrics about peers: checked by the three-member test (metrics-cluster.test.ts), not on one member. */
export const PEER_METRICS: ReadonlySet<string> = new Set([
  'etcd_network_peer_sent_bytes_total',
  'etcd_network_peer_received_bytes_total',
  'etcd_network_peer_round_trip_time_seconds',
  'etcd_network_active_peers',
  'etcd_network_disconnected_peers_total',
  'etcd_network_snapshot_send_success',
  'etcd_network_snapshot_send_total_duration_seconds',
  'etcd_network_snapshot_receive_success',
  'etcd_network_snapshot_receive_total_duration_seconds',
]);

/** May keep their value under every workload of these tests, and why. */
export const ALLOWED_STATIC: Readonly<Record<string, string>> = {
  etcd_server_heartbeat_send_failures_total: 'failure counter: a leader too slow to send heartbeats on time',
  etcd_server_slow_apply_total: 'only when applying one entry takes longer than --experimental-warning-apply-duration',
  etcd_server_snapshot_apply_in_progress_total: '1 only while a received snapshot is installed, 0 before and after',
  etcd_server_proposals_pending: 'in-flight gauge: 0 whenever the member is idle',
  etcd_server_proposals_failed_total: 'failure counter: proposals raft could not carry',
  etcd_server_slow_read_indexes_total: 'failure counter: ReadIndex answers that were stale or timed out',
  etcd_server_read_indexes_failed_total: 'failure counter: ReadIndex refused for want of a leader',
  etcd_server_learner_promote_successes: 'needs a learner that catches up and is promoted (membership.test.ts does, without metrics)',
  etcd_server_is_learner: '0 on a voting member',
  etcd_server_health_failures: 'failure counter: failed /health checks',
  etcd_disk_defrag_inflight: '1 only while a defragmentation runs',
  etcd_debugging_mvcc_slow_watcher_total: 'watchers still catching up from history: transient',
  etcd_network_server_stream_failures_total: 'failure counter: a watch or keep-alive stream broke',
  etcd_network_peer_received_failures_total: 'failure counter: malformed or broken incoming peer streams',
  etcd_network_peer_sent_failures_total: 'failure counter: messages dropped (peer buffer full, unknown or refusing peer)',
  etcd_network_snapshot_send_failures: 'failure counter: snapshot uploads that failed',
  etcd_network_snapshot_receive_failures: 'failure counter: snapshot uploads refused or not installed',
};
