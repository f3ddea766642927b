/**
 * Formats a failing run so it can be replayed: the seed, the parameters, the violation, the state of
 * every node and the last events of the event log.
 */
import type { Violation } from './checker.js';
import type { ScenarioParams } from './params.js';
import { describeParams, scenarioParams } from './params.js';
import type { RunOptions, RunResult } from './simulation.js';
import { runScenario } from './simulation.js';

export const TRACE_EVENTS = 60;

/** The command that reruns exactly these parameters (--params only when they are not the seed's defaults). */
export function replayCommand(p: ScenarioParams): string {
  const base = `node --import tsx test/raft/sim/replay.ts --seed ${p.seed}`;
  const { seed: _seed, ...rest } = p;
  if (JSON.stringify(scenarioParams(p.seed)) === JSON.stringify(p)) return base;
  return `${base} --params '${JSON.stringify(rest)}'`;
}

export function formatFailure(r: RunResult): string {
  const v = r.violation;
  return [
    `raft simulation: seed ${r.params.seed} FAILED: ${v?.message.split('\n')[0] ?? 'no violation'}`,
    `replay: ${replayCommand(r.params)}`,
    describeParams(r.params),
    'nodes:',
    ...r.nodes.map((l) => `  ${l}`),
    `last ${r.trace.length} events:`,
    ...r.trace.map((l) => `  ${l}`),
  ].join('\n');
}

/**
 * Reruns a failed seed with the event log on (exact, since runs are deterministic) and returns the
 * printable report. If the rerun does not fail the same way as `original`, the report says so first:
 * that is a determinism bug of the simulation (or of pkg/raft) in itself.
 */
export function explainFailure(seed: number, original: Violation | undefined, opts: RunOptions = {}): string {
  const again = runScenario(seed, { ...opts, traceLimit: opts.traceLimit ?? TRACE_EVENTS });
  const same = again.violation?.message === original?.message;
  const note = same ? '' : `NONDETERMINISM: the rerun ended with ${again.violation?.message.split('\n')[0] ?? 'no violation'}, the run with ${original?.message.split('\n')[0] ?? 'no violation'}\n`;
  return note + formatFailure(again);
}
