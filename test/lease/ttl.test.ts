import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLeaseRecord, effectiveTtl, encodeLeaseRecord, leaseKey, MAX_LEASE_TTL, minLeaseTtl } from '../../pkg/lease/index.js';

describe('lease TTL rules', () => {
  it('computes the minimum like etcd: ceil(floor(3 × ticks / 2) × heartbeat) in seconds', () => {
    assert.equal(minLeaseTtl(10, 100), 2n); // etcd defaults: 1.5 s → 2 s
    assert.equal(minLeaseTtl(5, 100), 1n); // 500 ms election: 700 ms → 1 s
    assert.equal(minLeaseTtl(5, 200), 2n); // 7 × 200 = 1.4 s → 2 s
    assert.equal(minLeaseTtl(50, 100), 8n); // 7.5 s → 8 s
  });

  it('raises short TTLs (0 and negative included) and refuses only above 9,000,000,000 s', () => {
    assert.equal(effectiveTtl(0n, 2n), 2n);
    assert.equal(effectiveTtl(-5n, 2n), 2n);
    assert.equal(effectiveTtl(3n, 2n), 3n);
    assert.equal(effectiveTtl(MAX_LEASE_TTL, 2n), 9_000_000_000n);
    assert.equal(effectiveTtl(MAX_LEASE_TTL + 1n, 2n), 'too-large');
  });
});

describe('lease record', () => {
  it('round-trips and keys int64 IDs as their u64 two’s complement, big-endian', () => {
    const key = leaseKey(-1n);
    assert.equal(Buffer.from(key).toString('hex'), '22ffffffffffffffff');
    const rec = decodeLeaseRecord(key, encodeLeaseRecord({ id: -1n, ttl: 9_000_000_000n, remainingTtl: 7n }));
    assert.deepEqual(rec, { id: -1n, ttl: 9_000_000_000n, remainingTtl: 7n });
    assert.throws(() => decodeLeaseRecord(key, Uint8Array.of(9)), /unreadable lease record/);
  });
});
