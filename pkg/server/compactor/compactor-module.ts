/**
 * Wires the auto-compactor into a member (design: auto-compactor.ts, docs/maintenance.md "Auto-compaction"):
 * nothing when --auto-compaction-retention is 0; otherwise one compactor, started paused with the
 * member, resumed while this member is the raft leader, stopped at shutdown. It compacts through the
 * replicated Compact command, like the KV.Compact RPC.
 *
 * Test-only: BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS (a positive integer) replaces revision mode's
 * 5-minute interval, so integration tests need not wait for it. It is not a flag and not part of
 * the configuration; operators have no reason to set it.
 */
import { componentLogger } from '../../log/index.js';
import type { ServiceModule } from '../services.js';
import { AutoCompactor } from './auto-compactor.js';
import { realClock, type CompactorClock } from './clock.js';
import type { MemberContext } from '../context.js';

export const TEST_INTERVAL_VARIABLE = 'BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS';

/** The test override of revision mode's interval; a malformed value is a start-up error. */
export function testIntervalOverride(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const v = env[TEST_INTERVAL_VARIABLE];
  if (v === undefined || v === '') return undefined;
  if (!/^[1-9][0-9]*$/.test(v)) throw new Error(`${TEST_INTERVAL_VARIABLE}: expected a positive integer (milliseconds), got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The parts of the member the auto-compactor uses. */
export type AutoCompactionContext = Pick<MemberContext, 'config' | 'logger' | 'memberId' | 'mvcc' | 'propose' | 'onLeaderChange' | 'onStop'>;

/** Starts the member's auto-compactor (none when retention is 0); returns it for tests. */
export function startAutoCompaction(
  ctx: AutoCompactionContext,
  deps: { readonly clock?: CompactorClock; readonly env?: Readonly<Record<string, string | undefined>> } = {},
): AutoCompactor | undefined {
  const policy = ctx.config.autoCompaction;
  if (policy.mode === 'off') return undefined;
  const intervalMs = testIntervalOverride(deps.env ?? process.env);
  const compactor = new AutoCompactor({
    policy,
    clock: deps.clock ?? realClock,
    revision: () => ctx.mvcc.currentRevision,
    compact: (revision) => ctx.propose<unknown>({ $case: 'compaction', value: { revision, physical: false } }),
    logger: componentLogger(ctx.logger, 'compactor'),
    ...(intervalMs === undefined ? {} : { revisionIntervalMs: intervalMs }),
  });
  ctx.onLeaderChange((leader) => {
    if (leader === ctx.memberId) compactor.resume();
    else compactor.pause();
  });
  compactor.start();
  ctx.onStop(() => compactor.stop());
  return compactor;
}

export const autoCompactionModule: ServiceModule = {
  name: 'auto-compaction',
  register(ctx) {
    startAutoCompaction(ctx);
  },
};
