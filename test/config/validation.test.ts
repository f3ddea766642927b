import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf } from './helpers.js';

/**
 * Every way a configuration is rejected, one case each: the flag the error names and the one line
 * printed. `argv` is what the user typed; env is optional.
 */
interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly flag: string;
  readonly message: RegExp;
}

const LC = ['--listen-client-urls=http://127.0.0.1:2379', '--advertise-client-urls=http://127.0.0.1:2379'];

const CASES: readonly Case[] = [
  // command-line syntax
  { name: 'positional argument', argv: ['start'], flag: 'start', message: /^berth: "start" is not a valid flag$/ },
  { name: 'argument after --', argv: ['--', 'x'], flag: 'x', message: /"x" is not a valid flag/ },
  { name: 'bad flag syntax', argv: ['---name=x'], flag: '-name=x', message: /bad flag syntax: ---name=x/ },
  { name: 'unknown flag', argv: ['--no-such-flag'], flag: 'no-such-flag', message: /^berth: unknown flag --no-such-flag/ },
  { name: 'missing argument', argv: ['--name'], flag: 'name', message: /^berth: flag needs an argument: --name$/ },

  // value types
  {
    name: 'uint not a number',
    argv: ['--heartbeat-interval', 'abc'],
    flag: 'heartbeat-interval',
    message: /^berth: invalid value "abc" for flag --heartbeat-interval: expected a non-negative integer$/,
  },
  { name: 'uint negative', argv: ['--max-txn-ops=-1'], flag: 'max-txn-ops', message: /non-negative integer/ },
  { name: 'int not a number', argv: ['--quota-backend-bytes=2GB'], flag: 'quota-backend-bytes', message: /"2GB".*expected an integer/ },
  { name: 'int out of range', argv: ['--quota-backend-bytes=99999999999999999999'], flag: 'quota-backend-bytes', message: /out of range/ },
  { name: 'bool', argv: ['--pre-vote=yes'], flag: 'pre-vote', message: /"yes" for flag --pre-vote: expected true or false/ },
  { name: 'duration without unit', argv: ['--grpc-keepalive-min-time=5'], flag: 'grpc-keepalive-min-time', message: /expected a duration/ },
  { name: 'duration unknown unit', argv: ['--grpc-keepalive-timeout=5d'], flag: 'grpc-keepalive-timeout', message: /expected a duration/ },
  { name: 'enum initial-cluster-state', argv: ['--initial-cluster-state=old'], flag: 'initial-cluster-state', message: /valid values are "new", "existing"/ },
  { name: 'enum auto-compaction-mode', argv: ['--auto-compaction-mode=daily'], flag: 'auto-compaction-mode', message: /valid values are "periodic", "revision"/ },
  { name: 'enum metrics', argv: ['--metrics=all'], flag: 'metrics', message: /valid values are "basic", "extensive"/ },
  { name: 'enum tls-min-version', argv: ['--tls-min-version=TLS1.1'], flag: 'tls-min-version', message: /valid values/ },
  { name: 'enum tls-max-version', argv: ['--tls-max-version=SSL3'], flag: 'tls-max-version', message: /valid values/ },
  { name: 'enum discovery-fallback', argv: ['--discovery-fallback=retry'], flag: 'discovery-fallback', message: /valid values/ },
  { name: 'enum v2-deprecation', argv: ['--v2-deprecation=now'], flag: 'v2-deprecation', message: /valid values/ },
  { name: 'enum backend freelist', argv: ['--backend-bbolt-freelist-type=tree'], flag: 'backend-bbolt-freelist-type', message: /valid values/ },

  // URLs
  { name: 'URL scheme', argv: ['--listen-peer-urls=ftp://127.0.0.1:2380'], flag: 'listen-peer-urls', message: /URL scheme must be http, https, unix, or unixs/ },
  { name: 'URL without port', argv: ['--listen-peer-urls=http://127.0.0.1'], flag: 'listen-peer-urls', message: /does not have the form "host:port"/ },
  { name: 'URL with path', argv: ['--initial-advertise-peer-urls=http://10.0.0.1:2380/x'], flag: 'initial-advertise-peer-urls', message: /must not contain a path/ },
  { name: 'URL list with an empty item', argv: ['--listen-metrics-urls=http://127.0.0.1:2381,'], flag: 'listen-metrics-urls', message: /URL scheme/ },
  { name: 'URL not a URL', argv: ['--advertise-client-urls=localhost:2379'], flag: 'advertise-client-urls', message: /URL scheme/ },
  { name: 'listen-peer-urls binds a hostname', argv: ['--listen-peer-urls=http://example.com:2380'], flag: 'listen-peer-urls', message: /expected IP in URL for binding/ },
  { name: 'listen-client-urls binds a hostname', argv: ['--listen-client-urls=http://example.com:2379', '--advertise-client-urls=http://a:1'], flag: 'listen-client-urls', message: /expected IP in URL for binding/ },
  { name: 'listen-client-http-urls binds a hostname', argv: ['--listen-client-http-urls=http://example.com:2382'], flag: 'listen-client-http-urls', message: /expected IP/ },
  { name: 'listen-metrics-urls binds a hostname', argv: ['--listen-metrics-urls=http://example.com:2381'], flag: 'listen-metrics-urls', message: /expected IP/ },
  { name: 'advertised URL without host', argv: ['--advertise-client-urls=http://:2379'], flag: 'advertise-client-urls', message: /unexpected empty host/ },
  { name: 'advertised peer URL without host', argv: ['--initial-advertise-peer-urls=http://:2380'], flag: 'initial-advertise-peer-urls', message: /unexpected empty host/ },
  { name: 'empty listen-peer-urls', argv: ['--listen-peer-urls='], flag: 'listen-peer-urls', message: /no valid URLs given/ },
  { name: 'empty listen-client-urls', argv: ['--listen-client-urls=', '--advertise-client-urls=http://a:1'], flag: 'listen-client-urls', message: /no valid URLs given/ },
  { name: 'empty initial-advertise-peer-urls', argv: ['--initial-advertise-peer-urls='], flag: 'initial-advertise-peer-urls', message: /no valid URLs given/ },
  { name: 'empty advertise-client-urls', argv: ['--advertise-client-urls='], flag: 'advertise-client-urls', message: /no valid URLs given/ },
  {
    name: 'listen-client-urls without advertise-client-urls',
    argv: ['--listen-client-urls=http://127.0.0.1:2379'],
    flag: 'advertise-client-urls',
    message: /^berth: invalid flag --advertise-client-urls: required when --listen-client-urls is set explicitly$/,
  },

  // raft timing
  { name: 'heartbeat 0', argv: ['--heartbeat-interval=0'], flag: 'heartbeat-interval', message: /must be > 0/ },
  { name: 'election 0', argv: ['--election-timeout=0'], flag: 'election-timeout', message: /must be > 0/ },
  {
    name: 'election below 5x heartbeat',
    argv: ['--heartbeat-interval=100', '--election-timeout=499'],
    flag: 'election-timeout',
    message: /499ms must be at least 5 times --heartbeat-interval \(100ms\)/,
  },
  { name: 'election above 50s', argv: ['--heartbeat-interval=1000', '--election-timeout=50001'], flag: 'election-timeout', message: /at most 50000ms/ },

  // compaction, leases, checks
  { name: 'auto-compaction-retention garbage', argv: ['--auto-compaction-retention=soon'], flag: 'auto-compaction-retention', message: /expected an integer or a duration/ },
  { name: 'auto-compaction-retention negative', argv: ['--auto-compaction-retention=-1h'], flag: 'auto-compaction-retention', message: /must not be negative/ },
  {
    name: 'auto-compaction duration in revision mode',
    argv: ['--auto-compaction-mode=revision', '--auto-compaction-retention=1h'],
    flag: 'auto-compaction-retention',
    message: /only valid with --auto-compaction-mode=periodic/,
  },
  {
    name: 'lease checkpoint persist without checkpoint',
    argv: ['--experimental-enable-lease-checkpoint-persist'],
    flag: 'experimental-enable-lease-checkpoint-persist',
    message: /requires --experimental-enable-lease-checkpoint/,
  },
  { name: 'compact hash check time 0', argv: ['--experimental-compact-hash-check-time=0s'], flag: 'experimental-compact-hash-check-time', message: /must be > 0/ },

  // TLS
  { name: 'tls min above max', argv: ['--tls-min-version=TLS1.3', '--tls-max-version=TLS1.2'], flag: 'tls-min-version', message: /TLS1.3 is greater than --tls-max-version TLS1.2/ },
  { name: 'unknown cipher suite', argv: ['--cipher-suites=TLS_FAKE'], flag: 'cipher-suites', message: /unknown TLS cipher suite "TLS_FAKE"/ },
  {
    name: 'cipher suites with TLS1.3 only',
    argv: ['--tls-min-version=TLS1.3', '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
    flag: 'cipher-suites',
    message: /only TLS1.3 is enabled/,
  },

  // tracing, auth, limits, berth
  {
    name: 'tracing sampling rate',
    argv: ['--experimental-enable-distributed-tracing', '--experimental-distributed-tracing-sampling-rate=2000000'],
    flag: 'experimental-distributed-tracing-sampling-rate',
    message: /between 0 and 1000000/,
  },
  { name: 'auth token type', argv: ['--auth-token=oauth'], flag: 'auth-token', message: /unknown token type/ },
  { name: 'auth token option', argv: ['--auth-token=jwt,pub-key'], flag: 'auth-token', message: /key=value/ },
  { name: 'max-concurrent-streams above uint32', argv: ['--max-concurrent-streams=4294967296'], flag: 'max-concurrent-streams', message: /at most 4294967295/ },
  { name: 'emulated version', argv: ['--emulated-etcd-version=v3.5'], flag: 'emulated-etcd-version', message: /expected an etcd 3.x.y version/ },

  // logging
  { name: 'logger capnslog', argv: ['--logger=capnslog'], flag: 'logger', message: /capnslog was removed in etcd 3.5/ },
  { name: 'logger unknown', argv: ['--logger=logrus'], flag: 'logger', message: /only "zap" is supported/ },
  { name: 'log level', argv: ['--log-level=verbose'], flag: 'log-level', message: /"verbose" for flag --log-level: expected debug, info/ },
  { name: 'log outputs default plus file', argv: ['--log-outputs=default,/tmp/x.log'], flag: 'log-outputs', message: /"default" cannot be combined/ },

  // unsupported
  { name: 'discovery', argv: ['--discovery=https://discovery.etcd.io/abc'], flag: 'discovery', message: /discovery is not supported by berth/ },
  { name: 'discovery-srv', argv: ['--discovery-srv=example.com'], flag: 'discovery-srv', message: /DNS discovery is not supported/ },
  { name: 'discovery-srv-name', argv: ['--discovery-srv-name=x'], flag: 'discovery-srv-name', message: /DNS discovery is not supported/ },
  { name: 'discovery-proxy', argv: ['--discovery-proxy=http://p:1'], flag: 'discovery-proxy', message: /discovery is not supported/ },
  { name: 'proxy on', argv: ['--proxy=on'], flag: 'proxy', message: /v2 proxy is not supported/ },

  // initial cluster
  { name: 'initial cluster entry without =', argv: ['--initial-cluster=default'], flag: 'initial-cluster', message: /expected name=url/ },
  { name: 'initial cluster bad URL', argv: ['--initial-cluster=default=localhost:2380'], flag: 'initial-cluster', message: /URL scheme/ },
  { name: 'initial cluster empty', argv: ['--initial-cluster='], flag: 'initial-cluster', message: /initial cluster is empty/ },
  {
    name: 'initial cluster without this member',
    argv: ['--name=n1', '--initial-cluster=n2=http://localhost:2380'],
    flag: 'initial-cluster',
    message: /couldn't find local name "n1" in the initial cluster configuration/,
  },
  {
    name: 'initial cluster duplicate URL',
    argv: ['--initial-cluster=default=http://localhost:2380,other=http://localhost:2380'],
    flag: 'initial-cluster',
    message: /duplicate url http:\/\/localhost:2380/,
  },
  {
    name: 'initial cluster URL not advertised',
    argv: ['--initial-cluster=default=http://localhost:2380,default=http://127.0.0.1:2380'],
    flag: 'initial-cluster',
    message: /has default=http:\/\/127.0.0.1:2380 but missing from --initial-advertise-peer-urls=http:\/\/localhost:2380/,
  },
  {
    name: 'advertised peer URL not in initial cluster',
    argv: ['--initial-advertise-peer-urls=http://localhost:2380,http://127.0.0.1:2380'],
    flag: 'initial-cluster',
    message: /--initial-advertise-peer-urls has http:\/\/127.0.0.1:2380 but missing from --initial-cluster/,
  },

  // environment
  {
    name: 'invalid environment value names variable and flag',
    argv: [],
    env: { ETCD_ELECTION_TIMEOUT: 'long' },
    flag: 'election-timeout',
    message: /^berth: invalid value "long" for ETCD_ELECTION_TIMEOUT \(flag --election-timeout\): expected a non-negative integer$/,
  },
];

for (const c of CASES) {
  test(`rejects: ${c.name}`, () => {
    const e = errorOf([...c.argv], c.env ?? {});
    assert.equal(e.flag, c.flag, e.message);
    assert.match(e.message, c.message);
  });
}

test('a valid cluster of three passes the same checks', () => {
  errorFree([
    '--name=n2',
    '--initial-cluster=n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380',
    '--initial-advertise-peer-urls=http://10.0.0.2:2380',
    '--listen-peer-urls=http://10.0.0.2:2380',
    ...LC,
  ]);
});

test('joining an existing cluster does not require advertise URLs to match (etcd rule)', () => {
  errorFree(['--initial-cluster-state=existing', '--initial-cluster=default=http://10.0.0.9:2380']);
});

import { configOf } from './helpers.js';
function errorFree(argv: string[]): void {
  assert.ok(configOf(argv).config);
}
