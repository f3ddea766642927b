/**
 * Runs berthctl as a real process (the built CLI under dist/, else the TypeScript through tsx),
 * bounded in time, with the same result shape as the etcdctl helper so outputs can be compared.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, runCliUntilLines, type EtcdctlOptions, type EtcdctlResult } from './etcdctl.js';

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
  return runCliUntilLines(cmd, [...pre, ...args], childEnv(), lines, opts, 30_000);
}
