/**
 * The table of every flag berth accepts: etcd 3.5's flags with etcd's defaults, berth's own flags,
 * and legacy flags that tools still pass. One row per flag drives argv, environment and config-file
 * parsing and the help text, so the four can never disagree.
 */

export type FlagType = 'string' | 'bool' | 'uint' | 'int' | 'duration' | 'urls' | 'list';

export type FlagGroup =
  | 'Member'
  | 'Clustering'
  | 'Security'
  | 'Auth'
  | 'Profiling and Monitoring'
  | 'Logging'
  | 'Experimental distributed tracing'
  | 'v2 Proxy (not supported)'
  | 'Experimental feature'
  | 'Unsafe feature'
  | 'berth';

/**
 * What berth does with a flag: `used` feeds the config; `noop` is accepted for compatibility but
 * has no effect (warned when set); `deprecated` is used but warned like etcd 3.5 does; `unsupported`
 * is an error when set to anything but its default.
 */
export type FlagEffect = 'used' | 'noop' | 'deprecated' | 'unsupported';

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  /** The default as a flag string (what help shows and what is parsed when unset). */
  readonly def: string;
  readonly group: FlagGroup;
  readonly help: string;
  readonly effect: FlagEffect;
  readonly choices?: readonly string[];
}

function f(
  name: string,
  type: FlagType,
  def: string,
  group: FlagGroup,
  help: string,
  extra: { effect?: FlagEffect; choices?: readonly string[] } = {},
): FlagSpec {
  const spec: FlagSpec = { name, type, def, group, help, effect: extra.effect ?? 'used' };
  return extra.choices === undefined ? spec : { ...spec, choices: extra.choices };
}

const M: FlagGroup = 'Member';
const C: FlagGroup = 'Clustering';
const S: FlagGroup = 'Security';
const A: FlagGroup = 'Auth';
const P: FlagGroup = 'Profiling and Monitoring';
const L: FlagGroup = 'Logging';
const T: FlagGroup = 'Experimental distributed tracing';
const X: FlagGroup = 'v2 Proxy (not supported)';
const E: FlagGroup = 'Experimental feature';
const U: FlagGroup = 'Unsafe feature';
const B: FlagGroup = 'berth';

export const DEFAULT_EMULATED_ETCD_VERSION = '3.5.17';

