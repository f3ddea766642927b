/**
 * berth's Prometheus metrics: one private registry per server (never prom-client's global default,
 * so several members can live in one test process) and typed handles for the metrics whose meaning
 * matches etcd's, under etcd's names, types, labels and histogram bucket layouts, so existing etcd
 * dashboards and alerts work. Later code registers further metrics into `registry`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';

export interface ServerMetrics {
  readonly hasLeader: Gauge;
  readonly isLeader: Gauge;
  readonly isLearner: Gauge;
  readonly leaderChangesSeen: Counter;
  readonly heartbeatSendFailures: Counter;
  readonly slowApply: Counter;
  readonly snapshotApplyInProgress: Gauge;
  /** A gauge in etcd: set to the committed index. */
  readonly proposalsCommitted: Gauge;
  /** A gauge in etcd: set to the applied index. */
  readonly proposalsApplied: Gauge;
  readonly proposalsPending: Gauge;
  readonly proposalsFailed: Counter;
  readonly slowReadIndexes: Counter;
  readonly readIndexesFailed: Counter;
  readonly leaseExpired: Counter;
  readonly quotaBackendBytes: Gauge;
  readonly learnerPromoteSuccesses: Counter;
  readonly learnerPromoteFailures: Counter<'Reason'>;
  /** Set to 1 with label server_version = the emulated etcd version. */
  readonly version: Gauge<'server_version'>;
  /** Set to 1 with label server_id = the member ID in hex. */
  readonly id: Gauge<'server_id'>;
  readonly clientRequests: Counter<'type' | 'client_api_version'>;
}

export interface DiskMetrics {
  readonly walFsyncDuration: Histogram;
  readonly walWriteDuration: Histogram;
  /** A gauge in etcd despite the _total suffix. */
  readonly walWriteBytes: Gauge;
  readonly backendCommitDuration: Histogram;
  readonly backendDefragDuration: Histogram;
  readonly backendSnapshotDuration: Histogram;
  readonly defragInflight: Gauge;
}

export interface MvccMetrics {
  readonly dbTotalSizeInBytes: Gauge;
  readonly dbTotalSizeInUseInBytes: Gauge;
  readonly keysTotal: Gauge;
  readonly rangeTotal: Counter;
  readonly putTotal: Counter;
  readonly deleteTotal: Counter;
  readonly txnTotal: Counter;
  readonly watchStreamTotal: Gauge;
  readonly watcherTotal: Gauge;
  readonly slowWatcherTotal: Gauge;
  readonly eventsTotal: Counter;
  readonly currentRevision: Gauge;
  readonly compactRevision: Gauge;
  readonly dbCompactionTotalDurationMs: Histogram;
  readonly dbCompactionKeysTotal: Counter;
  readonly hashDuration: Histogram;
  readonly hashRevDuration: Histogram;
}

export interface NetworkMetrics {
  readonly peerSentBytes: Counter<'To'>;
  readonly peerReceivedBytes: Counter<'From'>;
  readonly peerSentFailures: Counter<'To'>;
  readonly peerReceivedFailures: Counter<'From'>;
  readonly peerRoundTripTime: Histogram<'To'>;
  readonly activePeers: Gauge<'Local' | 'Remote'>;
  readonly disconnectedPeers: Counter<'Local' | 'Remote'>;
  readonly snapshotSendSuccess: Counter<'To'>;
  readonly snapshotSendFailures: Counter<'To'>;
  readonly snapshotSendDuration: Histogram<'To'>;
  readonly snapshotReceiveSuccess: Counter<'From'>;
  readonly snapshotReceiveFailures: Counter<'From'>;
  readonly snapshotReceiveDuration: Histogram<'From'>;
  readonly clientGrpcSentBytes: Counter;
  readonly clientGrpcReceivedBytes: Counter;
  readonly serverStreamFailures: Counter<'Type' | 'API'>;
}

export interface ClusterMetrics {
  /** Set to 1 with label cluster_version = the cluster's major.minor (e.g. "3.5"). */
  readonly version: Gauge<'cluster_version'>;
}

