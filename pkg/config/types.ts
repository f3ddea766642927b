/**
 * The one typed, validated, frozen configuration of a berth member. Built only by `parseConfig`;
 * every field already carries etcd's default and passed etcd's validation.
 */
import type { ClusterMember, EndpointUrl } from './urls.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'panic' | 'fatal';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate/key this member presents when it is the client (empty: certFile/keyFile). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly trustedCaFile: string;
  readonly clientCertAuth: boolean;
  readonly autoTls: boolean;
  readonly crlFile: string;
  readonly allowedCns: readonly string[];
  readonly allowedHostnames: readonly string[];
}

export type AutoCompaction =
  | { readonly mode: 'off' }
  | { readonly mode: 'periodic'; readonly retentionMs: number }
  | { readonly mode: 'revision'; readonly retentionRevisions: number };

export interface Config {
  // member
  readonly name: string;
  /** Absolute. Default `${name}.berth` under the working directory. */
  readonly dataDir: string;
  /** Absolute, or '' when the raft log lives inside dataDir. */
  readonly walDir: string;
  readonly snapshotCount: number;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly initialElectionTickAdvance: boolean;
  readonly listenPeerUrls: readonly EndpointUrl[];
  readonly listenClientUrls: readonly EndpointUrl[];
  readonly listenClientHttpUrls: readonly EndpointUrl[];
  readonly listenMetricsUrls: readonly EndpointUrl[];
  /** Effective quota in bytes (0 on the command line means 2 GiB); null when negative (no quota). */
  readonly quotaBackendBytes: number | null;
  readonly maxTxnOps: number;
  readonly maxRequestBytes: number;
  readonly maxConcurrentStreams: number;
  readonly enableGrpcGateway: boolean;
  readonly grpcKeepaliveMinTimeMs: number;
  readonly grpcKeepaliveIntervalMs: number;
  readonly grpcKeepaliveTimeoutMs: number;
  readonly socketReusePort: boolean;
  readonly socketReuseAddress: boolean;

  // clustering
  readonly initialAdvertisePeerUrls: readonly EndpointUrl[];
  readonly advertiseClientUrls: readonly EndpointUrl[];
  readonly initialCluster: readonly ClusterMember[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly strictReconfigCheck: boolean;
  readonly preVote: boolean;
  readonly autoCompaction: AutoCompaction;

  // security
  readonly clientTls: TlsFiles;
  readonly peerTls: TlsFiles;
  readonly peerSkipClientSanVerification: boolean;
  readonly selfSignedCertValidityYears: number;
  readonly cipherSuites: readonly string[];
  readonly tlsMinVersion: 'TLS1.2' | 'TLS1.3';
  readonly tlsMaxVersion: '' | 'TLS1.2' | 'TLS1.3';
  readonly cors: readonly string[];
  readonly hostWhitelist: readonly string[];

  // auth
  /** `simple` or `jwt`; options (pub-key, sign-method, ttl, ...) in authTokenOptions. */
  readonly authTokenType: 'simple' | 'jwt';
  readonly authTokenOptions: Readonly<Record<string, string>>;
  readonly bcryptCost: number;
  readonly authTokenTtlSeconds: number;

  // monitoring and logging
  readonly enablePprof: boolean;
  readonly metrics: 'basic' | 'extensive';
  readonly logger: 'zap';
  readonly logLevel: LogLevel;
  /** `stderr`, `stdout` or absolute file paths ('default' already resolved to stderr). */
  readonly logOutputs: readonly string[];

  // experimental
  readonly initialCorruptCheck: boolean;
  readonly corruptCheckTimeMs: number;
  readonly compactHashCheckEnabled: boolean;
  readonly compactHashCheckTimeMs: number;
  readonly enableLeaseCheckpoint: boolean;
  readonly enableLeaseCheckpointPersist: boolean;
  readonly compactionBatchLimit: number;
  readonly compactionSleepIntervalMs: number;
  readonly watchProgressNotifyIntervalMs: number;
  readonly downgradeCheckTimeMs: number;
  readonly warningApplyDurationMs: number;
  readonly stopGrpcServiceOnDefrag: boolean;
  readonly bootstrapDefragThresholdMegabytes: number;
  readonly snapshotCatchupEntries: number;

  // unsafe
  readonly forceNewCluster: boolean;
  readonly unsafeNoFsync: boolean;

  // berth
  /** Reported as the etcd version (Status, /version); kube needs ≥ 3.5.13 for consistent reads. */
  readonly emulatedEtcdVersion: string;
  readonly leaseReads: boolean;
  /** Absolute path of the config file used, or '' when flags and environment were used. */
  readonly configFile: string;
  /** Flags set explicitly (command line, environment or file), sorted. */
  readonly explicitlySet: readonly string[];
}