export const FLAGS: readonly FlagSpec[] = [
  // Member
  f('name', 'string', 'default', M, 'Human-readable name of this member.'),
  f('data-dir', 'string', '${name}.berth', M, 'Directory holding this member\'s data.'),
  f('wal-dir', 'string', '', M, 'Separate directory for the raft log (empty: inside --data-dir).'),
  f('snapshot-count', 'uint', '100000', M, 'Applied entries between raft snapshots (0 means the default).'),
  f('heartbeat-interval', 'uint', '100', M, 'Milliseconds between leader heartbeats.'),
  f('election-timeout', 'uint', '1000', M, 'Milliseconds without a leader before a follower campaigns.'),
  f('initial-election-tick-advance', 'bool', 'true', M, 'Fast-forward election ticks at boot for a quicker first election.'),
  f('listen-peer-urls', 'urls', 'http://localhost:2380', M, 'URLs to listen on for peer traffic.'),
  f('listen-client-urls', 'urls', 'http://localhost:2379', M, 'URLs to listen on for client gRPC (and HTTP unless --listen-client-http-urls is set).'),
  f('listen-client-http-urls', 'urls', '', M, 'URLs to listen on for client HTTP only; removes HTTP from --listen-client-urls.'),
  f('max-snapshots', 'uint', '5', M, 'Snapshot files to retain (0 is unlimited); no effect in berth.', { effect: 'noop' }),
  f('max-wals', 'uint', '5', M, 'WAL files to retain (0 is unlimited); no effect in berth.', { effect: 'noop' }),
  f('quota-backend-bytes', 'int', '0', M, 'Backend size that raises the NOSPACE alarm (0: 2 GiB default, negative: no quota).'),
  f('backend-bbolt-freelist-type', 'string', 'map', M, 'bbolt freelist type; no effect in berth.', { effect: 'noop', choices: ['map', 'array'] }),
  f('backend-batch-interval', 'duration', '0', M, 'Maximum time before committing a backend batch; no effect in berth.', { effect: 'noop' }),
  f('backend-batch-limit', 'int', '0', M, 'Maximum operations before committing a backend batch; no effect in berth.', { effect: 'noop' }),
  f('max-txn-ops', 'uint', '128', M, 'Maximum operations in one transaction.'),
  f('max-request-bytes', 'uint', '1572864', M, 'Maximum client request size in bytes.'),
  f('max-concurrent-streams', 'uint', '4294967295', M, 'Maximum concurrent streams per client connection.'),
  f('enable-grpc-gateway', 'bool', 'true', M, 'Serve the JSON gateway (/v3/*) on the client HTTP listener.'),
  f('grpc-keepalive-min-time', 'duration', '5s', M, 'Minimum interval a client should wait between pings.'),
  f('grpc-keepalive-interval', 'duration', '2h', M, 'Interval of server-to-client pings (0 disables).'),
  f('grpc-keepalive-timeout', 'duration', '20s', M, 'Wait for a ping answer before closing the connection (0 disables).'),
  f('socket-reuse-port', 'bool', 'false', M, 'Set SO_REUSEPORT on listeners.'),
  f('socket-reuse-address', 'bool', 'false', M, 'Set SO_REUSEADDR on listeners.'),
  f('raft-read-timeout', 'duration', '5s', M, 'Read timeout on peer connections; no effect in berth.', { effect: 'noop' }),
  f('raft-write-timeout', 'duration', '5s', M, 'Write timeout on peer connections; no effect in berth.', { effect: 'noop' }),

  // Clustering
  f('initial-advertise-peer-urls', 'urls', 'http://localhost:2380', C, 'Peer URLs of this member advertised to the cluster.'),
  f('initial-cluster', 'string', 'default=http://localhost:2380', C, 'Initial members, name=peer-url pairs separated by commas.'),
  f('initial-cluster-state', 'string', 'new', C, 'new to bootstrap a cluster, existing to join one; ignored after the first start.', { choices: ['new', 'existing'] }),
  f('initial-cluster-token', 'string', 'etcd-cluster', C, 'Token that makes cluster and member IDs unique at bootstrap.'),
  f('advertise-client-urls', 'urls', 'http://localhost:2379', C, 'Client URLs of this member advertised to clients.'),
  f('discovery', 'string', '', C, 'Discovery service URL; not supported by berth.', { effect: 'unsupported' }),
  f('discovery-fallback', 'string', 'proxy', C, 'Behaviour when discovery fails; no effect in berth.', { effect: 'noop', choices: ['proxy', 'exit'] }),
  f('discovery-proxy', 'string', '', C, 'HTTP proxy for the discovery service; not supported by berth.', { effect: 'unsupported' }),
  f('discovery-srv', 'string', '', C, 'DNS SRV domain for bootstrap; not supported by berth.', { effect: 'unsupported' }),
  f('discovery-srv-name', 'string', '', C, 'DNS SRV service name suffix; not supported by berth.', { effect: 'unsupported' }),
  f('strict-reconfig-check', 'bool', 'true', C, 'Reject membership changes that would lose quorum.'),
  f('pre-vote', 'bool', 'true', C, 'Run raft\'s pre-vote phase before elections.'),
  f('auto-compaction-retention', 'string', '0', C, 'History to keep: hours or a duration (periodic), or revisions (revision); 0 disables.'),
  f('auto-compaction-mode', 'string', 'periodic', C, 'How to read --auto-compaction-retention.', { choices: ['periodic', 'revision'] }),
  f('enable-v2', 'bool', 'false', C, 'Serve the etcd v2 API; not supported by berth (accepted, ignored).', { effect: 'deprecated' }),
  f('v2-deprecation', 'string', 'not-yet', C, 'v2 store deprecation stage; no effect in berth.', {
    effect: 'noop',
    choices: ['not-yet', 'write-only', 'write-only-skip-check', 'write-only-drop-data', 'gone'],
  }),

  // Security
  f('cert-file', 'string', '', S, 'TLS certificate for client connections.'),
  f('key-file', 'string', '', S, 'TLS key for client connections.'),
  f('client-cert-auth', 'bool', 'false', S, 'Require client certificates signed by --trusted-ca-file.'),
  f('client-cert-file', 'string', '', S, 'Certificate this member presents as a client (default: --cert-file).'),
  f('client-key-file', 'string', '', S, 'Key this member uses as a client (default: --key-file).'),
  f('client-crl-file', 'string', '', S, 'Certificate revocation list for client certificates.'),
  f('client-cert-allowed-hostname', 'list', '', S, 'Comma-separated SAN hostnames allowed for client certificates.'),
  f('trusted-ca-file', 'string', '', S, 'CA bundle that signs client certificates.'),
  f('auto-tls', 'bool', 'false', S, 'Serve clients with a generated self-signed certificate.'),
  f('peer-cert-file', 'string', '', S, 'TLS certificate for peer connections.'),
  f('peer-key-file', 'string', '', S, 'TLS key for peer connections.'),
  f('peer-client-cert-auth', 'bool', 'false', S, 'Require peer certificates signed by --peer-trusted-ca-file.'),
  f('peer-trusted-ca-file', 'string', '', S, 'CA bundle that signs peer certificates.'),
  f('peer-cert-allowed-cn', 'list', '', S, 'Comma-separated CNs allowed for peer certificates.'),
  f('peer-cert-allowed-hostname', 'list', '', S, 'Comma-separated SAN hostnames allowed for peer certificates.'),
  f('peer-auto-tls', 'bool', 'false', S, 'Serve peers with a generated self-signed certificate.'),
  f('peer-client-cert-file', 'string', '', S, 'Certificate this member presents to peers (default: --peer-cert-file).'),
  f('peer-client-key-file', 'string', '', S, 'Key this member uses towards peers (default: --peer-key-file).'),
  f('self-signed-cert-validity', 'uint', '1', S, 'Validity in years of generated certificates.'),
  f('peer-crl-file', 'string', '', S, 'Certificate revocation list for peer certificates.'),
  f('cipher-suites', 'list', '', S, 'Comma-separated TLS cipher suites (Go names; empty: runtime default).'),
  f('cors', 'list', '*', S, 'Comma-separated CORS origins for the HTTP API (* allows all).'),
  f('host-whitelist', 'list', '*', S, 'Comma-separated Host headers accepted over plain HTTP (* allows all).'),
  f('tls-min-version', 'string', 'TLS1.2', S, 'Minimum TLS version.', { choices: ['TLS1.2', 'TLS1.3'] }),
  f('tls-max-version', 'string', '', S, 'Maximum TLS version (empty: runtime default).', { choices: ['', 'TLS1.2', 'TLS1.3'] }),
  f('experimental-peer-skip-client-san-verification', 'bool', 'false', S, 'Skip SAN verification of peer client certificates.'),

  // Auth
  f('auth-token', 'string', 'simple', A, 'Token type and options: simple, or jwt,pub-key=...,priv-key=...,sign-method=...'),
  f('bcrypt-cost', 'uint', '10', A, 'bcrypt cost for password hashes (4..31; out of range uses 10).'),
  f('auth-token-ttl', 'uint', '300', A, 'Lifetime in seconds of a simple token.'),

  // Profiling and Monitoring
  f('enable-pprof', 'bool', 'false', P, 'Serve runtime profiles under /debug/pprof/ on client URLs.'),
  f('metrics', 'string', 'basic', P, 'Metric detail: basic, or extensive for gRPC latency histograms.', { choices: ['basic', 'extensive'] }),
  f('listen-metrics-urls', 'urls', '', P, 'Extra URLs serving /metrics and /health.'),

  // Logging
  f('logger', 'string', 'zap', L, 'Structured logger; only zap (JSON lines) is accepted.'),
  f('log-outputs', 'list', 'default', L, 'stderr, stdout, default (stderr), or file paths, comma-separated.'),
  f('log-level', 'string', 'info', L, 'debug, info, warn, error, panic or fatal.'),
  f('enable-log-rotation', 'bool', 'false', L, 'Rotate a single file log output; no effect in berth.', { effect: 'noop' }),
  f('log-rotation-config-json', 'string', '{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}', L, 'Log rotation settings; no effect in berth.', { effect: 'noop' }),

  // Experimental distributed tracing
  f('experimental-enable-distributed-tracing', 'bool', 'false', T, 'Export OpenTelemetry traces; no effect in berth.', { effect: 'noop' }),
  f('experimental-distributed-tracing-address', 'string', 'localhost:4317', T, 'OpenTelemetry collector address.'),
  f('experimental-distributed-tracing-service-name', 'string', 'etcd', T, 'Service name in traces.'),
  f('experimental-distributed-tracing-instance-id', 'string', '', T, 'Service instance ID in traces.'),
  f('experimental-distributed-tracing-sampling-rate', 'int', '0', T, 'Samples per million spans.'),

  // v2 proxy
  f('proxy', 'string', 'off', X, 'v2 proxy mode; only off is supported.', { effect: 'unsupported', choices: ['off', 'readonly', 'on'] }),
  f('proxy-failure-wait', 'uint', '5000', X, 'v2 proxy setting; no effect.', { effect: 'noop' }),
  f('proxy-refresh-interval', 'uint', '30000', X, 'v2 proxy setting; no effect.', { effect: 'noop' }),
  f('proxy-dial-timeout', 'uint', '1000', X, 'v2 proxy setting; no effect.', { effect: 'noop' }),
  f('proxy-write-timeout', 'uint', '5000', X, 'v2 proxy setting; no effect.', { effect: 'noop' }),
  f('proxy-read-timeout', 'uint', '0', X, 'v2 proxy setting; no effect.', { effect: 'noop' }),

  // Experimental feature
  f('experimental-initial-corrupt-check', 'bool', 'false', E, 'Compare hashes with peers before serving.'),
  f('experimental-corrupt-check-time', 'duration', '0s', E, 'Interval of cluster corruption checks (0 disables).'),
  f('experimental-compact-hash-check-enabled', 'bool', 'false', E, 'Leader compares followers\' hashes after compactions.'),
  f('experimental-compact-hash-check-time', 'duration', '1m', E, 'Interval of compaction hash checks.'),
  f('experimental-enable-v2v3', 'string', '', E, 'v2 emulation prefix; no effect in berth.', { effect: 'deprecated' }),
  f('experimental-enable-lease-checkpoint', 'bool', 'false', E, 'Leader checkpoints remaining lease TTLs to followers.'),
  f('experimental-enable-lease-checkpoint-persist', 'bool', 'false', E, 'Persist lease checkpoints (needs --experimental-enable-lease-checkpoint).'),
  f('experimental-compaction-batch-limit', 'int', '1000', E, 'Revisions deleted per compaction batch.'),
  f('experimental-compaction-sleep-interval', 'duration', '10ms', E, 'Pause between compaction batches.'),
  f('experimental-watch-progress-notify-interval', 'duration', '10m', E, 'Interval of progress notifications to idle watchers.'),
  f('experimental-downgrade-check-time', 'duration', '5s', E, 'Interval of downgrade status checks.'),
  f('experimental-warning-apply-duration', 'duration', '100ms', E, 'Apply time above which a warning is logged.'),
  f('experimental-memory-mlock', 'bool', 'false', E, 'Lock memory pages; no effect in berth.', { effect: 'noop' }),
  f('experimental-txn-mode-write-with-shared-buffer', 'bool', 'true', E, 'bbolt read buffer sharing; no effect in berth.', { effect: 'noop' }),
  f('experimental-stop-grpc-service-on-defrag', 'bool', 'false', E, 'Report NOT_SERVING on health checks while defragmenting.'),
  f('experimental-bootstrap-defrag-threshold-megabytes', 'uint', '0', E, 'Defragment at boot if it frees at least this much (0 disables).'),
  f('experimental-snapshot-catchup-entries', 'uint', '5000', E, 'Entries kept after a snapshot for slow followers.'),

  // Unsafe feature
  f('force-new-cluster', 'bool', 'false', U, 'Restart as a one-member cluster, discarding other members.'),
  f('unsafe-no-fsync', 'bool', 'false', U, 'Skip fsync: data loss on crash.'),

  // berth
  f('config-file', 'string', '', B, 'YAML file with etcd config-file keys; when given, other flags and environment variables are ignored.'),
  f('emulated-etcd-version', 'string', DEFAULT_EMULATED_ETCD_VERSION, B, 'etcd version reported by Status and /version (3.x.y).'),
  f('lease-reads', 'bool', 'false', B, 'Serve linearizable reads from the leader lease instead of ReadIndex.'),
  f('version', 'bool', 'false', B, 'Print the version and exit.'),
];

