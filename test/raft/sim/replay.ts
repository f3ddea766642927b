/**
 * Reruns one seed verbosely: node --import tsx test/raft/sim/replay.ts --seed S [--quiet] [--last K]
 *   [--nodes N] [--mix calm|lossy|partitions|crashes|chaos|crash-storm] [--knob unsafeX]...
 *   [--leader-removal direct|transfer-first] [--params '<JSON of ScenarioParams without seed>']
 * Prints every event as it happens (unless --quiet), then the outcome; exits 1 on a violation.
 */
import type { RaftKnobs } from '../../../pkg/raft/index.js';
import { describeParams } from './params.js';
import type { ParamOverrides } from './params.js';
import { formatFailure } from './report.js';
import { runScenario } from './simulation.js';

function main(argv: readonly string[]): number {
  let seed: number | undefined;
  let quiet = false;
  let last = 200;
  const knobs: Record<string, boolean> = {};
  let overrides: ParamOverrides = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--seed' && v !== undefined) { seed = Number(v); i++; }
    else if (a === '--quiet') quiet = true;
    else if (a === '--last' && v !== undefined) { last = Number(v); i++; }
    else if (a === '--nodes' && v !== undefined) { overrides = { ...overrides, nodes: Number(v) }; i++; }
    else if (a === '--mix' && v !== undefined) { overrides = { ...overrides, mix: v }; i++; }
    else if (a === '--knob' && v !== undefined) { knobs[v] = true; i++; }
    else if (a === '--params' && v !== undefined) { overrides = { ...overrides, ...(JSON.parse(v) as ParamOverrides) }; i++; }
    else if (a === '--leader-removal' && (v === 'direct' || v === 'transfer-first')) { overrides = { ...overrides, leaderRemoval: v }; i++; }
    else { process.stderr.write(`unknown argument ${a}\n`); return 2; }
  }
  if (seed === undefined || !Number.isInteger(seed)) {
    process.stderr.write('usage: replay.ts --seed S [--quiet] [--last K] [--nodes N] [--mix M] [--knob unsafeX] [--leader-removal direct]\n');
    return 2;
  }
  if (Object.keys(knobs).length > 0) overrides = { ...overrides, knobs: knobs as RaftKnobs };
  const r = runScenario(seed, {
    overrides,
    traceLimit: last,
    ...(quiet ? {} : { echo: (line: string) => process.stdout.write(`${line}\n`) }),
  });
  if (r.violation !== undefined) {
    process.stdout.write(`${formatFailure(r)}\n`);
    return 1;
  }
  process.stdout.write(`${describeParams(r.params)}\nseed ${seed} ok: ${JSON.stringify(r.stats)}\n${r.nodes.join('\n')}\n`);
  return 0;
}

// Piping into `head` closes stdout early; that is not an error of the run.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.exitCode = main(process.argv.slice(2));
