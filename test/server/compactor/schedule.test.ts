import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { periodicSchedule, REVISION_INTERVAL_MS } from '../../../pkg/server/compactor/schedule.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('auto-compaction schedule (etcd v3compactor)', () => {
  it('revision mode checks every 5 minutes', () => {
    assert.equal(REVISION_INTERVAL_MS, 5 * MIN);
  });

  it('periodic below one hour: samples every retention/10, compacts every retention', () => {
    assert.deepEqual(periodicSchedule(5_000), { sampleEveryMs: 500, compactEveryMs: 5_000, samples: 11 });
    assert.deepEqual(periodicSchedule(59 * MIN), { sampleEveryMs: 5.9 * MIN, compactEveryMs: 59 * MIN, samples: 11 });
    assert.deepEqual(periodicSchedule(HOUR), { sampleEveryMs: 6 * MIN, compactEveryMs: HOUR, samples: 11 });
  });

  it('periodic above one hour: samples every 6 minutes, compacts hourly, keeps a whole retention of samples', () => {
    assert.deepEqual(periodicSchedule(2 * HOUR), { sampleEveryMs: 6 * MIN, compactEveryMs: HOUR, samples: 21 });
    assert.deepEqual(periodicSchedule(24 * HOUR), { sampleEveryMs: 6 * MIN, compactEveryMs: HOUR, samples: 241 });
  });

  it('sample count is exact for retentions that do not divide evenly in floating point', () => {
    for (const ms of [1, 3, 7, 333, 2_000, 1_234_567]) assert.equal(periodicSchedule(ms).samples, 11, String(ms));
  });
});
