/**
 * Runs berthctl as a real process (the built CLI under dist/, else the TypeScript through tsx),
 * bounded in time, with the same result shape as the etcdctl helper so outputs can be compared.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type EtcdctlOptions, type EtcdctlResult } from './etcdctl.js';

function berthctlCommand(): { cmd: string; args: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = resolve(here, '../../../cmd/berthctl/main.js');
  if (existsSync(js)) return { cmd: process.execPath, args: [js] };
  return { cmd: process.execPath, args: ['--import', 'tsx', resolve(here, '../../../cmd/berthctl/main.ts')] };
}

/** Environment without ETCDCTL_* settings (except the API) and proxies. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(https?|grpc|all|no)_proxy$/i.test(k) || k.startsWith('ETCDCTL_')) delete env[k];
  }
  return env;
}

/** Runs `berthctl <args>` to completion (or until the timeout kills it). */
export async function berthctl(args: readonly string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const { cmd, args: pre } = berthctlCommand();
  return runCli(cmd, [...pre, ...args], childEnv(), opts, 30_000);
}

/**
 * Runs a berthctl command that never ends by itself (watch) until stdout holds `lines` lines, then
 * SIGTERMs it. Resolves with what it printed; rejects if the lines do not come within the timeout.
 */
export async function berthctlUntilLines(args: readonly string[], lines: number, opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const { cmd, args: pre } = berthctlCommand();
  const child = spawn(cmd, [...pre, ...args], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let enough = false;
  const count = (s: string): number => s.split('\n').length - 1;
  const check = (): void => {
    if (!enough && count(stdout) >= lines && count(stderr) >= (opts.stderrLines ?? 0)) {
      enough = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    check();
  });
  child.stdin.on('error', () => undefined);
  child.stdin.write(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (!enough) throw new Error(`berthctl ${args.join(' ')}: wanted ${lines} lines, got (exit ${code ?? signal}):\n${stdout}\n${stderr}`);
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}
