import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CWD, configOf } from './helpers.js';

test('no flags: etcd defaults, data dir default.berth under cwd', () => {
  const { config: c, warnings } = configOf([]);
  assert.deepEqual(warnings, []);
  assert.equal(c.name, 'default');
  assert.equal(c.dataDir, `${CWD}/default.berth`);
  assert.equal(c.walDir, '');
  assert.deepEqual(c.listenClientUrls.map((u) => u.url), ['http://localhost:2379']);
  assert.deepEqual(c.advertiseClientUrls.map((u) => u.url), ['http://localhost:2379']);
  assert.deepEqual(c.listenPeerUrls.map((u) => u.url), ['http://localhost:2380']);
  assert.deepEqual(c.initialAdvertisePeerUrls.map((u) => u.url), ['http://localhost:2380']);
  assert.deepEqual(c.initialCluster, [{ name: 'default', peerUrls: ['http://localhost:2380'] }]);
  assert.equal(c.initialClusterState, 'new');
  assert.equal(c.initialClusterToken, 'etcd-cluster');
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.equal(c.electionTimeoutMs, 1000);
  assert.equal(c.snapshotCount, 100000);
  assert.equal(c.quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(c.maxRequestBytes, 1.5 * 1024 * 1024);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.logOutputs, ['stderr']);
  assert.equal(c.logger, 'zap');
  assert.equal(c.grpcKeepaliveMinTimeMs, 5000);
  assert.equal(c.grpcKeepaliveIntervalMs, 2 * 3600 * 1000);
  assert.equal(c.grpcKeepaliveTimeoutMs, 20000);
  assert.equal(c.strictReconfigCheck, true);
  assert.equal(c.preVote, true);
  assert.deepEqual(c.autoCompaction, { mode: 'off' });
  assert.equal(c.authTokenType, 'simple');
  assert.equal(c.bcryptCost, 10);
  assert.equal(c.authTokenTtlSeconds, 300);
  assert.equal(c.metrics, 'basic');
  assert.equal(c.tlsMinVersion, 'TLS1.2');
  assert.deepEqual(c.cors, ['*']);
  assert.equal(c.watchProgressNotifyIntervalMs, 10 * 60 * 1000);
  assert.equal(c.compactHashCheckTimeMs, 60_000);
  assert.equal(c.emulatedEtcdVersion, '3.5.17');
  assert.equal(c.leaseReads, false);
  assert.equal(c.configFile, '');
  assert.deepEqual(c.explicitlySet, []);
});

test('the config is deeply frozen', () => {
  const { config: c } = configOf([]);
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.listenClientUrls));
  assert.ok(Object.isFrozen(c.listenClientUrls[0]));
  assert.ok(Object.isFrozen(c.clientTls));
  assert.ok(Object.isFrozen(c.initialCluster[0]?.peerUrls));
});

test('--name alone renames the default initial cluster and data dir (etcd rule)', () => {
  const { config: c } = configOf(['--name', 'infra1']);
  assert.deepEqual(c.initialCluster, [{ name: 'infra1', peerUrls: ['http://localhost:2380'] }]);
  assert.equal(c.dataDir, `${CWD}/infra1.berth`);
});

test('an initial cluster explicitly set to the default value still follows --name (etcd compares values)', () => {
  const { config: c } = configOf(['--name=n9', '--initial-cluster=default=http://localhost:2380']);
  assert.deepEqual(c.initialCluster, [{ name: 'n9', peerUrls: ['http://localhost:2380'] }]);
});

test('--name with custom advertise peer URLs derives the initial cluster from them', () => {
  const { config: c } = configOf([
    '--name=n1',
    '--initial-advertise-peer-urls=http://127.0.0.1:12380,http://10.0.0.1:12380',
    '--listen-peer-urls=http://127.0.0.1:12380',
  ]);
  assert.deepEqual(c.initialCluster, [{ name: 'n1', peerUrls: ['http://10.0.0.1:12380', 'http://127.0.0.1:12380'] }]);
});

test('quota: 0 means 2 GiB, negative disables, large warns', () => {
  assert.equal(configOf(['--quota-backend-bytes=0']).config.quotaBackendBytes, 2 * 1024 ** 3);
  assert.equal(configOf(['--quota-backend-bytes=-1']).config.quotaBackendBytes, null);
  const big = configOf(['--quota-backend-bytes=17179869184']);
  assert.equal(big.config.quotaBackendBytes, 16 * 1024 ** 3);
  assert.match(big.warnings.map((w) => w.message).join(), /suggested maximum/);
});

test('snapshot-count 0 means the default; bcrypt cost out of range falls back to 10 with a warning', () => {
  assert.equal(configOf(['--snapshot-count=0']).config.snapshotCount, 100000);
  const r = configOf(['--bcrypt-cost=3']);
  assert.equal(r.config.bcryptCost, 10);
  assert.match(r.warnings[0]?.message ?? '', /bcrypt cost 3/);
});

test('auto compaction: hours, durations and revisions', () => {
  assert.deepEqual(configOf(['--auto-compaction-retention=1']).config.autoCompaction, {
    mode: 'periodic',
    retentionMs: 3_600_000,
  });
  assert.deepEqual(configOf(['--auto-compaction-retention=5m']).config.autoCompaction, {
    mode: 'periodic',
    retentionMs: 300_000,
  });
  assert.deepEqual(
    configOf(['--auto-compaction-mode=revision', '--auto-compaction-retention=1000']).config.autoCompaction,
    { mode: 'revision', retentionRevisions: 1000 },
  );
});

test('paths are resolved against cwd; log outputs map default to stderr', () => {
  const { config: c } = configOf([
    '--data-dir=data',
    '--wal-dir=/wal',
    '--cert-file=certs/server.crt',
    '--log-outputs=stdout,logs/berth.log',
  ]);
  assert.equal(c.dataDir, `${CWD}/data`);
  assert.equal(c.walDir, '/wal');
  assert.equal(c.clientTls.certFile, `${CWD}/certs/server.crt`);
  assert.deepEqual(c.logOutputs, ['stdout', `${CWD}/logs/berth.log`]);
});

test('URLs: IPv6, https, unix sockets, dedup', () => {
  const { config: c } = configOf([
    '--listen-client-urls=https://[::1]:2379,unix://localhost:2379,https://[::1]:2379',
    '--advertise-client-urls=https://[::1]:2379',
  ]);
  assert.deepEqual(
    c.listenClientUrls.map((u) => [u.url, u.scheme, u.host, u.port, u.secure]),
    [
      ['https://[::1]:2379', 'https', '::1', 2379, true],
      ['unix://localhost:2379', 'unix', 'localhost:2379', 0, false],
    ],
  );
});

test('berth-only flags and auth token options', () => {
  const { config: c } = configOf([
    '--emulated-etcd-version=3.6.0',
    '--lease-reads',
    '--auth-token=jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS256',
  ]);
  assert.equal(c.emulatedEtcdVersion, '3.6.0');
  assert.equal(c.leaseReads, true);
  assert.equal(c.authTokenType, 'jwt');
  assert.deepEqual(c.authTokenOptions, { 'pub-key': 'a.pub', 'priv-key': 'a.key', 'sign-method': 'RS256' });
});
