// The checkers catch real bugs: the same harness against the test-only broken-berth entry point,
// each run with one deliberate defect, must fail with the matching kind of violation. (The same
// runs against cmd/berth pass: robustness.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { runRobustness } from './run.js';

const quiet = (): void => undefined;

test('linearizable reads served locally (no ReadIndex) are caught as stale reads', { timeout: 300_000 }, async () => {
  // An isolated follower keeps answering reads from its old state while the majority moves on.
  const r = await runRobustness({ durationMs: 25_000, seed: 4242, members: 3, faults: ['partition-follower'], broken: ['local-reads'], clients: 6, log: quiet });
  rmSync(r.runDir, { recursive: true, force: true });
  assert.equal(r.ok, false, 'the checker passed a server that serves stale reads');
  assert.match(r.report.errors.join('\n'), /real-time order: .* \(a stale read\)/);
});

test('a dropped watch event is caught as a gap', { timeout: 300_000 }, async () => {
  const r = await runRobustness({ durationMs: 12_000, seed: 4343, members: 1, faults: [], broken: ['drop-watch-event'], clients: 4, log: quiet });
  rmSync(r.runDir, { recursive: true, force: true });
  assert.equal(r.ok, false, 'the checker passed a server that drops a watch event');
  assert.match(r.report.errors.join('\n'), /missing from every watch|watch session \d+ .* event #\d+ is missing/);
  // Only the watch is broken: no linearizability error about operations.
  assert.doesNotMatch(r.report.errors.join('\n'), /stale read|not in the revision log: lost|applied twice|not explained/);
});

test('an applied index written apart from the applied effects is caught as double application', { timeout: 300_000 }, async () => {
  // Crashes between the two writes make the restarted member apply entries a second time.
  const r = await runRobustness({
    durationMs: 25_000, seed: 4444, members: 1, faults: ['failpoint-kill'], crashPoints: ['apply-after-commit'],
    broken: ['split-applied-index'], clients: 4, faultGapMs: [300, 800], log: quiet,
  });
  rmSync(r.runDir, { recursive: true, force: true });
  assert.equal(r.ok, false, 'the checker passed a server that re-applies entries after a crash');
  assert.match(r.report.errors.join('\n'), /applied twice|not explained by any client operation|lost/);
});

test('acknowledging a write before its raft log append is fsynced is caught under power loss', { timeout: 300_000 }, async () => {
  // The log is written without fsync: a power loss (the storage power-loss model drops every unsynced
  // write) takes acknowledged writes with it, and the restarted member reuses their revisions.
  const r = await runRobustness({
    durationMs: 25_000, seed: 4545, members: 1, faults: ['power-loss'], powerLossPoints: ['engine-write', 'apply-after-commit'],
    broken: ['ack-before-fsync'], clients: 4, faultGapMs: [300, 800], log: quiet,
  });
  rmSync(r.runDir, { recursive: true, force: true });
  assert.equal(r.ok, false, 'the checker passed a server that acknowledges writes before they are durable');
  assert.ok((r.faultCounts['power-loss'] ?? 0) > 0);
  assert.match(r.report.errors.join('\n'), /is not in the revision log: lost|not explained by any client operation|watchers disagree|has create \d+ version \d+, previous/);
});