export interface LeaseMetrics {
  readonly granted: Counter;
  readonly revoked: Counter;
  readonly renewed: Counter;
  readonly ttl: Histogram;
}

type GrpcLabels = 'grpc_type' | 'grpc_service' | 'grpc_method';

/** go-grpc-prometheus server metrics, which etcd exports under these names. */
export interface GrpcMetrics {
  readonly started: Counter<GrpcLabels>;
  readonly handled: Counter<GrpcLabels | 'grpc_code'>;
  readonly msgReceived: Counter<GrpcLabels>;
  readonly msgSent: Counter<GrpcLabels>;
  /** Only observed with `--metrics=extensive`, as in etcd. */
  readonly handlingSeconds: Histogram<GrpcLabels>;
}

export interface Metrics {
  readonly registry: Registry;
  readonly server: ServerMetrics;
  readonly disk: DiskMetrics;
  readonly mvcc: MvccMetrics;
  readonly network: NetworkMetrics;
  readonly cluster: ClusterMetrics;
  readonly lease: LeaseMetrics;
  readonly grpc: GrpcMetrics;
}

export interface MetricsOptions {
  /** Also export prom-client's process_* and nodejs_* metrics (default true). */
  readonly defaultMetrics?: boolean;
  /** When given, etcd_server_version{server_version=<this>} is set to 1 (pass the emulated etcd version). */
  readonly serverVersion?: string;
}

