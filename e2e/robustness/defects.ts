/**
 * The deliberate defects of the test-only entry point broken-berth.ts, and the member hooks that
 * produce them. Nothing under cmd/ or pkg/ imports this.
 */
import type { MemberTestHooks } from '../../pkg/server/member.js';

export const DEFECTS = ['local-reads', 'drop-watch-event', 'split-applied-index', 'ack-before-fsync'] as const;
export type Defect = (typeof DEFECTS)[number];

/** Which publish the drop-watch-event defect swallows: late enough that every watcher is synced. */
const DROPPED_PUBLISH = 120;

/** `powerLoss` is not a defect: it runs the storage engine's power-loss model (the `powerloss` failpoint action needs it). */
export function hooksFor(defects: readonly Defect[], powerLoss = false): MemberTestHooks {
  return {
    ...(powerLoss ? { powerLoss: true } : {}),
    ...(defects.includes('ack-before-fsync') ? { ackBeforeFsync: true } : {}),
    ...(defects.includes('local-reads') ? { localReads: true } : {}),
    ...(defects.includes('drop-watch-event') ? { dropWatchPublish: DROPPED_PUBLISH } : {}),
    ...(defects.includes('split-applied-index') ? { splitAppliedIndex: true } : {}),
  };
}
