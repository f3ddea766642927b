import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configOf, warningText } from './helpers.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
  writeFileSync(join(dir, 'berth.yaml'), 'name: from-file\nheartbeat-interval: 50\nelection-timeout: 500\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('environment variables set flags (ETCD_ prefix)', () => {
  const { config: c, warnings } = configOf([], { ETCD_NAME: 'envname', ETCD_HEARTBEAT_INTERVAL: '200', ETCD_ELECTION_TIMEOUT: '2000' });
  assert.equal(c.name, 'envname');
  assert.equal(c.heartbeatIntervalMs, 200);
  assert.equal(c.electionTimeoutMs, 2000);
  assert.deepEqual(warnings, []);
  assert.deepEqual(c.explicitlySet, ['election-timeout', 'heartbeat-interval', 'name']);
});

test('BERTH_ aliases work and win over ETCD_ with a warning when they differ', () => {
  assert.equal(configOf([], { BERTH_NAME: 'b' }).config.name, 'b');
  const r = configOf([], { BERTH_NAME: 'b', ETCD_NAME: 'e' });
  assert.equal(r.config.name, 'b');
  assert.match(warningText(r.warnings), /BERTH_NAME overrides ETCD_NAME/);
  assert.deepEqual(configOf([], { BERTH_NAME: 'same', ETCD_NAME: 'same' }).warnings, []);
});

test('flags override environment variables, with a warning', () => {
  const r = configOf(['--name=flag'], { ETCD_NAME: 'env' });
  assert.equal(r.config.name, 'flag');
  assert.match(warningText(r.warnings), /ETCD_NAME is shadowed by command-line flag --name/);
});

test('empty environment values are ignored', () => {
  assert.equal(configOf([], { ETCD_NAME: '' }).config.name, 'default');
});

test('unrecognized ETCD_/BERTH_ variables and ETCD_VERSION are warned about, not fatal', () => {
  const r = configOf([], { ETCD_NOT_A_FLAG: '1', BERTH_ALSO_NOT: 'x', ETCD_VERSION: '1', ETCDCTL_API: '3', PATH: '/bin' });
  const text = warningText(r.warnings);
  assert.match(text, /unrecognized environment variable ETCD_NOT_A_FLAG/);
  assert.match(text, /unrecognized environment variable BERTH_ALSO_NOT/);
  assert.match(text, /cannot set special environment variable ETCD_VERSION/);
  assert.doesNotMatch(text, /ETCDCTL_API|PATH/);
});

test('env sets a legacy flag: warned and ignored', () => {
  assert.match(warningText(configOf([], { ETCD_DEBUG: 'true' }).warnings), /legacy flag --debug/);
});

test('env listen-client-urls counts as explicit: advertise-client-urls is then required', () => {
  const e = errorOfEnv({ ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379' });
  assert.equal(e.flag, 'advertise-client-urls');
});

test('--config-file wins: other flags and env vars are ignored with one warning', () => {
  const r = configOf([`--config-file=${join(dir, 'berth.yaml')}`, '--name=flagname', '--heartbeat-interval=10'], {
    ETCD_NAME: 'envname',
    ETCD_SNAPSHOT_COUNT: '5',
  });
  assert.equal(r.config.name, 'from-file');
  assert.equal(r.config.heartbeatIntervalMs, 50);
  assert.equal(r.config.snapshotCount, 100000);
  assert.equal(r.config.configFile, join(dir, 'berth.yaml'));
  assert.deepEqual(r.config.explicitlySet, ['election-timeout', 'heartbeat-interval', 'name']);
  const text = warningText(r.warnings);
  assert.match(text, /other flags and environment variables are ignored \(--name, --heartbeat-interval, ETCD_NAME, ETCD_SNAPSHOT_COUNT\)/);
});

test('ETCD_CONFIG_FILE (and BERTH_CONFIG_FILE) name the config file too, relative to cwd', () => {
  assert.equal(configOf([], { ETCD_CONFIG_FILE: 'berth.yaml', ETCD_NAME: 'x' }, dir).config.name, 'from-file');
  assert.equal(configOf([], { BERTH_CONFIG_FILE: 'berth.yaml' }, dir).config.name, 'from-file');
});

test('invalid flag values still fail when a config file is given (flags are parsed first)', () => {
  const e = errorOf([`--config-file=${join(dir, 'berth.yaml')}`, '--heartbeat-interval=abc']);
  assert.equal(e.flag, 'heartbeat-interval');
});

test('repeated flag: the last value wins', () => {
  assert.equal(configOf(['--name=a', '--name=b']).config.name, 'b');
});

import { errorOf } from './helpers.js';
function errorOfEnv(env: Record<string, string>) {
  return errorOf([], env);
}

test("berth's process-level variables (failpoints, BERTH_TEST_*) are not reported as unknown flags", () => {
  const r = configOf([], { BERTH_FAILPOINTS: 'x=panic', BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS: '100', ETCD_TEST_SOMETHING: '1' });
  const text = warningText(r.warnings);
  assert.doesNotMatch(text, /BERTH_FAILPOINTS|BERTH_TEST_/);
  // only berth's own prefix is exempt
  assert.match(text, /unrecognized environment variable ETCD_TEST_SOMETHING/);
});
