import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configOf, errorOf, warningText } from './helpers.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-config-file-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(yaml: string): string {
  const p = join(dir, `c${n++}.yaml`);
  writeFileSync(p, yaml);
  return p;
}

const FULL = `
name: infra1
data-dir: /var/lib/berth
wal-dir: wal
snapshot-count: 5000
heartbeat-interval: 200
election-timeout: 2000
quota-backend-bytes: 8589934592
listen-peer-urls: https://10.0.0.1:2380
listen-client-urls: https://10.0.0.1:2379,https://127.0.0.1:2379
initial-advertise-peer-urls: https://10.0.0.1:2380
advertise-client-urls: https://10.0.0.1:2379
initial-cluster: infra1=https://10.0.0.1:2380,infra2=https://10.0.0.2:2380,infra3=https://10.0.0.3:2380
initial-cluster-token: tkn
initial-cluster-state: existing
max-request-bytes: 10485760
grpc-keepalive-min-time: 10000000000
grpc-keepalive-interval: 1h
auto-compaction-mode: revision
auto-compaction-retention: "1000"
client-transport-security:
  cert-file: /certs/server.crt
  key-file: /certs/server.key
  client-cert-auth: true
  trusted-ca-file: /certs/ca.crt
  auto-tls: false
  allowed-hostname: [a.example, b.example]
peer-transport-security:
  cert-file: /certs/peer.crt
  key-file: /certs/peer.key
  client-cert-auth: true
  trusted-ca-file: /certs/ca.crt
  allowed-cn: [etcd-peer]
socket-options:
  reuse-port: true
log-level: debug
log-outputs: [stdout]
logger: zap
cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
experimental-watch-progress-notify-interval: 5s
experimental-snapshot-catch-up-entries: 100
emulated-etcd-version: 3.5.21
lease-reads: true
`;

test('a full etcd-style config file', () => {
  const p = file(FULL);
  const { config: c, warnings } = configOf([`--config-file=${p}`]);
  assert.deepEqual(warnings, []);
  assert.equal(c.name, 'infra1');
  assert.equal(c.dataDir, '/var/lib/berth');
  assert.equal(c.walDir, '/srv/berth-test/wal');
  assert.equal(c.snapshotCount, 5000);
  assert.equal(c.heartbeatIntervalMs, 200);
  assert.equal(c.electionTimeoutMs, 2000);
  assert.equal(c.quotaBackendBytes, 8 * 1024 ** 3);
  assert.deepEqual(c.listenClientUrls.map((u) => u.url), ['https://10.0.0.1:2379', 'https://127.0.0.1:2379']);
  assert.deepEqual(c.initialCluster.map((m) => m.name), ['infra1', 'infra2', 'infra3']);
  assert.equal(c.initialClusterToken, 'tkn');
  assert.equal(c.initialClusterState, 'existing');
  assert.equal(c.maxRequestBytes, 10485760);
  assert.equal(c.grpcKeepaliveMinTimeMs, 10_000, 'integer durations are nanoseconds, as in etcd files');
  assert.equal(c.grpcKeepaliveIntervalMs, 3_600_000);
  assert.deepEqual(c.autoCompaction, { mode: 'revision', retentionRevisions: 1000 });
  assert.equal(c.clientTls.certFile, '/certs/server.crt');
  assert.equal(c.clientTls.clientCertAuth, true);
  assert.deepEqual(c.clientTls.allowedHostnames, ['a.example', 'b.example']);
  assert.equal(c.peerTls.keyFile, '/certs/peer.key');
  assert.deepEqual(c.peerTls.allowedCns, ['etcd-peer']);
  assert.equal(c.socketReusePort, true);
  assert.equal(c.logLevel, 'debug');
  assert.deepEqual(c.logOutputs, ['stdout']);
  assert.equal(c.cipherSuites.length, 2);
  assert.equal(c.watchProgressNotifyIntervalMs, 5000);
  assert.equal(c.snapshotCatchupEntries, 100);
  assert.equal(c.emulatedEtcdVersion, '3.5.21');
  assert.equal(c.leaseReads, true);
});

test('in a config file, listen-client-urls alone keeps the default advertise URL (etcd rule)', () => {
  const p = file('listen-client-urls: http://127.0.0.1:2379\n');
  assert.deepEqual(configOf([`--config-file=${p}`]).config.advertiseClientUrls.map((u) => u.url), [
    'http://localhost:2379',
  ]);
});

test('an empty file means all defaults; null values are unset', () => {
  assert.equal(configOf([`--config-file=${file('')}`]).config.name, 'default');
  assert.equal(configOf([`--config-file=${file('name: ~\n')}`]).config.name, 'default');
  assert.equal(configOf([`--config-file=${file('initial-cluster-state: ""\n')}`]).config.initialClusterState, 'new');
});

test('unknown and legacy keys are warnings', () => {
  const text = warningText(
    configOf([`--config-file=${file('nmae: typo\nlog-package-levels: x\nclient-transport-security:\n  nope: 1\nversion: true\n')}`])
      .warnings,
  );
  assert.match(text, /unknown key "nmae"/);
  assert.match(text, /legacy option "log-package-levels"/);
  assert.match(text, /unknown key "client-transport-security.nope"/);
  assert.match(text, /key "version" has no meaning in a config file/);
});

test('rejects: missing file', () => {
  const e = errorOf([`--config-file=${join(dir, 'absent.yaml')}`]);
  assert.equal(e.flag, 'config-file');
  assert.match(e.message, /cannot read config file .*absent\.yaml: ENOENT/);
});

test('rejects: invalid YAML', () => {
  const e = errorOf([`--config-file=${file('name: [unclosed\n')}`]);
  assert.equal(e.flag, 'config-file');
  assert.match(e.message, /^berth: invalid config file /);
});

test('rejects: top level not a mapping', () => {
  assert.match(errorOf([`--config-file=${file('- a\n- b\n')}`]).message, /expected a mapping of keys to values/);
});

test('rejects: TLS section not a mapping', () => {
  const e = errorOf([`--config-file=${file('client-transport-security: yes-please\n')}`]);
  assert.equal(e.flag, 'client-transport-security');
  assert.match(e.message, /expected a mapping/);
});

test('rejects: wrong YAML type for a key', () => {
  const e = errorOf([`--config-file=${file('heartbeat-interval:\n  ms: 100\n')}`]);
  assert.equal(e.flag, 'heartbeat-interval');
  assert.match(e.message, /for key "heartbeat-interval" in config file .*: expected an integer/);
});

test('rejects: invalid value in a file names the key and file', () => {
  const p = file('election-timeout: soon\n');
  const e = errorOf([`--config-file=${p}`]);
  assert.equal(e.message, `berth: invalid value "soon" for key "election-timeout" in config file ${p}: expected a non-negative integer`);
});

test('rejects: invalid nested TLS value names the dotted key', () => {
  const e = errorOf([`--config-file=${file('peer-transport-security:\n  client-cert-auth: maybe\n')}`]);
  assert.equal(e.flag, 'peer-client-cert-auth');
  assert.match(e.message, /key "peer-transport-security.client-cert-auth"/);
});

test('rejects: cross-field rules apply to files too', () => {
  const e = errorOf([`--config-file=${file('heartbeat-interval: 500\nelection-timeout: 1000\n')}`]);
  assert.equal(e.flag, 'election-timeout');
});

test('rejects: unsupported discovery in a file', () => {
  assert.equal(errorOf([`--config-file=${file('discovery-srv: example.com\n')}`]).flag, 'discovery-srv');
});
