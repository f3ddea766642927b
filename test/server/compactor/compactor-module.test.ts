import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AutoCompaction, Config } from '../../../pkg/config/index.js';
import { createLogger } from '../../../pkg/log/index.js';
import type { CommandRequest } from '../../../pkg/server/propose.js';
import type { MvccStore } from '../../../pkg/storage/mvcc/index.js';
import { startAutoCompaction, testIntervalOverride, type AutoCompactionContext } from '../../../pkg/server/compactor/compactor-module.js';
import { ManualClock } from './manual-clock.js';

const SELF = 0x1111n;
const OTHER = 0x2222n;

function fakeMember(autoCompaction: AutoCompaction) {
  const log = createLogger({ level: 'error', outputs: [], destination: { write: () => {} } });
  assert.ok(log.ok);
  const proposed: CommandRequest[] = [];
  const leaderListeners: ((leader: bigint, term: number) => void)[] = [];
  const stops: (() => Promise<void> | void)[] = [];
  const store = { currentRevision: 50n };
  const ctx: AutoCompactionContext = {
    config: { autoCompaction } as Config,
    logger: log.logger,
    memberId: SELF,
    mvcc: store as unknown as MvccStore,
    propose: async <T>(r: CommandRequest) => {
      proposed.push(r);
      return { ok: true, value: {} as T };
    },
    onLeaderChange: (l) => void leaderListeners.push(l),
    onStop: (fn) => void stops.push(fn),
  };
  const leader = (id: bigint): void => {
    for (const l of leaderListeners) l(id, 2);
  };
  return { ctx, proposed, leaderListeners, stops, store, leader };
}

describe('auto-compaction wiring', () => {
  it('off: no compactor, no listeners', () => {
    const m = fakeMember({ mode: 'off' });
    assert.equal(startAutoCompaction(m.ctx, { clock: new ManualClock(), env: {} }), undefined);
    assert.equal(m.leaderListeners.length, 0);
    assert.equal(m.stops.length, 0);
  });

  it('compacts only while this member leads, through a replicated Compact command', async () => {
    const clock = new ManualClock();
    const m = fakeMember({ mode: 'revision', retentionRevisions: 10 });
    const c = startAutoCompaction(m.ctx, { clock, env: {} });
    assert.ok(c);
    await clock.advance(5 * 60_000);
    assert.deepEqual(m.proposed, [], 'no leader known yet: paused');
    m.leader(OTHER);
    await clock.advance(5 * 60_000);
    assert.deepEqual(m.proposed, [], 'follower: paused');
    m.leader(SELF);
    await clock.advance(5 * 60_000);
    assert.deepEqual(m.proposed, [{ $case: 'compaction', value: { revision: 40n, physical: false } }]);
    m.leader(0n);
    m.store.currentRevision = 80n;
    await clock.advance(15 * 60_000);
    assert.equal(m.proposed.length, 1, 'leader lost: paused');
    m.leader(SELF);
    await clock.advance(5 * 60_000);
    assert.deepEqual(m.proposed[1], { $case: 'compaction', value: { revision: 70n, physical: false } });
    for (const s of m.stops) await s();
    assert.equal(clock.pending, 0, 'stopped with the member');
  });

  it('the test-only interval variable shortens revision mode\'s 5 minutes', async () => {
    const clock = new ManualClock();
    const m = fakeMember({ mode: 'revision', retentionRevisions: 10 });
    startAutoCompaction(m.ctx, { clock, env: { BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS: '250' } });
    m.leader(SELF);
    await clock.advance(250);
    assert.equal(m.proposed.length, 1);
    for (const s of m.stops) await s();
  });

  it('a malformed test interval is a start-up error', () => {
    assert.equal(testIntervalOverride({}), undefined);
    assert.equal(testIntervalOverride({ BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS: '' }), undefined);
    assert.equal(testIntervalOverride({ BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS: '1500' }), 1500);
    for (const v of ['0', '-5', '1s', '1.5']) assert.throws(() => testIntervalOverride({ BERTH_TEST_AUTO_COMPACTION_INTERVAL_MS: v }), /positive integer/);
  });
});
