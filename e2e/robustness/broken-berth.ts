#!/usr/bin/env node
/**
 * A berth process with deliberate defects, for proving that the robustness checkers catch real bugs,
 * and with the storage power-loss model. Test-only: nothing under cmd/ or pkg/ imports this file; the
 * defects are chosen by a leading `--broken=<defect>[,<defect>]` argument and the power-loss model by
 * a leading `--power-loss-model` argument of this entry point (there is no environment switch). At
 * least one of them is required.
 *
 * Defects: see defects.ts (`local-reads`, `drop-watch-event`, `split-applied-index`,
 * `ack-before-fsync`). `--power-loss-model` alone is berth without defects whose storage engine can
 * lose unsynced writes at a `powerloss` failpoint (pkg/storage/engine/power-loss.ts).
 */
import type { Config } from '../../pkg/config/index.js';
import type { Logger } from '../../pkg/log/index.js';
import { startMember } from '../../pkg/server/member.js';
import { runCli } from '../../cmd/berth/cli.js';
import { DEFECTS, hooksFor, type Defect } from './defects.js';

/** The leading test arguments; returns the defects, the power-loss flag and how many arguments they took. */
function parseTestArgs(argv: readonly string[]): { defects: Defect[]; powerLoss: boolean; used: number } {
  const defects: Defect[] = [];
  let powerLoss = false;
  let used = 0;
  for (const arg of argv) {
    if (arg === '--power-loss-model') powerLoss = true;
    else if (arg.startsWith('--broken=')) defects.push(...parseDefects(arg));
    else break;
    used++;
  }
  if (used === 0) throw new Error('broken-berth: the first argument must be --broken=<defect>[,...] or --power-loss-model');
  return { defects, powerLoss, used };
}

function parseDefects(arg: string): Defect[] {
  const out: Defect[] = [];
  for (const d of arg.slice('--broken='.length).split(',')) {
    const found = DEFECTS.find((x) => x === d);
    if (found === undefined) throw new Error(`broken-berth: unknown defect ${d} (known: ${DEFECTS.join(', ')})`);
    out.push(found);
  }
  return out;
}

async function main(): Promise<number> {
  const t = parseTestArgs(process.argv.slice(2));
  const hooks = hooksFor(t.defects, t.powerLoss);
  return runCli({
    argv: process.argv.slice(2 + t.used),
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    start: async (config: Config, logger: Logger) => {
      logger.warn({ hooks }, 'broken-berth: test entry point (deliberate defects and/or the power-loss storage model)');
      const m = await startMember(config, logger, hooks);
      const onSignal = (): void => void m.stop();
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await m.stopped;
      return 0;
    },
  });
}

process.exitCode = await main();
