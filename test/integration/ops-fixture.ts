/**
 * Shared by the maintenance/cluster/gateway/metrics integration tests: a real single-member berth on
 * loopback, the real etcdctl (Debian 3.4, ETCDCTL_API=3) and plain HTTP via fetch.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../pkg/config/index.js';
import { createLogger } from '../../pkg/log/index.js';
import { startMember, type RunningMember } from '../../pkg/server/index.js';

export interface TestMember {
  readonly dir: string;
  readonly member: RunningMember;
  /** host:port for etcdctl --endpoints. */
  readonly endpoint: string;
  /** http://host:port */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startTestMember(extraArgs: readonly string[] = [], dataDir?: string): Promise<TestMember> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'berth-ops-'));
  const parsed = parseConfig({
    argv: [
      '--data-dir', dir,
      '--listen-client-urls', 'http://127.0.0.1:0',
      '--advertise-client-urls', 'http://127.0.0.1:2379',
      // Never the default 2380: test files run in parallel.
      '--listen-peer-urls', 'http://127.0.0.1:0',
      '--election-timeout', '500',
      '--heartbeat-interval', '100',
      ...extraArgs,
    ],
    env: {},
    cwd: dir,
  });
  if (!parsed.ok || parsed.kind !== 'config') throw new Error(`bad test config: ${JSON.stringify(parsed)}`);
  const log = createLogger({ level: 'error', outputs: ['stderr'] });
  if (!log.ok) throw new Error(log.message);
  const member = await startMember(parsed.config, log.logger);
  const a = member.clientAddresses[0];
  if (a === undefined) throw new Error('no client address');
  const endpoint = `${a.host}:${a.port}`;
  // Ready = a leader is known and a linearizable read goes through (etcd's /health, alarms aside).
  await waitFor(
    async () =>
      (await fetch(`http://${endpoint}/health?exclude=NOSPACE&exclude=CORRUPT`).catch(() => undefined))?.status === 200 ? true : undefined,
    'a healthy member',
    200,
  );
  return {
    dir,
    member,
    endpoint,
    url: `http://${endpoint}`,
    stop: async () => {
      await member.stop();
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface CmdResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real etcdctl against `endpoint` (bounded by a 20 s timeout). */
export function etcdctl(endpoint: string, args: readonly string[]): Promise<CmdResult> {
  return new Promise((resolve) => {
    execFile(
      'etcdctl',
      ['--endpoints', endpoint, '--dial-timeout', '5s', '--command-timeout', '15s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A free loopback port (for listeners whose address the member does not report). */
export { freePort } from '../../e2e/compat/support/servers.js';

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, tries = 100, everyMs = 50): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** POSTs a JSON body to the gateway; returns status and parsed JSON. */
export async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
export const unb64 = (s: unknown): string => Buffer.from(String(s), 'base64').toString('utf8');
