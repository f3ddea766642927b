import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../pkg/config/index.js';
import { configOf, warningText } from './helpers.js';

test('Go flag syntax: single or double dash, = or separate value', () => {
  assert.equal(configOf(['-name', 'a']).config.name, 'a');
  assert.equal(configOf(['--name', 'a']).config.name, 'a');
  assert.equal(configOf(['-name=a']).config.name, 'a');
  assert.equal(configOf(['--initial-cluster-token=a=b']).config.initialClusterToken, 'a=b');
  assert.equal(configOf(['--name', '-dash-name']).config.name, '-dash-name');
});

test('bool flags take no separate value; =false turns them off', () => {
  assert.equal(configOf(['--enable-pprof']).config.enablePprof, true);
  assert.equal(configOf(['--pre-vote=false']).config.preVote, false);
  assert.equal(configOf(['--pre-vote=0']).config.preVote, false);
  assert.equal(configOf(['--client-cert-auth=T']).config.clientTls.clientCertAuth, true);
});

test('-- ends the flags', () => {
  assert.equal(configOf(['--name=a', '--']).config.name, 'a');
});

test('-h, -help and --help return the help text, even after other flags', () => {
  for (const argv of [['-h'], ['--help'], ['-help'], ['--name=x', '--help']]) {
    const r = parseConfig({ argv, env: {}, cwd: '/' });
    assert.ok(r.ok && r.kind === 'help', argv.join(' '));
  }
});

test('--version returns the version text with the emulated etcd version', () => {
  const r = parseConfig({ argv: ['--version'], env: {}, cwd: '/' });
  assert.ok(r.ok && r.kind === 'version');
  assert.match(r.text, /^berth Version: 0\.1\.0\netcd API compatibility: 3\.5\.17\nNode\.js Version: v\d+/);
  const r2 = parseConfig({ argv: ['--version', '--emulated-etcd-version=3.6.1'], env: {}, cwd: '/' });
  assert.ok(r2.ok && r2.kind === 'version' && r2.text.includes('etcd API compatibility: 3.6.1'));
  const r3 = parseConfig({ argv: ['--version'], env: { ETCD_EMULATED_ETCD_VERSION: '3.5.21' }, cwd: '/' });
  assert.ok(r3.ok && r3.kind === 'version' && r3.text.includes('etcd API compatibility: 3.5.21'));
  const r4 = parseConfig({ argv: ['--version=false'], env: {}, cwd: '/' });
  assert.ok(r4.ok && r4.kind === 'config');
});

test('legacy flags are warnings, with or without a value', () => {
  const r = configOf(['--log-package-levels', 'etcdserver=WARNING', '--debug', '--log-output=stderr', '--name=x']);
  assert.equal(r.config.name, 'x');
  const text = warningText(r.warnings);
  assert.match(text, /flag --log-package-levels is a legacy etcd flag that berth ignores/);
  assert.match(text, /flag --debug is a legacy etcd flag/);
  assert.match(text, /flag --log-output is a legacy etcd flag/);
});

test('accepted-but-inert flags warn when set', () => {
  const r = configOf(['--max-wals=10', '--enable-v2', '--experimental-enable-v2v3=/v2', '--discovery-fallback=exit', '--proxy=off']);
  const text = warningText(r.warnings);
  assert.match(text, /flag --max-wals has no effect in berth/);
  assert.match(text, /flag --enable-v2 is deprecated/);
  assert.match(text, /v2 API is not supported by berth; --enable-v2 is ignored/);
  assert.match(text, /--experimental-enable-v2v3 is deprecated/);
  assert.match(text, /--discovery-fallback has no effect/);
  assert.doesNotMatch(text, /--proxy/);
});

test('other warnings: lease checkpoint without persist, unsafe-no-fsync, old emulated version, journald', () => {
  const text = warningText(
    configOf([
      '--experimental-enable-lease-checkpoint',
      '--unsafe-no-fsync',
      '--emulated-etcd-version=3.5.9',
      '--log-outputs=systemd/journal',
    ]).warnings,
  );
  assert.match(text, /without persistence/);
  assert.match(text, /fsync is disabled/);
  assert.match(text, />= 3\.5\.13/);
  assert.match(text, /systemd\/journal output is not supported/);
});
