/**
 * Builds the Go clientv3 program in e2e/compat/go (cached under ~/.cache/berth/compat-go/<hash of
 * the Go sources and toolchain>, the same cache and key as go-client.test.ts) and runs it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '../../../test/support/repo-root.js';

/** The first build downloads the client module from the Go proxy. */
export const BUILD_TIMEOUT_MS = 10 * 60_000;

function goBinary(): string {
  const candidates = [process.env['GO_BIN'], 'go', '/usr/local/go/bin/go'].filter((c): c is string => c !== undefined && c !== '');
  for (const c of candidates) {
    const r = spawnSync(c, ['version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  throw new Error(
    `the Go toolchain is missing: \`go version\` failed for ${candidates.join(', ')}. The Go-client compatibility tests build e2e/compat/go with it; install Go (>= the version in e2e/compat/go/go.mod) or set GO_BIN.`,
  );
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runProgram(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      done({ code, stdout, stderr: stderr + (err !== null && code === null ? err.message : '') });
    });
  });
}

/** The path of the built program (built now unless cached). */
export async function buildGoProgram(): Promise<string> {
  const goDir = join(repoRoot(), 'e2e/compat/go');
  const go = goBinary();
  const hash = createHash('sha256');
  hash.update(spawnSync(go, ['version'], { encoding: 'utf8' }).stdout);
  for (const f of readdirSync(goDir).filter((n) => n === 'go.mod' || n === 'go.sum' || n.endsWith('.go')).sort()) {
    hash.update(f + '\0');
    hash.update(readFileSync(join(goDir, f)));
    hash.update('\0');
  }
  const digest = hash.digest('hex').slice(0, 16);
  const cacheRoot = join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'berth', 'compat-go');
  const bin = join(cacheRoot, digest, 'compat');
  if (existsSync(bin)) return bin;
  mkdirSync(dirname(bin), { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  const started = Date.now();
  const r = await runProgram(go, ['build', '-mod=readonly', '-buildvcs=false', '-o', tmp, '.'], {
    cwd: goDir,
    // GOTOOLCHAIN=local: never download another toolchain; a too-old Go fails with its own message.
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    timeoutMs: BUILD_TIMEOUT_MS,
  });
  if (r.code !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build in ${goDir} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  }
  renameSync(tmp, bin);
  // Binaries of older sources are dead weight.
  for (const d of readdirSync(cacheRoot)) if (d !== digest) rmSync(join(cacheRoot, d), { recursive: true, force: true });
  console.log(`# built ${bin} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return bin;
}

export interface CaseResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** The JSON lines the program prints, by case name. */
export function parseResults(stdout: string): Map<string, CaseResult> {
  const out = new Map<string, CaseResult>();
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const c = JSON.parse(line) as CaseResult;
    out.set(c.name, c);
  }
  return out;
}
