/**
 * Runs etcd's own `benchmark` tool (built by build-tool.sh from the Go module proxy) and parses its
 * summary: throughput and latency percentiles. Every run is bounded by a wall-clock timeout; a run that
 * is killed or fails yields an error string instead of numbers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/repo-root.js';

export interface ToolSummary {
  readonly requestsPerSec: number;
  readonly totalSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly avgMs: number;
}

export type ToolResult = { readonly ok: true; readonly summary: ToolSummary; readonly wallSec: number } | { readonly ok: false; readonly error: string; readonly wallSec: number };

/** Builds (or finds in the cache) the benchmark binary; throws with the build's output if it fails. */
export function benchmarkBinary(): string {
  const script = join(repoRoot(), 'e2e/bench/build-tool.sh');
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
  const bin = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || bin === '') throw new Error(`build-tool.sh failed (status ${String(r.status)}): ${r.stdout}`);
  return bin;
}

/** Parses one `Summary:` block (the last one if `section` is not given, else the one after that header). */
export function parseSummary(out: string, section?: string): ToolSummary | undefined {
  let text = out;
  if (section !== undefined) {
    const at = out.indexOf(section);
    if (at < 0) return undefined;
    text = out.slice(at);
  }
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  // --precise prints Go's %v of a float64: plain or exponent form (5e-05)
  const f = '([\\d.]+(?:e[-+]?\\d+)?)';
  const rps = num(new RegExp(`Requests/sec:\\s+${f}`));
  const total = num(new RegExp(`Total:\\s+${f} secs`));
  const p50 = num(new RegExp(`\\n\\s*50% in ${f} secs`));
  // the tool prints a percentile only when the run has enough samples for it: NaN then
  const p99 = num(new RegExp(`\\n\\s*99% in ${f} secs`)) ?? NaN;
  const avg = num(new RegExp(`Average:\\s+${f} secs`));
  if (rps === undefined || total === undefined || p50 === undefined || avg === undefined) return undefined;
  return { requestsPerSec: rps, totalSec: total, p50Ms: p50 * 1000, p99Ms: p99 * 1000, avgMs: avg * 1000 };
}

export interface RunToolOptions {
  readonly timeoutMs: number;
  /** Parse the summary after this header (watch-latency prints two). */
  readonly section?: string;
}

/** Runs `benchmark --endpoints … --precise <args>`; the progress bar (stderr) is discarded. */
export async function runTool(bin: string, endpoints: readonly string[], args: readonly string[], o: RunToolOptions): Promise<ToolResult> {
  const started = Date.now();
  const child = spawn(bin, ['--endpoints', endpoints.join(','), '--precise', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errTail = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (errTail = (errTail + d).slice(-2000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutMs);
  // 'close', not 'exit': 'exit' can come before the last stdout chunk is read (watch-latency's
  // second summary was lost that way once in CI)
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(timer);
  const wallSec = (Date.now() - started) / 1000;
  if (timedOut) return { ok: false, error: `timed out after ${String(o.timeoutMs / 1000)} s`, wallSec };
  const summary = parseSummary(out, o.section);
  if (code !== 0 || summary === undefined) {
    const why = (errTail.split(/\r|\n/).filter((l) => l.trim() !== '' && !l.includes('p/s') && !l.includes(' INFO: ')).pop() ?? '').slice(0, 200);
    return { ok: false, error: `exit ${String(code)}${summary === undefined ? ', no summary' : ''}: ${why}`, wallSec };
  }
  return { ok: true, summary, wallSec };
}
