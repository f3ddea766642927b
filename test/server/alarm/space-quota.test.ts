/**
 * The space quota's size reading: measured from RocksDB at most every 50 ms and counted up by every
 * write admitted since, so a burst of writes between two readings cannot pass the quota.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSpaceQuota } from '../../../pkg/server/alarm/space-quota.js';
import type { MemberContext } from '../../../pkg/server/context.js';

function fakeMember(quota: number, dbSize: () => bigint): { ctx: MemberContext; proposals: unknown[] } {
  const proposals: unknown[] = [];
  const ctx = {
    config: { quotaBackendBytes: quota },
    logger: { warn: () => {} },
    memberId: 1n,
    engine: { iterate: async function* () {} },
    mvcc: { size: () => ({ dbSize: dbSize(), dbSizeInUse: 0n }) },
    propose: (r: unknown) => {
      proposals.push(r);
      return Promise.resolve({ ok: true, value: undefined });
    },
  } as unknown as MemberContext;
  return { ctx, proposals };
}

describe('space quota', () => {
  it('counts writes admitted since the last size reading against the quota', async () => {
    let reads = 0;
    const { ctx, proposals } = fakeMember(10_000, () => {
      reads++;
      return 5_000n; // the engine has not written the admitted bytes yet
    });
    let now = 0;
    const q = createSpaceQuota(ctx, () => now);
    await q.ready;
    assert.equal(q.admit(2_000), undefined);
    assert.equal(q.admit(2_000), undefined);
    assert.equal(q.usedBytes(), 9_000n);
    assert.equal(q.admit(2_000)?.kind, 'noSpace', '5000 measured + 4000 admitted + 2000 > 10000');
    assert.equal(reads, 1, 'one size reading within the window');
    assert.equal(proposals.length, 1, 'the NOSPACE alarm is proposed');
    assert.equal(q.admit(0), undefined, 'a delete (cost 0) is always admitted');
    now += 50;
    assert.equal(q.usedBytes(), 5_000n, 'measured again after 50 ms; the count starts over');
    assert.equal(reads, 2);
  });

  it('admits up to the quota exactly', async () => {
    const { ctx } = fakeMember(1_000, () => 0n);
    const q = createSpaceQuota(ctx, () => 0);
    await q.ready;
    assert.equal(q.admit(600), undefined);
    assert.equal(q.admit(400), undefined);
    assert.equal(q.admit(1)?.kind, 'noSpace');
  });
});
