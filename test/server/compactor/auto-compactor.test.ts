import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../pkg/log/index.js';
import { berthError, type BerthError } from '../../../pkg/errors/index.js';
import { AutoCompactor, type CompactionPolicy } from '../../../pkg/server/compactor/auto-compactor.js';
import type { Outcome } from '../../../pkg/server/wait.js';
import { ManualClock, settle } from './manual-clock.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

interface Harness {
  readonly clock: ManualClock;
  readonly compactor: AutoCompactor;
  /** Compact calls: target revision and clock time. */
  readonly calls: { rev: bigint; at: number }[];
  /** The store's current revision, set by the test. */
  rev: bigint;
  /** The failures of compact calls by call number (1-based); the others succeed. */
  readonly failures: Map<number, BerthError>;
  readonly logs: () => { level: string; msg: string; revision?: number; error?: string }[];
}

function harness(policy: CompactionPolicy, opts: { revisionIntervalMs?: number; resumed?: boolean; rev?: bigint } = {}): Harness {
  const clock = new ManualClock();
  const lines: string[] = [];
  const log = createLogger({ level: 'info', outputs: [], destination: { write: (s: string) => void lines.push(s) } });
  assert.ok(log.ok);
  const h: Omit<Harness, 'compactor'> & { compactor?: AutoCompactor } = {
    clock,
    calls: [],
    rev: opts.rev ?? 1n,
    failures: new Map(),
    logs: () => lines.map((l) => JSON.parse(l) as ReturnType<Harness['logs']>[number]),
  };
  const compactor = new AutoCompactor({
    policy,
    clock,
    revision: () => h.rev,
    compact: async (rev): Promise<Outcome<unknown>> => {
      h.calls.push({ rev, at: clock.now() });
      const e = h.failures.get(h.calls.length);
      return e === undefined ? { ok: true, value: {} } : { ok: false, error: e };
    },
    logger: log.logger,
    ...(opts.revisionIntervalMs === undefined ? {} : { revisionIntervalMs: opts.revisionIntervalMs }),
  });
  compactor.start();
  if (opts.resumed !== false) compactor.resume();
  return Object.assign(h, { compactor });
}

const revs = (h: Harness): bigint[] => h.calls.map((c) => c.rev);

describe('auto-compactor, revision mode', () => {
  it('every 5 minutes compacts to current − retention', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 10 });
    h.rev = 25n;
    await h.clock.advance(5 * MIN - 1);
    assert.deepEqual(h.calls, [], 'nothing before the first interval');
    await h.clock.advance(1);
    assert.deepEqual(h.calls, [{ rev: 15n, at: 5 * MIN }]);
    h.rev = 40n;
    await h.clock.advance(5 * MIN);
    assert.deepEqual(h.calls, [{ rev: 15n, at: 5 * MIN }, { rev: 30n, at: 10 * MIN }]);
    const msgs = h.logs().map((l) => `${l.msg} ${l.revision ?? ''}`);
    assert.deepEqual(msgs, [
      'starting auto revision compaction 15',
      'completed auto revision compaction 15',
      'starting auto revision compaction 30',
      'completed auto revision compaction 30',
    ]);
    h.compactor.stop();
  });

  it('does nothing while the revision is at or below the retention', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 10 });
    h.rev = 10n;
    await h.clock.advance(30 * MIN);
    assert.deepEqual(h.calls, []);
    h.rev = 11n;
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [1n]);
    h.compactor.stop();
  });

  it('never compacts twice to the same revision', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 3 });
    h.rev = 20n;
    await h.clock.advance(60 * MIN);
    assert.deepEqual(revs(h), [17n], 'no writes: one compaction in 12 intervals');
    h.rev = 21n;
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [17n, 18n]);
    h.compactor.stop();
  });

  it('is paused until resumed and while paused (not leader)', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 5 }, { resumed: false });
    assert.equal(h.compactor.paused, true, 'starts paused');
    h.rev = 100n;
    await h.clock.advance(20 * MIN);
    assert.deepEqual(h.calls, []);
    h.compactor.resume();
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [95n], 'compacts at the next tick once leader');
    h.compactor.pause();
    h.rev = 200n;
    await h.clock.advance(20 * MIN);
    assert.deepEqual(revs(h), [95n], 'nothing after losing leadership');
    h.compactor.resume();
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [95n, 195n]);
    h.compactor.stop();
  });

  it('"required revision has been compacted" counts as done; other errors are retried next interval', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 10 });
    h.rev = 50n;
    h.failures.set(1, berthError('compacted'));
    await h.clock.advance(15 * MIN);
    assert.deepEqual(revs(h), [40n], 'already compacted: not retried');
    assert.equal(h.logs().filter((l) => l.level === 'warn').length, 0);

    h.rev = 60n;
    h.failures.set(2, berthError('timeout')).set(3, berthError('noLeader'));
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [40n, 50n]);
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [40n, 50n, 50n], 'retried after a failure');
    await h.clock.advance(5 * MIN);
    assert.deepEqual(revs(h), [40n, 50n, 50n, 50n], 'retried until it succeeds');
    await h.clock.advance(15 * MIN);
    assert.equal(h.calls.length, 4, 'then done');
    const warns = h.logs().filter((l) => l.level === 'warn');
    assert.deepEqual(warns.map((w) => [w.msg, w.revision, w.error]), [
      ['failed auto revision compaction', 50, 'timeout'],
      ['failed auto revision compaction', 50, 'noLeader'],
    ]);
    h.compactor.stop();
  });

  it('a compact callback that throws is a failure, not a crash', async () => {
    const clock = new ManualClock();
    const log = createLogger({ level: 'error', outputs: [], destination: { write: () => {} } });
    assert.ok(log.ok);
    let n = 0;
    const c = new AutoCompactor({
      policy: { mode: 'revision', retentionRevisions: 1 },
      clock,
      revision: () => 10n,
      compact: async () => {
        n++;
        if (n === 1) throw new Error('boom');
        return { ok: true, value: undefined };
      },
      logger: log.logger,
    });
    c.start();
    c.resume();
    await clock.advance(10 * MIN);
    assert.equal(n, 2);
    c.stop();
  });

  it('honours a shorter interval (test override)', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 2 }, { revisionIntervalMs: 100 });
    h.rev = 7n;
    await h.clock.advance(100);
    assert.deepEqual(h.calls, [{ rev: 5n, at: 100 }]);
    h.compactor.stop();
  });

  it('stop cancels the timer, also while a compaction is in flight', async () => {
    const h = harness({ mode: 'revision', retentionRevisions: 1 });
    h.rev = 5n;
    h.compactor.stop();
    assert.equal(h.clock.pending, 0);
    await h.clock.advance(60 * MIN);
    assert.deepEqual(h.calls, []);

    const clock = new ManualClock();
    const log = createLogger({ level: 'info', outputs: [], destination: { write: () => {} } });
    assert.ok(log.ok);
    let release: (o: Outcome<unknown>) => void = () => {};
    const c = new AutoCompactor({
      policy: { mode: 'revision', retentionRevisions: 1 },
      clock,
      revision: () => 10n,
      compact: () => new Promise((r) => (release = r)),
      logger: log.logger,
    });
    c.start();
    c.resume();
    await clock.advance(5 * MIN);
    c.stop();
    release({ ok: false, error: berthError('stopped') });
    await settle();
    assert.equal(clock.pending, 0, 'nothing scheduled after stop');
  });
});

