/**
 * Builds the typed {@link Config} from merged raw settings and applies etcd's validation rules.
 * The first violated rule is returned as one {@link ConfigError}; non-fatal findings become warnings.
 */
import { isAbsolute, resolve } from 'node:path';
import { isKnownCipherSuite } from './cipher-suites.js';
import { parseAuthToken } from './auth-token.js';
import { parseAutoCompaction } from './auto-compaction.js';
import { checkCluster, resolveInitialCluster } from './cluster.js';
import { FLAGS } from './flags.js';
import type { Settings } from './settings.js';
import { invalidFlag, invalidValue, type ConfigError, type ConfigWarning } from './source.js';
import type { Config, LogLevel, TlsFiles } from './types.js';
import { checkAdvertisable, checkBindable } from './urls.js';

export type BuildResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly ConfigWarning[] }
  | { readonly ok: false; readonly error: ConfigError };

export interface BuildOptions {
  readonly cwd: string;
  /** 'file' when the settings came from --config-file (etcd then skips command-line-only rules). */
  readonly origin: 'cmdline' | 'file';
  /** Absolute config file path, or ''. */
  readonly configFile: string;
}

const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_SUGGESTED_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;
const MAX_ELECTION_MS = 50_000;
const DEFAULT_SNAPSHOT_COUNT = 100_000;
const BCRYPT_MIN = 4;
const BCRYPT_MAX = 31;
const BCRYPT_DEFAULT = 10;
const MAX_UINT32 = 4_294_967_295;
const MAX_TRACING_SAMPLING = 1_000_000;
const KUBE_CONSISTENT_READS_MIN = [3, 5, 13] as const;
const LOG_LEVELS: ReadonlyMap<string, LogLevel> = new Map<string, LogLevel>([
  ['debug', 'debug'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['dpanic', 'panic'],
  ['panic', 'panic'],
  ['fatal', 'fatal'],
]);
const UNSUPPORTED_REASON: Readonly<Record<string, string>> = {
  discovery: 'discovery is not supported by berth; bootstrap with --initial-cluster',
  'discovery-proxy': 'discovery is not supported by berth; bootstrap with --initial-cluster',
  'discovery-srv': 'DNS discovery is not supported by berth; bootstrap with --initial-cluster',
  'discovery-srv-name': 'DNS discovery is not supported by berth; bootstrap with --initial-cluster',
  proxy: 'the v2 proxy is not supported by berth; only "off" is accepted',
};

/** Validates and assembles the config. Never throws for user input. */
export function buildConfig(s: Settings, opts: BuildOptions): BuildResult {
  const warnings: ConfigWarning[] = [];
  const warn = (flag: string, message: string): void => {
    warnings.push({ flag, message });
  };
  const bad = (flag: string, reason: string): BuildResult => ({
    ok: false,
    error: invalidValue(flag, s.raw(flag), s.source(flag), reason),
  });
  const rule = (flag: string, reason: string): BuildResult => ({ ok: false, error: invalidFlag(flag, reason) });

  // Flags that berth accepts only for compatibility.
  for (const spec of FLAGS) {
    if (!s.isSet(spec.name)) continue;
    if (spec.effect === 'unsupported' && s.raw(spec.name) !== spec.def) {
      return bad(spec.name, UNSUPPORTED_REASON[spec.name] ?? 'not supported by berth');
    }
    if (spec.effect === 'noop') warn(spec.name, `flag --${spec.name} has no effect in berth; ignored`);
    if (spec.effect === 'deprecated') {
      warn(spec.name, `flag --${spec.name} is deprecated since etcd 3.5 and has no effect in berth (no v2 API)`);
    }
  }

  // logging
  const logger = s.str('logger');
  if (logger === 'capnslog') return bad('logger', 'capnslog was removed in etcd 3.5; use zap');
  if (logger !== 'zap') return bad('logger', 'only "zap" is supported');
  const logLevel = LOG_LEVELS.get(s.str('log-level'));
  if (logLevel === undefined) return bad('log-level', 'expected debug, info, warn, error, panic or fatal');
  const outputsRaw = s.list('log-outputs');
  if (outputsRaw.length > 1 && outputsRaw.includes('default')) {
    return bad('log-outputs', '"default" cannot be combined with other outputs');
  }
  const logOutputs: string[] = [];
  for (const o of outputsRaw.length === 0 ? ['default'] : outputsRaw) {
    if (o === 'default' || o === 'stderr') add(logOutputs, 'stderr');
    else if (o === 'stdout') add(logOutputs, 'stdout');
    else if (o === 'systemd/journal') {
      warn('log-outputs', 'systemd/journal output is not supported by berth; logging to stderr');
      add(logOutputs, 'stderr');
    } else add(logOutputs, resolve(opts.cwd, o));
  }

  // URLs
  for (const flag of ['listen-peer-urls', 'listen-client-urls', 'listen-client-http-urls', 'listen-metrics-urls']) {
    const why = checkBindable(s.urls(flag));
    if (why !== undefined) return bad(flag, why);
  }
  for (const flag of ['initial-advertise-peer-urls', 'advertise-client-urls']) {
    const why = checkAdvertisable(s.urls(flag));
    if (why !== undefined) return bad(flag, why);
  }
  const listenClientUrls = s.urls('listen-client-urls');
  const advertiseClientUrls = s.urls('advertise-client-urls');
  const listenPeerUrls = s.urls('listen-peer-urls');
  const advertisePeerUrls = s.urls('initial-advertise-peer-urls');
  if (listenPeerUrls.length === 0) return bad('listen-peer-urls', 'no valid URLs given');
  if (listenClientUrls.length === 0) return bad('listen-client-urls', 'no valid URLs given');
  if (advertisePeerUrls.length === 0) return bad('initial-advertise-peer-urls', 'no valid URLs given');
  if (
    opts.origin === 'cmdline' &&
    s.isSet('listen-client-urls') &&
    !s.isSet('advertise-client-urls')
  ) {
    return rule('advertise-client-urls', 'required when --listen-client-urls is set explicitly');
  }
  if (advertiseClientUrls.length === 0) return bad('advertise-client-urls', 'no valid URLs given');

  // raft timing
  const heartbeatIntervalMs = s.num('heartbeat-interval');
  const electionTimeoutMs = s.num('election-timeout');
  if (heartbeatIntervalMs === 0) return bad('heartbeat-interval', 'must be > 0');
  if (electionTimeoutMs === 0) return bad('election-timeout', 'must be > 0');
  if (5 * heartbeatIntervalMs > electionTimeoutMs) {
    return rule(
      'election-timeout',
      `${electionTimeoutMs}ms must be at least 5 times --heartbeat-interval (${heartbeatIntervalMs}ms)`,
    );
  }
  if (electionTimeoutMs > MAX_ELECTION_MS) {
    return bad('election-timeout', `must be at most ${MAX_ELECTION_MS}ms`);
  }

  // compaction
  const autoCompaction = parseAutoCompaction(s.str('auto-compaction-mode'), s.str('auto-compaction-retention'));
  if (typeof autoCompaction === 'string') return bad('auto-compaction-retention', autoCompaction);

  // leases and experimental checks
  const enableLeaseCheckpoint = s.bool('experimental-enable-lease-checkpoint');
  const enableLeaseCheckpointPersist = s.bool('experimental-enable-lease-checkpoint-persist');
  if (enableLeaseCheckpointPersist && !enableLeaseCheckpoint) {
    return rule('experimental-enable-lease-checkpoint-persist', 'requires --experimental-enable-lease-checkpoint');
  }
  if (enableLeaseCheckpoint && !enableLeaseCheckpointPersist) {
    warn(
      'experimental-enable-lease-checkpoint',
      'lease checkpointing is enabled without persistence; consider --experimental-enable-lease-checkpoint-persist',
    );
  }
  const compactHashCheckTimeMs = s.num('experimental-compact-hash-check-time');
  if (compactHashCheckTimeMs <= 0) return bad('experimental-compact-hash-check-time', 'must be > 0');

  // TLS
  const tlsMinVersion = s.str('tls-min-version');
  const tlsMaxVersion = s.str('tls-max-version');
  if (tlsMinVersion !== 'TLS1.2' && tlsMinVersion !== 'TLS1.3') return bad('tls-min-version', 'expected TLS1.2 or TLS1.3');
  if (tlsMaxVersion !== '' && tlsMaxVersion !== 'TLS1.2' && tlsMaxVersion !== 'TLS1.3') {
    return bad('tls-max-version', 'expected TLS1.2, TLS1.3 or empty');
  }
  if (tlsMaxVersion !== '' && tlsMinVersion > tlsMaxVersion) {
    return rule('tls-min-version', `${tlsMinVersion} is greater than --tls-max-version ${tlsMaxVersion}`);
  }
  const cipherSuites = s.list('cipher-suites');
  for (const c of cipherSuites) {
    if (!isKnownCipherSuite(c)) return bad('cipher-suites', `unknown TLS cipher suite ${JSON.stringify(c)}`);
  }
  if (tlsMinVersion === 'TLS1.3' && cipherSuites.length > 0) {
    return rule('cipher-suites', 'cipher suites cannot be configured when only TLS1.3 is enabled');
  }

  // tracing
  if (s.bool('experimental-enable-distributed-tracing')) {
    const rate = s.num('experimental-distributed-tracing-sampling-rate');
    if (rate < 0 || rate > MAX_TRACING_SAMPLING) {
      return bad('experimental-distributed-tracing-sampling-rate', `must be between 0 and ${MAX_TRACING_SAMPLING}`);
    }
  }

  // auth
  const auth = parseAuthToken(s.str('auth-token'));
  if (typeof auth === 'string') return bad('auth-token', auth);
  let bcryptCost = s.num('bcrypt-cost');
  if (bcryptCost < BCRYPT_MIN || bcryptCost > BCRYPT_MAX) {
    warn('bcrypt-cost', `bcrypt cost ${bcryptCost} is outside ${BCRYPT_MIN}..${BCRYPT_MAX}; using ${BCRYPT_DEFAULT}`);
    bcryptCost = BCRYPT_DEFAULT;
  }

  // sizes
  const quotaRaw = s.num('quota-backend-bytes');
  const quotaBackendBytes = quotaRaw < 0 ? null : quotaRaw === 0 ? DEFAULT_QUOTA_BYTES : quotaRaw;
  if (quotaBackendBytes !== null && quotaBackendBytes > MAX_SUGGESTED_QUOTA_BYTES) {
    warn('quota-backend-bytes', `quota ${quotaBackendBytes} exceeds the suggested maximum of ${MAX_SUGGESTED_QUOTA_BYTES} bytes`);
  }
  const maxConcurrentStreams = s.num('max-concurrent-streams');
  if (maxConcurrentStreams > MAX_UINT32) return bad('max-concurrent-streams', `must be at most ${MAX_UINT32}`);
  const snapshotCount = s.num('snapshot-count') === 0 ? DEFAULT_SNAPSHOT_COUNT : s.num('snapshot-count');

  // berth
  const emulatedEtcdVersion = s.str('emulated-etcd-version');
  const ver = /^3\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/.exec(emulatedEtcdVersion);
  if (ver === null) return bad('emulated-etcd-version', 'expected an etcd 3.x.y version such as 3.5.17');
  if (compareVersion([3, Number(ver[1]), Number(ver[2])], KUBE_CONSISTENT_READS_MIN) < 0) {
    warn('emulated-etcd-version', `kube-apiserver enables consistent reads from cache only for etcd >= 3.5.13`);
  }
  if (s.bool('enable-v2')) warn('enable-v2', 'the etcd v2 API is not supported by berth; --enable-v2 is ignored');

  // cluster membership
  const name = s.str('name');
  const cluster = resolveInitialCluster(s, name, advertisePeerUrls);
  if ('message' in cluster) return { ok: false, error: cluster };
  const initialClusterState = s.str('initial-cluster-state') === 'existing' ? 'existing' : 'new';
  const clusterError = checkCluster(name, cluster.members, advertisePeerUrls, initialClusterState);
  if (clusterError !== undefined) return rule('initial-cluster', clusterError);

  const dataDirRaw = s.isSet('data-dir') && s.str('data-dir') !== '' ? s.str('data-dir') : `${name}.berth`;
  const walDirRaw = s.str('wal-dir');

  const config: Config = {
    name,
    dataDir: absolute(opts.cwd, dataDirRaw),
    walDir: walDirRaw === '' ? '' : absolute(opts.cwd, walDirRaw),
    snapshotCount,
    heartbeatIntervalMs,
    electionTimeoutMs,
    initialElectionTickAdvance: s.bool('initial-election-tick-advance'),
    listenPeerUrls,
    listenClientUrls,
    listenClientHttpUrls: s.urls('listen-client-http-urls'),
    listenMetricsUrls: s.urls('listen-metrics-urls'),
    quotaBackendBytes,
    maxTxnOps: s.num('max-txn-ops'),
    maxRequestBytes: s.num('max-request-bytes'),
    maxConcurrentStreams,
    enableGrpcGateway: s.bool('enable-grpc-gateway'),
    grpcKeepaliveMinTimeMs: s.num('grpc-keepalive-min-time'),
    grpcKeepaliveIntervalMs: s.num('grpc-keepalive-interval'),
    grpcKeepaliveTimeoutMs: s.num('grpc-keepalive-timeout'),
    socketReusePort: s.bool('socket-reuse-port'),
    socketReuseAddress: s.bool('socket-reuse-address'),

    initialAdvertisePeerUrls: advertisePeerUrls,
    advertiseClientUrls,
    initialCluster: cluster.members,
    initialClusterState,
    initialClusterToken: s.str('initial-cluster-token'),
    strictReconfigCheck: s.bool('strict-reconfig-check'),
    preVote: s.bool('pre-vote'),
    autoCompaction,

    clientTls: tlsFiles(s, opts.cwd, 'client'),
    peerTls: tlsFiles(s, opts.cwd, 'peer'),
    peerSkipClientSanVerification: s.bool('experimental-peer-skip-client-san-verification'),
    selfSignedCertValidityYears: s.num('self-signed-cert-validity') === 0 ? 1 : s.num('self-signed-cert-validity'),
    cipherSuites,
    tlsMinVersion,
    tlsMaxVersion,
    cors: s.list('cors'),
    hostWhitelist: s.list('host-whitelist'),

    authTokenType: auth.type,
    authTokenOptions: auth.options,
    bcryptCost,
    authTokenTtlSeconds: s.num('auth-token-ttl'),

    enablePprof: s.bool('enable-pprof'),
    metrics: s.str('metrics') === 'extensive' ? 'extensive' : 'basic',
    logger: 'zap',
    logLevel,
    logOutputs,

    initialCorruptCheck: s.bool('experimental-initial-corrupt-check'),
    corruptCheckTimeMs: s.num('experimental-corrupt-check-time'),
    compactHashCheckEnabled: s.bool('experimental-compact-hash-check-enabled'),
    compactHashCheckTimeMs,
    enableLeaseCheckpoint,
    enableLeaseCheckpointPersist,
    compactionBatchLimit: s.num('experimental-compaction-batch-limit'),
    compactionSleepIntervalMs: s.num('experimental-compaction-sleep-interval'),
    watchProgressNotifyIntervalMs: s.num('experimental-watch-progress-notify-interval'),
    downgradeCheckTimeMs: s.num('experimental-downgrade-check-time'),
    warningApplyDurationMs: s.num('experimental-warning-apply-duration'),
    stopGrpcServiceOnDefrag: s.bool('experimental-stop-grpc-service-on-defrag'),
    bootstrapDefragThresholdMegabytes: s.num('experimental-bootstrap-defrag-threshold-megabytes'),
    snapshotCatchupEntries: s.num('experimental-snapshot-catchup-entries'),

    forceNewCluster: s.bool('force-new-cluster'),
    unsafeNoFsync: s.bool('unsafe-no-fsync'),

    emulatedEtcdVersion,
    leaseReads: s.bool('lease-reads'),
    configFile: opts.configFile,
    explicitlySet: s.explicit(),
  };
  if (config.unsafeNoFsync) warn('unsafe-no-fsync', 'fsync is disabled: a crash can lose acknowledged writes');
  return { ok: true, config: deepFreeze(config), warnings };
}

function tlsFiles(s: Settings, cwd: string, side: 'client' | 'peer'): TlsFiles {
  const p = side === 'peer' ? 'peer-' : '';
  const file = (flag: string): string => {
    const v = s.str(flag);
    return v === '' ? '' : absolute(cwd, v);
  };
  return {
    certFile: file(`${p}cert-file`),
    keyFile: file(`${p}key-file`),
    clientCertFile: file(`${p}client-cert-file`),
    clientKeyFile: file(`${p}client-key-file`),
    trustedCaFile: file(`${p}trusted-ca-file`),
    clientCertAuth: s.bool(`${p}client-cert-auth`),
    autoTls: s.bool(`${p}auto-tls`),
    crlFile: file(`${side}-crl-file`),
    allowedCns: side === 'peer' ? s.list('peer-cert-allowed-cn') : [],
    allowedHostnames: s.list(`${side === 'peer' ? 'peer' : 'client'}-cert-allowed-hostname`),
  };
}

function compareVersion(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function absolute(cwd: string, p: string): string {
  return isAbsolute(p) ? p : resolve(cwd, p);
}

function add(list: string[], item: string): void {
  if (!list.includes(item)) list.push(item);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
