/**
 * Stateful differential scripts: the same command lines, in order, once through the real etcdctl and
 * once through berthctl, each against its own fresh berth server started with the same flags on the
 * same ports (so cluster and member IDs, revisions and terms agree). Each step's exit code, stdout and
 * stderr are recorded after normalisation; the caller compares the two lists.
 */
import { berthctl } from './berthctl.js';
import { etcdctl, type EtcdctlResult } from './etcdctl.js';
import { startServer, type ServerProcess, type StartOptions } from './servers.js';

export type Tool = 'etcdctl' | 'berthctl';

export interface Step {
  readonly args: readonly string[];
  readonly stdin?: string;
}

export interface Observed {
  readonly step: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * What differs between two correct runs and is dropped: the Go client's JSON log lines and the
 * `stty` complaints etcdctl's password prompt prints when stdin is not a terminal (stderr only).
 */
export function dropToolNoise(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith('{"level":') && !l.startsWith('stty: '))
    .join('\n');
}

/** Runs one command line with `tool` against `endpoint` (same timeouts for both tools). */
export function runTool(tool: Tool, endpoint: string, args: readonly string[], stdin?: string): Promise<EtcdctlResult> {
  const opts = stdin === undefined ? {} : { stdin };
  if (tool === 'etcdctl') return etcdctl(endpoint, args, opts);
  return berthctl(['--endpoints', endpoint, '--dial-timeout', '5s', '--command-timeout', '5s', ...args], opts);
}

export interface ScriptRun {
  readonly server: ServerProcess;
  /** Runs and records a step; `fix` normalises this step's command line, stdout and stderr. */
  step(s: Step, fix?: (text: string) => string): Promise<EtcdctlResult>;
  readonly seen: Observed[];
}

/**
 * Starts a fresh berth server with `opts`, hands `body` a recorder bound to `tool`, stops the server.
 * `endpoint` picks the address the tools use (default the server's host:port).
 */
export async function recordScript(
  tool: Tool,
  opts: StartOptions,
  body: (run: ScriptRun) => Promise<void>,
  endpoint: (s: ServerProcess) => string = (s) => s.endpoint,
): Promise<Observed[]> {
  const server = await startServer('berth', opts);
  const seen: Observed[] = [];
  try {
    await body({
      server,
      seen,
      step: async (s, fix = (t) => t) => {
        const r = await runTool(tool, endpoint(server), s.args, s.stdin);
        seen.push({ step: fix(s.args.join(' ')), code: r.code, stdout: fix(r.stdout), stderr: fix(dropToolNoise(r.stderr)) });
        return r;
      },
    });
  } finally {
    await server.stop();
  }
  return seen;
}
