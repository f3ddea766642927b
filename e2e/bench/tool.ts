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

/**
 * Runs one of the Go build scripts next to this file (build-tool.sh, build-etcd.sh: both build-go.sh)
 * and returns the binary's path, built or found in the cache; throws with the build's output if it fails.
 */
export function goBinary(script: 'build-tool.sh' | 'build-etcd.sh'): string {
  const r = spawnSync('bash', [join(repoRoot(), 'e2e/bench', script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000 });
  const bin = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || bin === '') throw new Error(`${script} failed (status ${String(r.status)}): ${r.stdout}`);
  return bin;
}

/** Builds (or finds in the cache) the benchmark binary. */
export function benchmarkBinary(): string {
  return goBinary('build-tool.sh');
}

/** Parses one `Summary:` block (the last one if `section` is not given, else the one after that header). */
export function parseSummary(out: string, section?: string): ToolSummary | undefined {
  let text = out;
  if (section !== undefined) {
    const at = out.indexOf(section);
    if (at < 0) return undefined;
    text = out.slice(at);
  }
  // one summary: up to the next one (watch-latency's put summary is followed by the watch summary)
  const first = text.indexOf('\nSummary:');
  const next = first < 0 ? -1 : text.indexOf('\nSummary:', first + 1);
  if (next > 0) text = text.slice(0, next);
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(text);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  // --precise prints Go's %v of a float64: plain or exponent form (5e-05)
  const f = '([\\d.]+(?:e[-+]?\\d+)?)';
  const rps = num(new RegExp(`Requests/sec:\\s+${f}`));
  const total = num(new RegExp(`Total:\\s+${f} secs`));
  const avg = num(new RegExp(`Average:\\s+${f} secs`));
  const fastest = num(new RegExp(`Fastest:\\s+${f} secs`));
  const slowest = num(new RegExp(`Slowest:\\s+${f} secs`));
  // The tool leaves out every percentile whose value is 0: one that is exactly 0 (watch-latency counts an
  // event that arrived before its put's response as 0) and one the run had too few samples for. A
  // missing line below a printed one, or with every sample 0, is a real 0; otherwise it is unknown.
  const printed = [...text.matchAll(new RegExp(`\\n\\s*([\\d.]+)% in ${f} secs`, 'g'))].map((m) => Number(m[1]));
  const pct = (p: number): number | undefined => {
    const v = num(new RegExp(`\\n\\s*${String(p).replace('.', '\\.')}% in ${f} secs`));
    if (v !== undefined) return v;
    const zero = fastest === 0 && (slowest === 0 || printed.some((q) => q > p));
    return zero ? 0 : undefined;
  };
  const p50 = pct(50);
  const p99 = pct(99) ?? NaN;
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
    const seen = summary === undefined ? `, no summary${o.section === undefined ? '' : ` after "${o.section}"`} in: ${JSON.stringify(out.slice(-600))}` : '';
    return { ok: false, error: `exit ${String(code)}: ${why}${seen}`, wallSec };
  }
  return { ok: true, summary, wallSec };
}
