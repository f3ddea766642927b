#!/usr/bin/env node
/**
 * `npm run robustness -- --duration 60s --seed 7 --members 3 --faults kill,pause,partition-leader`
 * (`--faults all` for every kind, `--broken local-reads` for a deliberately broken server,
 * `--crash-points apply-after-commit,...` to restrict failpoint-kill to those points,
 * `--power-loss-points engine-write,...` to restrict power-loss to those points).
 * Exits 0 when the history checks out, 1 otherwise (the kept run dir is printed).
 */
import { parseArgs } from 'node:util';
import { FAULTS, type Fault } from './faults.js';
import { DEFECTS, type Defect } from './defects.js';
import { runRobustness } from './run.js';

function duration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (m === null) throw new Error(`bad --duration ${s}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30s' },
    seed: { type: 'string' },
    members: { type: 'string', default: '3' },
    faults: { type: 'string', default: 'all' },
    broken: { type: 'string' },
    clients: { type: 'string', default: '6' },
    'crash-points': { type: 'string' },
    'power-loss-points': { type: 'string' },
  },
});
const members = Number(values.members);
if (members !== 1 && members !== 3) throw new Error('--members must be 1 or 3');
const faults: Fault[] = values.faults === 'all' ? [...FAULTS] : values.faults === 'none' || values.faults === '' ? [] : values.faults.split(',').map((f) => {
  const found = FAULTS.find((x) => x === f);
  if (found === undefined) throw new Error(`unknown fault ${f} (known: ${FAULTS.join(', ')})`);
  return found;
});
const broken: Defect[] = (values.broken ?? '').split(',').filter((d) => d !== '').map((d) => {
  const found = DEFECTS.find((x) => x === d);
  if (found === undefined) throw new Error(`unknown defect ${d} (known: ${DEFECTS.join(', ')})`);
  return found;
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 1e6) : Number(values.seed);
const crash = values['crash-points'];
const powerLoss = values['power-loss-points'];
const r = await runRobustness({
  durationMs: duration(values.duration), seed, members, faults, broken, clients: Number(values.clients),
  ...(crash === undefined ? {} : { crashPoints: crash.split(','), faultGapMs: [300, 800] as const }),
  ...(powerLoss === undefined ? {} : { powerLossPoints: powerLoss.split(','), faultGapMs: [300, 800] as const }),
});
process.exitCode = r.ok ? 0 : 1;
