import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../cmd/berth/cli.js';
import { FLAGS } from '../../pkg/config/index.js';
import { repoRoot } from '../support/repo-root.js';

const ROOT = repoRoot();

/** Runs the real binary from source, with a clean environment (no inherited ETCD_/BERTH_ variables). */
function berth(args: readonly string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'cmd/berth/main.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('berth --help prints grouped usage with every flag and its default, exit 0', () => {
  const r = berth(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const group of ['Member:', 'Clustering:', 'Security:', 'Auth:', 'Logging:', 'Experimental feature:', 'Unsafe feature:']) {
    assert.match(r.stdout, new RegExp(`^${group}$`, 'm'));
  }
  for (const f of FLAGS) assert.ok(r.stdout.includes(`--${f.name} '`), f.name);
  assert.match(r.stdout, /^ {2}--heartbeat-interval '100' +\S/m);
  assert.match(r.stdout, /^ {2}--data-dir '\$\{name\}\.berth' +\S/m);
});

test('berth --version prints berth, etcd API and Node.js versions, exit 0', () => {
  const r = berth(['--version']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'berth Version: 0.1.0');
  assert.equal(lines[1], 'etcd API compatibility: 3.5.17');
  assert.equal(lines[2], `Node.js Version: ${process.version}`);
});

test('an invalid flag value prints one line to stderr and exits 1, no stack trace', () => {
  const r = berth(['--heartbeat-interval', 'abc']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'berth: invalid value "abc" for flag --heartbeat-interval: expected a non-negative integer\n');
});

test('an unknown flag exits 1 with one line', () => {
  const r = berth(['--no-such-flag']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /unknown flag --no-such-flag/);
});

test('a legacy flag is a logged warning, then startup proceeds to the server', () => {
  // The data dir sits under a regular file, so whatever server is wired in fails fast instead of
  // serving (nothing is created outside the temp dir, no port is bound).
  const tmp = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  try {
    writeFileSync(join(tmp, 'file'), '');
    const r = berth(['--log-package-levels', 'etcdserver=WARNING', '--data-dir', join(tmp, 'file', 'data')], {
      ETCD_NAME: 'cli-test',
    });
    const records = r.stderr
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const warning = records.find((x) => x['msg'] === 'configuration warning');
    assert.ok(warning, r.stderr);
    assert.equal(warning['level'], 'warn');
    assert.equal(warning['flag'], 'log-package-levels');
    const effective = records.find((x) => x['msg'] === 'effective configuration');
    assert.equal((effective?.['config'] as { name?: string } | undefined)?.name, 'cli-test');
    assert.ok(records.some((x) => x['level'] === 'error'), 'the server reports that it cannot start');
    assert.equal(r.code, 1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('runCli in-process: the server receives the config and its exit code is returned', async () => {
  let out = '';
  let err = '';
  let seen = '';
  const code = await runCli({
    argv: ['--name=inproc', '--log-level=error'],
    env: {},
    cwd: '/tmp',
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    start: async (config) => {
      seen = config.name;
      return 7;
    },
  });
  assert.equal(code, 7);
  assert.equal(seen, 'inproc');
  assert.equal(out + err, '');
});

test('runCli: an unopenable log output is a one-line error, exit 1', async () => {
  let err = '';
  const code = await runCli({
    argv: ['--log-outputs=/dev/null/x.log'],
    env: {},
    cwd: '/tmp',
    stdout: { write: () => true },
    stderr: { write: (s: string) => (err += s) },
    start: async () => 0,
  });
  assert.equal(code, 1);
  assert.match(err, /^berth: invalid value for flag --log-outputs: cannot open \/dev\/null\/x\.log: E[A-Z]+\n$/);
});

test('runCli: warnings and the effective config are logged before the server starts', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'berth-cli-log-'));
  try {
    const logFile = join(tmp, 'berth.log');
    let logAtStart = '';
    const code = await runCli({
      argv: ['--debug', `--log-outputs=${logFile}`, '--max-wals=3'],
      env: { ETCD_UNKNOWN_THING: 'x' },
      cwd: tmp,
      stdout: { write: () => true },
      stderr: { write: () => true },
      start: async () => {
        logAtStart = readFileSync(logFile, 'utf8');
        return 0;
      },
    });
    assert.equal(code, 0);
    const records = logAtStart.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const details = records.filter((r) => r['msg'] === 'configuration warning').map((r) => String(r['detail']));
    assert.ok(details.some((d) => d.includes('--debug is a legacy etcd flag')), details.join('|'));
    assert.ok(details.some((d) => d.includes('--max-wals has no effect')));
    assert.ok(details.some((d) => d.includes('unrecognized environment variable ETCD_UNKNOWN_THING')));
    assert.equal(records.at(-1)?.['msg'], 'effective configuration');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
