#!/usr/bin/env node
/**
 * A berth process with deliberate defects, for proving that the robustness checkers catch real bugs.
 * Test-only: nothing under cmd/ or pkg/ imports this file, and the defects are chosen by a leading
 * `--broken=<defect>[,<defect>]` argument of this entry point (there is no environment switch).
 *
 * Defects: `local-reads` (linearizable reads served locally, no ReadIndex), `drop-watch-event`
 * (the watch hub silently drops one applied revision's events).
 */
import type { Config } from '../../pkg/config/index.js';
import type { Logger } from '../../pkg/log/index.js';
import { startMember } from '../../pkg/server/member.js';
import { runCli } from '../../cmd/berth/cli.js';
import { DEFECTS, hooksFor, type Defect } from './defects.js';

function parseDefects(arg: string | undefined): Defect[] {
  if (arg === undefined || !arg.startsWith('--broken=')) throw new Error('broken-berth: the first argument must be --broken=<defect>[,...]');
  const out: Defect[] = [];
  for (const d of arg.slice('--broken='.length).split(',')) {
    const found = DEFECTS.find((x) => x === d);
    if (found === undefined) throw new Error(`broken-berth: unknown defect ${d} (known: ${DEFECTS.join(', ')})`);
    out.push(found);
  }
  return out;
}

async function main(): Promise<number> {
  const hooks = hooksFor(parseDefects(process.argv[2]));
  return runCli({
    argv: process.argv.slice(3),
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    start: async (config: Config, logger: Logger) => {
      logger.warn({ hooks }, 'broken-berth: running with deliberate defects (test only)');
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
