// The official etcd Go client (go.etcd.io/etcd/client/v3) against a real etcd and against berth with
// the same code: e2e/compat/go is a Go program that runs a table of named cases and prints one JSON
// line per case. This test builds it once (cached under ~/.cache/berth/compat-go/<hash of the Go
// sources and toolchain>), runs it against etcd (Debian etcd-server) and then berth, started with the
// same flags, for 1 and 3 members, and reports each case as a sub-test. Every case must pass against
// etcd — a case that does not is itself wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, type Flavor } from './support/servers.js';

interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** The repository root: the nearest ancestor with package.json and the Go program (from e2e/ and dist/e2e/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'e2e/compat/go/go.mod'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('e2e/compat/go/go.mod not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

const GO_DIR = join(repoRoot(), 'e2e/compat/go');
const BUILD_TIMEOUT_MS = 10 * 60_000; // the first build downloads the client module from the Go proxy
const RUN_TIMEOUT_MS = 5 * 60_000;
const CASE_TIMEOUT = '30s';
/** Both servers get the same flags; a short progress-notify interval makes the progress_notify case quick. */
const PROGRESS_NOTIFY_INTERVAL = '1s';
const SERVER_FLAGS = [`--experimental-watch-progress-notify-interval=${PROGRESS_NOTIFY_INTERVAL}`];

/** The go command: $GO_BIN, `go` on PATH, or the machine image's /usr/local/go/bin/go. */
function goBinary(): string {
  const candidates = [process.env['GO_BIN'], 'go', '/usr/local/go/bin/go'].filter((c): c is string => c !== undefined && c !== '');
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  throw new Error(
    'the Go toolchain is missing: `go version` failed for ' + candidates.join(', ') +
      '. The Go-client compatibility test builds e2e/compat/go with it; install Go (>= the version in e2e/compat/go/go.mod) or set GO_BIN.',
  );
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }>((done) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      done({ code, stdout, stderr, ...(err !== null && code === null ? { error: err } : {}) });
    });
  });
}

/** Builds the Go program unless a binary for exactly these sources and this toolchain is cached. */
async function buildGoProgram(): Promise<string> {
  const go = goBinary();
  const hash = createHash('sha256');
  hash.update(spawnSync(go, ['version'], { encoding: 'utf8' }).stdout);
  const files = readdirSync(GO_DIR)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
  for (const f of files) {
    hash.update(f + '\0');
    hash.update(readFileSync(join(GO_DIR, f)));
    hash.update('\0');
  }
  const digest = hash.digest('hex').slice(0, 16);
  const cacheRoot = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'berth', 'compat-go');
  const bin = join(cacheRoot, digest, 'compat');
  if (existsSync(bin)) return bin;

  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  const started = Date.now();
  const r = await run(go, ['build', '-mod=readonly', '-buildvcs=false', '-o', tmp, '.'], {
    cwd: GO_DIR,
    // GOTOOLCHAIN=local: never download another toolchain; a too-old Go fails with its own message.
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  if (r.code !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build in ${GO_DIR} failed (${r.error?.message ?? `exit ${r.code}`}):\n${r.stderr}${r.stdout}`);
  }
  renameSync(tmp, bin);
  // Binaries of older sources are dead weight.
  for (const d of readdirSync(cacheRoot)) if (d !== digest) rmSync(join(cacheRoot, d), { recursive: true, force: true });
  console.log(`# built ${bin} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return bin;
}

/** The case names, in order, as the program declares them. */
async function caseNames(bin: string): Promise<string[]> {
  const r = await run(bin, ['--list'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `${bin} --list failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

interface Run {
  readonly results: Map<string, CaseResult>;
  readonly code: number | null;
  readonly stderr: string;
  readonly serverOutput: string;
}

async function runAgainst(bin: string, flavor: Flavor, members: number): Promise<Run> {
  const cluster = await startCluster(flavor, members, SERVER_FLAGS);
  try {
    const r = await run(
      bin,
      [
        '--endpoints', cluster.endpoints.join(','),
        '--flavor', flavor,
        '--members', String(members),
        '--case-timeout', CASE_TIMEOUT,
        '--progress-notify-interval', PROGRESS_NOTIFY_INTERVAL,
      ],
      { timeoutMs: RUN_TIMEOUT_MS },
    );
    const results = new Map<string, CaseResult>();
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const c = JSON.parse(line) as CaseResult;
      results.set(c.name, c);
    }
    const serverOutput = cluster.members.map((m) => `--- ${m.endpoint}\n${m.output().slice(-4000)}`).join('\n');
    return { results, code: r.code, stderr: (r.error?.message ?? '') + r.stderr, serverOutput };
  } finally {
    await cluster.stop();
  }
}

function describeMissing(flavor: string, run: Run): string {
  return `no result from the Go program against ${flavor} (exit ${run.code}); stderr:\n${run.stderr.slice(-4000)}\nserver output (tail):\n${run.serverOutput}`;
}

let built: Promise<string> | undefined;
const program = () => (built ??= buildGoProgram());

// One test per cluster size; etcd's run comes first, and each case is a sub-test of each flavor.
const TARGETS: readonly { readonly members: number }[] = [{ members: 1 }, { members: 3 }];

for (const { members } of TARGETS) {
  const size = `${members} member${members > 1 ? 's' : ''}`;
  test(`Go clientv3 cases against etcd and berth (${size})`, { timeout: 2 * RUN_TIMEOUT_MS + BUILD_TIMEOUT_MS }, async (t) => {
    const bin = await program();
    const names = await caseNames(bin);
    assert.ok(names.length > 0, 'the Go program declares no case');
    const etcd = await runAgainst(bin, 'etcd', members);
    const berth = await runAgainst(bin, 'berth', members);
    for (const [flavor, r] of [['etcd', etcd], ['berth', berth]] as const) {
      await t.test(flavor, async (ft) => {
        for (const name of names) {
          await ft.test(name, (ct) => {
            const c = r.results.get(name);
            assert.ok(c !== undefined, describeMissing(flavor, r));
            ct.diagnostic(`${c.ms} ms${c.detail === '' ? '' : `: ${c.detail}`}`);
            if (flavor === 'etcd') assert.ok(c.ok, `case fails against real etcd, so the case itself is wrong: ${c.detail}`);
            else assert.ok(c.ok, c.detail);
          });
        }
      });
    }
    // Every case passed yet the program failed: it crashed after its last line.
    for (const [flavor, r] of [['etcd', etcd], ['berth', berth]] as const) {
      if (names.every((n) => r.results.get(n)?.ok === true)) {
        assert.equal(r.code, 0, `the Go program exited ${r.code} against ${flavor} although every case passed:\n${r.stderr}`);
      }
    }
  });
}