describe('auto-compactor, periodic mode', () => {
  it('compacts to the oldest of the last 11 samples, every retention (< 1h)', async () => {
    // 10 s retention: a sample every second, 11 kept, compaction every 10 s. The revision seen at
    // t seconds is 100 + t.
    const at = (sec: number): bigint => 100n + BigInt(sec);
    const h = harness({ mode: 'periodic', retentionMs: 10_000 }, { rev: at(0) });
    for (let s = 1; s <= 35; s++) {
      h.rev = at(s); // seen by the tick at s (which compacts first, then samples)
      await h.clock.advance(1000);
    }
    assert.deepEqual(h.calls, [
      { rev: at(0), at: 10_000 }, // one retention after start: the first sample
      { rev: at(9), at: 20_000 }, // then the window's oldest: samples 9..19
      { rev: at(19), at: 30_000 },
    ]);
    assert.deepEqual(
      h.logs().filter((l) => l.msg.startsWith('starting')).map((l) => (l as { 'compact-period'?: string })['compact-period']),
      ['10s', '10s', '10s'],
    );
    h.compactor.stop();
  });

  it('with a retention above 1 h samples every 6 minutes and compacts hourly after the first retention', async () => {
    // The revision seen at m minutes is 1000 + m.
    const h = harness({ mode: 'periodic', retentionMs: 2 * HOUR }, { rev: 1000n });
    for (let m = 6; m <= 4 * 60; m += 6) {
      h.rev = 1000n + BigInt(m);
      await h.clock.advance(6 * MIN);
    }
    // First at 2 h (to the revision of t=0), then hourly, each to the oldest of 21 samples (2 h + 6 min earlier).
    assert.deepEqual(h.calls, [
      { rev: 1000n, at: 2 * HOUR },
      { rev: 1054n, at: 3 * HOUR },
      { rev: 1114n, at: 4 * HOUR },
    ]);
    h.compactor.stop();
  });

  it('keeps sampling while paused and compacts on the first tick after resuming', async () => {
    const h = harness({ mode: 'periodic', retentionMs: 10_000 }, { resumed: false, rev: 100n });
    for (let s = 1; s <= 30; s++) {
      h.rev = 100n + BigInt(s);
      await h.clock.advance(1000);
    }
    assert.deepEqual(h.calls, [], 'paused (not leader)');
    h.compactor.resume();
    h.rev = 131n;
    await h.clock.advance(1000);
    // The tick at 31 s: the window holds the samples of 20..30 s, taken while paused.
    assert.deepEqual(h.calls, [{ rev: 120n, at: 31_000 }]);
    h.compactor.stop();
  });

  it('retries a failed compaction at the next sample, then continues from the success', async () => {
    const h = harness({ mode: 'periodic', retentionMs: 10_000 }, { rev: 100n });
    h.failures.set(1, berthError('timeout')).set(3, berthError('timeout'));
    for (let s = 1; s <= 35; s++) {
      h.rev = 100n + BigInt(s);
      await h.clock.advance(1000);
    }
    assert.deepEqual(h.calls, [
      { rev: 100n, at: 10_000 }, // failed
      { rev: 100n, at: 11_000 }, // retried one sample later (window not full yet: same oldest sample)
      { rev: 110n, at: 21_000 }, // one retention after the success: oldest of samples 10..20; failed
      { rev: 111n, at: 22_000 }, // retried with the window moved on by one sample
      { rev: 121n, at: 32_000 },
    ]);
    assert.equal(h.logs().filter((l) => l.level === 'warn' && l.msg === 'failed auto periodic compaction').length, 2);
    h.compactor.stop();
  });

  it('"already compacted" is a success for the schedule', async () => {
    const h = harness({ mode: 'periodic', retentionMs: 10_000 });
    h.rev = 50n;
    h.failures.set(1, berthError('compacted'));
    await h.clock.advance(25_000);
    assert.deepEqual(h.calls.map((c) => c.at), [10_000, 20_000]);
    assert.equal(h.logs().filter((l) => l.level === 'warn').length, 0);
    h.compactor.stop();
  });
});
