/**
 * Runs the real etcdctl (Debian package `etcd-client`) against an endpoint, bounded in time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';

export interface EtcdctlResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface EtcdctlOptions {
  /** Written to stdin, which is then closed (txn, interactive prompts). */
  readonly stdin?: string;
  /** Hard bound on the run; the child is killed after it. Default 15 s. */
  readonly timeoutMs?: number;
  /**
   * For etcdctlUntilLines: also wait until stderr has this many lines. stdout and stderr are separate
   * pipes, so a line etcdctl wrote to stderr before the last stdout line may still be in flight.
   */
  readonly stderrLines?: number;
}

const BINARY = process.env['ETCDCTL_BIN'] ?? 'etcdctl';

/** Environment for the child: API v3, and no proxy settings that grpc-go would honour. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ETCDCTL_API: '3' };
  for (const k of Object.keys(env)) {
    if (/^(https?|grpc|all|no)_proxy$/i.test(k) || k.startsWith('ETCDCTL_') && k !== 'ETCDCTL_API') delete env[k];
  }
  return env;
}

/**
 * The etcdctl version line ("etcdctl version: 3.4.23"), or an Error explaining how to install it.
 * Never throws.
 */
export function etcdctlVersion(): string | Error {
  const r = spawnSync(BINARY, ['version'], { env: childEnv(), encoding: 'utf8', timeout: 10_000 });
  if (r.error) {
    return new Error(
      `etcdctl not runnable (${r.error.message}): install the Debian package etcd-client ` +
        '(apt-get install -y etcd-client) or set ETCDCTL_BIN',
    );
  }
  const line = r.stdout.split('\n').find((l) => l.startsWith('etcdctl version:'));
  return line ?? new Error(`etcdctl version printed no version line: ${r.stdout}${r.stderr}`);
}

function baseArgs(endpoint: string): string[] {
  return ['--endpoints', endpoint, '--dial-timeout', '5s', '--command-timeout', '5s'];
}

/** Runs `etcdctl <args>` to completion (or until the timeout kills it). */
export async function etcdctl(endpoint: string, args: readonly string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  return runCli(BINARY, [...baseArgs(endpoint), ...args], childEnv(), opts, 15_000);
}

/** Runs a command-line client to completion (or until `opts.timeoutMs`, else `defaultTimeoutMs`, kills it). */
export async function runCli(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, opts: EtcdctlOptions, defaultTimeoutMs: number): Promise<EtcdctlResult> {
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // The client may exit before reading stdin; the EPIPE that follows is not an error of the test.
  child.stdin.on('error', () => undefined);
  child.stdin.end(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? defaultTimeoutMs);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a command that never ends by itself (watch) until its stdout holds `lines` complete lines, then
 * stops it with SIGTERM and waits for the exit. Rejects if that output does not come within the timeout.
 * stdin stays open until then (interactive watch exits at end of input).
 */
export async function etcdctlUntilLines(
  endpoint: string,
  args: readonly string[],
  lines: number,
  opts: EtcdctlOptions = {},
): Promise<EtcdctlResult> {
  return runCliUntilLines(BINARY, [...baseArgs(endpoint), ...args], childEnv(), lines, opts, 15_000);
}

/** runCli for a command that never ends by itself: SIGTERMed once stdout (and stderr) hold enough lines. */
export async function runCliUntilLines(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  lines: number,
  opts: EtcdctlOptions,
  defaultTimeoutMs: number,
): Promise<EtcdctlResult> {
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let enough = false;
  const count = (s: string): number => s.split('\n').length - 1;
  const check = (): void => {
    if (!enough && count(stdout) >= lines && count(stderr) >= (opts.stderrLines ?? 0)) {
      enough = true;
      child.kill('SIGTERM');
      child.stdin.end();
    }
  };
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    check();
  });
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    check();
  });
  child.stdin.on('error', () => undefined);
  child.stdin.write(opts.stdin ?? '');
  const timer = setTimeout(() => {
    child.stdin.end();
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? defaultTimeoutMs);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (!enough) {
      throw new Error(`${cmd} ${args.join(' ')}: wanted ${lines} lines, got (exit ${code ?? signal}):\n${stdout}\n${stderr}`);
    }
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}