/**
 * Flags that etcd or older tools pass and berth accepts with a warning and otherwise ignores.
 * `takesValue` says whether a value follows the flag without `=` (`--log-package-levels x=y`).
 */
export interface LegacyFlag {
  readonly name: string;
  readonly takesValue: boolean;
}

export const LEGACY_FLAGS: readonly LegacyFlag[] = [
  { name: 'log-package-levels', takesValue: true },
  { name: 'log-output', takesValue: true },
  { name: 'debug', takesValue: false },
  // etcd 3.5 silently ignores these pre-v2 flags.
  { name: 'cluster-active-size', takesValue: true },
  { name: 'cluster-remove-delay', takesValue: true },
  { name: 'cluster-sync-interval', takesValue: true },
  { name: 'config', takesValue: true },
  { name: 'force', takesValue: false },
  { name: 'max-result-buffer', takesValue: true },
  { name: 'max-retry-attempts', takesValue: true },
  { name: 'peer-heartbeat-interval', takesValue: true },
  { name: 'peer-election-timeout', takesValue: true },
  { name: 'retry-interval', takesValue: true },
  { name: 'snapshot', takesValue: false },
  { name: 'v', takesValue: false },
  { name: 'vv', takesValue: false },
];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((s) => [s.name, s]));
const LEGACY_BY_NAME: ReadonlyMap<string, LegacyFlag> = new Map(LEGACY_FLAGS.map((l) => [l.name, l]));

export function flagSpec(name: string): FlagSpec | undefined {
  return BY_NAME.get(name);
}

export function legacyFlag(name: string): LegacyFlag | undefined {
  return LEGACY_BY_NAME.get(name);
}

/** `data-dir` → `ETCD_DATA_DIR` (or another prefix). */
export function flagToEnv(prefix: 'ETCD' | 'BERTH', name: string): string {
  return `${prefix}_${name.toUpperCase().replaceAll('-', '_')}`;
}
