/**
 * pkg/server — a running berth member (see docs/server.md). `startServer` is what `berth` calls:
 * it starts the member, stops it gracefully on SIGTERM/SIGINT, and resolves to the exit code.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { componentLogger } from '../log/index.js';
import { startMember } from './member.js';
import { MemoryReducer } from './memory-reducer.js';

export { startMember, type RunningMember } from './member.js';

/** Starts a member and resolves to the process exit code once it has stopped. */
export async function startServer(config: Config, logger: Logger): Promise<number> {
  let member;
  try {
    member = await startMember(config, logger);
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'failed to start');
    return 1;
  }
  const m = member;
  // One per process (a server process runs one member): returns V8's heap slack after bursts.
  const memLog = componentLogger(logger, 'memory');
  const reducer = new MemoryReducer({
    onCollect: (before, after, ms) =>
      memLog.debug({ 'heap-before': before.committed, 'heap-after': after.committed, 'used-after': after.used, ms: Math.round(ms) }, 'collected heap slack after a burst'),
  });
  reducer.start();
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal: sig }, 'received signal, shutting down');
    void m.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await m.stopped;
  reducer.stop();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return signalled ? 0 : 1;
}
