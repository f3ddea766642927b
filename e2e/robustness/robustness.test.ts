// CI-sized robustness runs against the real server (cmd/berth): recorded traffic under faults, then
// the linearizability, watch, durability and convergence checks. A failure keeps the history, the
// report and the members' data dirs and names them in the assertion message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRobustness } from './run.js';
import type { RunResult } from './run.js';

function verdict(r: RunResult): string {
  return `robustness run failed; kept ${r.runDir}\n${r.report.errors.slice(0, 10).join('\n')}`;
}

test('3 members: kills, failpoint crashes, power loss, disk full, pauses, partitions, delays, membership changes, snapshot catch-up', { timeout: 600_000 }, async () => {
  const r = await runRobustness({
    durationMs: 150_000,
    seed: Number(process.env['ROBUSTNESS_SEED'] ?? 20261126),
    members: 3,
    faults: ['kill', 'kill-leader', 'failpoint-kill', 'power-loss', 'disk-full', 'pause', 'pause-leader', 'partition-leader', 'partition-follower', 'one-way', 'delay', 'membership', 'snapshot-catchup'],
    clients: 6,
  });
  assert.ok(r.ok, verdict(r));
  // The run exercised something: faults of at least five kinds, and writes placed in the revision log.
  assert.ok(Object.keys(r.faultCounts).length >= 5, `only ${JSON.stringify(r.faultCounts)}`);
  assert.ok((r.report.stats['placed.acked'] ?? 0) > 500, JSON.stringify(r.report.stats));
  assert.ok((r.report.stats['watch.events'] ?? 0) > 0);
});

test('3 members: members replaced (remove, add learner, promote) and followers caught up by snapshot with a crash at a snapshot failpoint', { timeout: 300_000 }, async () => {
  const lines: string[] = [];
  const r = await runRobustness({
    durationMs: 60_000,
    seed: Number(process.env['ROBUSTNESS_SEED'] ?? 20261128),
    members: 3,
    faults: ['membership', 'snapshot-catchup'],
    cycleFaults: true,
    clients: 6,
    log: (s) => void lines.push(s),
  });
  assert.ok(r.ok, `${verdict(r)}\n${lines.join('\n')}`);
  assert.ok((r.faultCounts['membership'] ?? 0) >= 1 && (r.faultCounts['snapshot-catchup'] ?? 0) >= 1, JSON.stringify(r.faultCounts));
  // At least one snapshot failpoint was actually hit (the member fell behind the compacted log).
  assert.ok(lines.some((l) => /snapshot-[a-z-]+=kill@1 .*: hit/.test(l)), lines.join('\n'));
});

test('1 member: kills, failpoint crashes, power loss, disk full, pauses', { timeout: 300_000 }, async () => {
  const r = await runRobustness({
    durationMs: 45_000,
    seed: Number(process.env['ROBUSTNESS_SEED'] ?? 20261127),
    members: 1,
    faults: ['kill', 'failpoint-kill', 'power-loss', 'disk-full', 'pause'],
    clients: 4,
  });
  assert.ok(r.ok, verdict(r));
  assert.ok(Object.keys(r.faultCounts).length >= 3, `only ${JSON.stringify(r.faultCounts)}`);
});