/** Prometheus client_golang's DefBuckets, used by go-grpc-prometheus's handling histogram. */
const GO_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Creates a fresh registry with every metric above registered. Never throws; each call is
 * independent (no global state), so it is safe to call once per member in one process.
 */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const r = [registry];

  const gauge = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, registers: r });
  const counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
    new Counter<L>({ name, help, labelNames, registers: r });
  const histogram = <L extends string = string>(
    name: string,
    help: string,
    buckets: number[],
    labelNames: readonly L[] = [],
  ): Histogram<L> => new Histogram<L>({ name, help, buckets, labelNames, registers: r });

  const server: ServerMetrics = {
    hasLeader: gauge('etcd_server_has_leader', 'Whether a leader exists: 1 yes, 0 no.'),
    isLeader: gauge('etcd_server_is_leader', 'Whether this member is the leader: 1 yes, 0 no.'),
    isLearner: gauge('etcd_server_is_learner', 'Whether this member is a learner: 1 yes, 0 no.'),
    leaderChangesSeen: counter('etcd_server_leader_changes_seen_total', 'Leader changes seen by this member.'),
    heartbeatSendFailures: counter('etcd_server_heartbeat_send_failures_total', 'Leader heartbeats that could not be sent.'),
    slowApply: counter('etcd_server_slow_apply_total', 'Applies slower than the warning threshold.'),
    snapshotApplyInProgress: gauge('etcd_server_snapshot_apply_in_progress_total', '1 while a received snapshot is being applied.'),
    proposalsCommitted: gauge('etcd_server_proposals_committed_total', 'Raft index of the last committed proposal.'),
    proposalsApplied: gauge('etcd_server_proposals_applied_total', 'Raft index of the last applied proposal.'),
    proposalsPending: gauge('etcd_server_proposals_pending', 'Proposals waiting to be committed.'),
    proposalsFailed: counter('etcd_server_proposals_failed_total', 'Proposals that failed.'),
    slowReadIndexes: counter('etcd_server_slow_read_indexes_total', 'Read indexes that were slow or out of sync with the leader.'),
    readIndexesFailed: counter('etcd_server_read_indexes_failed_total', 'Read indexes that failed.'),
    leaseExpired: counter('etcd_debugging_server_lease_expired_total', 'Leases that expired.'),
    quotaBackendBytes: gauge('etcd_server_quota_backend_bytes', 'Backend storage quota in bytes.'),
    learnerPromoteSuccesses: counter('etcd_server_learner_promote_successes', 'Learner promotions that succeeded while leader.'),
    learnerPromoteFailures: counter('etcd_server_learner_promote_failures', 'Learner promotions that failed while leader.', ['Reason']),
    version: gauge('etcd_server_version', 'The running version: 1 for the server_version label.', ['server_version']),
    id: gauge('etcd_server_id', 'This member\'s ID in hex: 1 for the server_id label.', ['server_id']),
    clientRequests: counter('etcd_server_client_requests_total', 'Client requests by type and API version.', [
      'type',
      'client_api_version',
    ]),
  };

  const disk: DiskMetrics = {
    walFsyncDuration: histogram('etcd_disk_wal_fsync_duration_seconds', 'Latency of raft log fsyncs.', exponentialBuckets(0.001, 2, 14)),
    walWriteDuration: histogram('etcd_disk_wal_write_duration_seconds', 'Latency of raft log writes.', exponentialBuckets(0.001, 2, 14)),
    walWriteBytes: gauge('etcd_disk_wal_write_bytes_total', 'Bytes written to the raft log.'),
    backendCommitDuration: histogram(
      'etcd_disk_backend_commit_duration_seconds',
      'Latency of backend commits.',
      exponentialBuckets(0.001, 2, 14),
    ),
    backendDefragDuration: histogram(
      'etcd_disk_backend_defrag_duration_seconds',
      'Latency of backend defragmentation.',
      exponentialBuckets(0.1, 2, 13),
    ),
    backendSnapshotDuration: histogram(
      'etcd_disk_backend_snapshot_duration_seconds',
      'Latency of backend snapshots.',
      exponentialBuckets(0.01, 2, 17),
    ),
    defragInflight: gauge('etcd_disk_defrag_inflight', '1 while a defragmentation runs.'),
  };

  const mvcc: MvccMetrics = {
    dbTotalSizeInBytes: gauge('etcd_mvcc_db_total_size_in_bytes', 'Physically allocated size of the backend in bytes.'),
    dbTotalSizeInUseInBytes: gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Logically used size of the backend in bytes.'),
    keysTotal: gauge('etcd_debugging_mvcc_keys_total', 'Live keys.'),
    rangeTotal: counter('etcd_mvcc_range_total', 'Ranges served by this member.'),
    putTotal: counter('etcd_mvcc_put_total', 'Puts applied by this member.'),
    deleteTotal: counter('etcd_mvcc_delete_total', 'Deletes applied by this member.'),
    txnTotal: counter('etcd_mvcc_txn_total', 'Transactions applied by this member.'),
    watchStreamTotal: gauge('etcd_debugging_mvcc_watch_stream_total', 'Open watch streams.'),
    watcherTotal: gauge('etcd_debugging_mvcc_watcher_total', 'Active watchers.'),
    slowWatcherTotal: gauge('etcd_debugging_mvcc_slow_watcher_total', 'Watchers that are not caught up.'),
    eventsTotal: counter('etcd_debugging_mvcc_events_total', 'Watch events sent by this member.'),
    currentRevision: gauge('etcd_debugging_mvcc_current_revision', 'Current store revision.'),
    compactRevision: gauge('etcd_debugging_mvcc_compact_revision', 'Revision of the last compaction.'),
    dbCompactionTotalDurationMs: histogram(
      'etcd_debugging_mvcc_db_compaction_total_duration_milliseconds',
      'Total duration of history compactions in milliseconds.',
      exponentialBuckets(100, 2, 14),
    ),
    dbCompactionKeysTotal: counter('etcd_debugging_mvcc_db_compaction_keys_total', 'Keys removed by compaction.'),
    hashDuration: histogram('etcd_mvcc_hash_duration_seconds', 'Latency of store hashes.', exponentialBuckets(0.01, 2, 15)),
    hashRevDuration: histogram(
      'etcd_mvcc_hash_rev_duration_seconds',
      'Latency of store hashes by revision.',
      exponentialBuckets(0.01, 2, 15),
    ),
  };

  const network: NetworkMetrics = {
    peerSentBytes: counter('etcd_network_peer_sent_bytes_total', 'Bytes sent to peers.', ['To']),
    peerReceivedBytes: counter('etcd_network_peer_received_bytes_total', 'Bytes received from peers.', ['From']),
    peerSentFailures: counter('etcd_network_peer_sent_failures_total', 'Send failures to peers.', ['To']),
    peerReceivedFailures: counter('etcd_network_peer_received_failures_total', 'Receive failures from peers.', ['From']),
    peerRoundTripTime: histogram(
      'etcd_network_peer_round_trip_time_seconds',
      'Round-trip time to peers.',
      exponentialBuckets(0.0001, 2, 16),
      ['To'],
    ),
    activePeers: gauge('etcd_network_active_peers', 'Connected peers.', ['Local', 'Remote']),
    disconnectedPeers: counter('etcd_network_disconnected_peers_total', 'Peer disconnections.', ['Local', 'Remote']),
    snapshotSendSuccess: counter('etcd_network_snapshot_send_success', 'Snapshots sent successfully.', ['To']),
    snapshotSendFailures: counter('etcd_network_snapshot_send_failures', 'Snapshot sends that failed.', ['To']),
    snapshotSendDuration: histogram(
      'etcd_network_snapshot_send_total_duration_seconds',
      'Duration of snapshot sends.',
      exponentialBuckets(0.1, 2, 10),
      ['To'],
    ),
    snapshotReceiveSuccess: counter('etcd_network_snapshot_receive_success', 'Snapshots received successfully.', ['From']),
    snapshotReceiveFailures: counter('etcd_network_snapshot_receive_failures', 'Snapshot receives that failed.', ['From']),
    snapshotReceiveDuration: histogram(
      'etcd_network_snapshot_receive_total_duration_seconds',
      'Duration of snapshot receives.',
      exponentialBuckets(0.1, 2, 10),
      ['From'],
    ),
    clientGrpcSentBytes: counter('etcd_network_client_grpc_sent_bytes_total', 'Bytes sent to gRPC clients.'),
    clientGrpcReceivedBytes: counter('etcd_network_client_grpc_received_bytes_total', 'Bytes received from gRPC clients.'),
    serverStreamFailures: counter('etcd_network_server_stream_failures_total', 'Stream failures by type and API.', [
      'Type',
      'API',
    ]),
  };

  const cluster: ClusterMetrics = {
    version: gauge('etcd_cluster_version', 'The cluster version: 1 for the cluster_version label.', ['cluster_version']),
  };

  const lease: LeaseMetrics = {
    granted: counter('etcd_debugging_lease_granted_total', 'Leases granted.'),
    revoked: counter('etcd_debugging_lease_revoked_total', 'Leases revoked.'),
    renewed: counter('etcd_debugging_lease_renewed_total', 'Leases renewed by the leader.'),
    ttl: histogram('etcd_debugging_lease_ttl_total', 'TTLs of granted leases.', exponentialBuckets(1, 2, 24)),
  };

  const grpcLabels: readonly GrpcLabels[] = ['grpc_type', 'grpc_service', 'grpc_method'];
  const grpc: GrpcMetrics = {
    started: counter('grpc_server_started_total', 'RPCs started on the server.', grpcLabels),
    handled: counter('grpc_server_handled_total', 'RPCs completed on the server, by status code.', [...grpcLabels, 'grpc_code']),
    msgReceived: counter('grpc_server_msg_received_total', 'Stream messages received from clients.', grpcLabels),
    msgSent: counter('grpc_server_msg_sent_total', 'Stream messages sent to clients.', grpcLabels),
    handlingSeconds: histogram('grpc_server_handling_seconds', 'Latency of RPCs handled by the server.', GO_DEFAULT_BUCKETS, grpcLabels),
  };

  if (opts.serverVersion !== undefined) server.version.set({ server_version: opts.serverVersion }, 1);
  return { registry, server, disk, mvcc, network, cluster, lease, grpc };
}

/** etcd's label value for a gRPC status code (go-grpc-prometheus spells codes like `OK`, `NotFound`). */
export const GRPC_CODE_LABELS: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];
