// The disk probe that check-perf.test.ts uses to tell a disk stall from a slow server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startDiskProbe } from './support/disk-probe.js';

const probeFiles = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith(`disk-probe-${process.pid}-`));

test('the disk probe counts its syncs, classifies them by the threshold given, stops once and cleans up', async () => {
  const probe = await startDiskProbe(1);
  assert.equal(probeFiles().length, 1);
  // The first sync is already under way when stop() is called: it is measured, then the loop ends.
  const all = await probe.stop(0);
  assert.ok(all.syncs >= 1);
  assert.equal(all.stalls, all.syncs, 'every sync takes longer than 0 s');
  assert.ok(all.slowestS > 0);
  assert.equal(await probe.stop(Infinity), all, 'a second stop gives the first result');
  assert.deepEqual(probeFiles(), []);
  const none = await (await startDiskProbe(1)).stop(Infinity);
  assert.equal(none.stalls, 0);
  assert.deepEqual(probeFiles(), []);
});
