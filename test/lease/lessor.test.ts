import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor, type LessorOptions } from '../../pkg/lease/index.js';
import { EventType, type Event } from '../../pkg/storage/mvcc/index.js';

const te = new TextEncoder();
const td = new TextDecoder();
const k = (s: string): Uint8Array => te.encode(s);
const names = (keys: readonly Uint8Array[]): string[] => keys.map((x) => td.decode(x));

/** A lessor with no stored leases and a hand-driven clock. */
async function fresh(opts: Partial<LessorOptions> = {}): Promise<{ lessor: Lessor; clock: { now: number } }> {
  const clock = { now: 1_000_000 };
  const empty = { iterate: async function* () {} } as unknown as Parameters<typeof Lessor.load>[0];
  const lessor = await Lessor.load(empty, { minTtl: 2n, now: () => clock.now, ...opts });
  return { lessor, clock };
}

function grant(l: Lessor, id: bigint, ttl: bigint): bigint {
  const g = l.prepareGrant(id, ttl);
  assert.ok(g.ok, `grant ${id} failed`);
  g.value.commit();
  return g.value.ttl;
}

function put(key: string, lease: bigint): Event {
  return { type: EventType.PUT, kv: { key: k(key), createRevision: 2n, modRevision: 2n, version: 1n, value: k('v'), lease } };
}

function del(key: string): Event {
  return { type: EventType.DELETE, kv: { key: k(key), createRevision: 0n, modRevision: 3n, version: 0n, value: new Uint8Array(), lease: 0n } };
}

describe('lessor grant', () => {
  it('raises a TTL below the minimum (zero and negative too) and keeps larger ones', async () => {
    const { lessor } = await fresh({ minTtl: 5n });
    assert.equal(grant(lessor, 1n, 1n), 5n);
    assert.equal(grant(lessor, 2n, 0n), 5n);
    assert.equal(grant(lessor, 3n, -7n), 5n);
    assert.equal(grant(lessor, 4n, 60n), 60n);
    assert.equal(grant(lessor, 5n, 9_000_000_000n), 9_000_000_000n);
  });

  it('refuses a TTL above 9,000,000,000 s, a duplicate ID and ID 0', async () => {
    const { lessor } = await fresh();
    assert.deepEqual(lessor.prepareGrant(1n, 9_000_000_001n), { ok: false, error: 'ttl-too-large' });
    grant(lessor, 7n, 10n);
    assert.deepEqual(lessor.prepareGrant(7n, 10n), { ok: false, error: 'lease-exists' });
    assert.deepEqual(lessor.prepareGrant(0n, 10n), { ok: false, error: 'lease-not-found' });
  });

  it('changes nothing in memory until the prepared grant is committed', async () => {
    const { lessor } = await fresh();
    const g = lessor.prepareGrant(42n, 10n);
    assert.ok(g.ok);
    assert.equal(g.value.ops.length, 1);
    assert.equal(lessor.exists(42n), false);
    g.value.commit();
    assert.equal(lessor.exists(42n), true);
  });

  it('accepts negative client-chosen IDs (int64)', async () => {
    const { lessor } = await fresh();
    grant(lessor, -5n, 10n);
    assert.equal(lessor.exists(-5n), true);
  });
});

describe('lessor attachments', () => {
  it('follows puts, lease changes, lease removal and deletes', async () => {
    const { lessor } = await fresh();
    grant(lessor, 1n, 10n);
    grant(lessor, 2n, 10n);
    lessor.observe([put('b', 1n), put('a', 1n), put('c', 2n)]);
    assert.deepEqual(names(lessor.timeToLive(1n, true)?.keys ?? []), ['a', 'b']);
    lessor.observe([put('a', 2n)]);
    assert.deepEqual(names(lessor.timeToLive(1n, true)?.keys ?? []), ['b']);
    assert.deepEqual(names(lessor.timeToLive(2n, true)?.keys ?? []), ['a', 'c']);
    lessor.observe([put('c', 0n), del('a')]);
    assert.deepEqual(names(lessor.timeToLive(2n, true)?.keys ?? []), []);
    assert.equal(lessor.leaseOf(k('b')), 1n);
    assert.equal(lessor.leaseOf(k('a')), 0n);
  });

  it('lists keys only when asked', async () => {
    const { lessor } = await fresh();
    grant(lessor, 1n, 10n);
    lessor.observe([put('x', 1n)]);
    assert.deepEqual(lessor.timeToLive(1n, false)?.keys, []);
  });
});

describe('lessor revoke', () => {
  it('hands back the attached keys in byte order and forgets the lease on commit', async () => {
    const { lessor } = await fresh();
    grant(lessor, 1n, 10n);
    lessor.observe([put('zz', 1n), put('a\u0000', 1n), put('a', 1n), put('\u00ff', 1n)]);
    const r = lessor.prepareRevoke(1n);
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.keys.map((x) => Buffer.from(x).toString('hex')),
      ['61', '6100', '7a7a', 'c3bf'],
    );
    assert.equal(lessor.exists(1n), true, 'prepare alone must not change memory');
    r.value.commit();
    assert.equal(lessor.exists(1n), false);
    assert.equal(lessor.leaseOf(k('a')), 0n);
    assert.deepEqual(lessor.prepareRevoke(1n), { ok: false, error: 'lease-not-found' });
  });
});

describe('lessor expiry', () => {
  it('expires nothing while not primary', async () => {
    const { lessor, clock } = await fresh();
    grant(lessor, 1n, 2n);
    clock.now += 60_000;
    assert.deepEqual(lessor.expired(10), []);
    assert.deepEqual(await lessor.renew(1n), { ok: false, error: 'not-primary' });
  });

  it('reports expired leases soonest first, up to the limit, and not again within the retry interval', async () => {
    const { lessor, clock } = await fresh({ expiredRetryMs: 3000 });
    lessor.promote(0);
    grant(lessor, 30n, 30n);
    grant(lessor, 10n, 10n);
    grant(lessor, 20n, 20n);
    grant(lessor, 5n, 5n);
    clock.now += 9_999;
    assert.deepEqual(lessor.expired(10), [5n]);
    assert.deepEqual(lessor.expired(10), [], 'in flight: not reported again yet');
    clock.now += 20_001; // 30 s after the grants
    assert.deepEqual(lessor.expired(2), [5n, 10n], 'the retry interval of lease 5 has passed');
    assert.deepEqual(lessor.expired(2), [20n, 30n]);
    assert.deepEqual(lessor.expired(2), []);
  });

  it('renew pushes the expiry to now + TTL and returns the granted TTL', async () => {
    const { lessor, clock } = await fresh();
    lessor.promote(0);
    grant(lessor, 1n, 10n);
    clock.now += 8_000;
    assert.deepEqual(await lessor.renew(1n), { ok: true, value: 10n });
    clock.now += 8_000;
    assert.deepEqual(lessor.expired(10), [], 'renewed 8 s ago with TTL 10');
    assert.equal(lessor.timeToLive(1n, false)?.ttl, 2n);
    assert.deepEqual(await lessor.renew(99n), { ok: false, error: 'lease-not-found' });
  });

  it('a renewal of an already expired lease waits for its revocation', async () => {
    const { lessor, clock } = await fresh();
    lessor.promote(0);
    grant(lessor, 1n, 3n);
    clock.now += 3_500;
    const pending = lessor.renew(1n);
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    const r = lessor.prepareRevoke(1n);
    assert.ok(r.ok);
    r.value.commit();
    assert.deepEqual(await pending, { ok: false, error: 'lease-not-found' });
  });

  it('demotion fails waiting renewals with not-primary and stops expiry', async () => {
    const { lessor, clock } = await fresh();
    lessor.promote(0);
    grant(lessor, 1n, 3n);
    clock.now += 4_000;
    const pending = lessor.renew(1n);
    lessor.demote();
    assert.deepEqual(await pending, { ok: false, error: 'not-primary' });
    assert.deepEqual(lessor.expired(10), []);
  });

  it('promotion extends every lease to now + TTL + extension, never cutting it', async () => {
    const { lessor, clock } = await fresh();
    lessor.promote(0);
    grant(lessor, 1n, 10n);
    clock.now += 9_000; // 1 s left under the old leader
    lessor.demote();
    clock.now += 5_000; // leaderless for a while: nothing expires
    assert.deepEqual(lessor.expired(10), []);
    lessor.promote(1_000);
    assert.equal(lessor.timeToLive(1n, false)?.ttl, 11n);
    clock.now += 10_999;
    assert.deepEqual(lessor.expired(10), []);
    clock.now += 2;
    assert.deepEqual(lessor.expired(10), [1n]);
  });

  it('promotion uses a checkpointed remaining TTL when there is one', async () => {
    const { lessor } = await fresh();
    grant(lessor, 1n, 100n);
    const c = lessor.prepareCheckpoint([{ id: 1n, remainingTtl: 30n }, { id: 404n, remainingTtl: 5n }]);
    assert.equal(c.ops.length, 1, 'unknown leases are skipped');
    c.commit();
    lessor.promote(0);
    assert.equal(lessor.timeToLive(1n, false)?.ttl, 30n);
    assert.equal(lessor.timeToLive(1n, false)?.grantedTtl, 100n);
  });

  it('spreads a pile-up of expiries at promotion to at most 3/4 of the revoke rate per second, only later', async () => {
    const { lessor, clock } = await fresh({ revokeRate: 100 });
    for (let i = 1n; i <= 300n; i++) grant(lessor, i, 10n);
    lessor.promote(0);
    const start = clock.now;
    const perSecond = new Map<number, number>();
    for (let i = 1n; i <= 300n; i++) {
      const ttl = Number(lessor.timeToLive(i, false)?.ttl ?? 0n);
      assert.ok(ttl >= 10, `lease ${i} cut to ${ttl}`);
    }
    // Walk the clock second by second and count what becomes due.
    let seen = 0;
    for (let s = 10; s <= 20 && seen < 300; s++) {
      clock.now = start + s * 1000;
      const due = lessor.expired(1000);
      perSecond.set(s, due.length);
      seen += due.length;
      for (const id of due) {
        const r = lessor.prepareRevoke(id);
        assert.ok(r.ok);
        r.value.commit();
      }
    }
    assert.equal(seen, 300);
    for (const [s, n] of perSecond) assert.ok(n <= 75, `${n} leases due in second ${s}`);
  });

  it('lists leases soonest expiry first', async () => {
    const { lessor } = await fresh();
    lessor.promote(0);
    grant(lessor, 1n, 30n);
    grant(lessor, 2n, 10n);
    grant(lessor, 3n, 20n);
    assert.deepEqual(lessor.leases(), [2n, 3n, 1n]);
  });

  it('whenPrimary resolves on promotion, or false after the timeout', async () => {
    const { lessor } = await fresh();
    assert.equal(await lessor.whenPrimary(10), false);
    const w = lessor.whenPrimary(10_000);
    lessor.promote(0);
    assert.equal(await w, true);
    lessor.stop();
  });

  it('the timer proposes expired leases only while primary', async () => {
    const { lessor, clock } = await fresh();
    grant(lessor, 1n, 2n);
    const got: bigint[][] = [];
    lessor.start({ onExpired: (ids) => void got.push([...ids]) }, 10);
    try {
      clock.now += 5_000;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(got.length, 0, 'not primary: nothing reported');
      lessor.promote(0);
      clock.now += 2_001;
      // The lessor's timer is unref'd: poll (bounded) so the test keeps the event loop alive.
      for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got[0], [1n]);
    } finally {
      lessor.stop();
    }
  });
});

describe('lessor checkpoints', () => {
  it('the primary checkpoints long leases every interval with the remaining TTL rounded up', async () => {
    const { lessor, clock } = await fresh({ checkpointIntervalMs: 10_000 });
    lessor.promote(0);
    grant(lessor, 1n, 100n);
    grant(lessor, 2n, 5n); // shorter than one interval: never checkpointed
    clock.now += 9_999;
    assert.deepEqual(lessor.dueCheckpoints(10), []);
    clock.now += 1;
    assert.deepEqual(lessor.dueCheckpoints(10), [{ id: 1n, remainingTtl: 90n }]);
    assert.deepEqual(lessor.dueCheckpoints(10), [], 'unscheduled until the checkpoint is applied');
    const c = lessor.prepareCheckpoint([{ id: 1n, remainingTtl: 90n }]);
    assert.equal(c.ops.length, 1);
    c.commit();
    clock.now += 10_500;
    assert.deepEqual(lessor.dueCheckpoints(10), [{ id: 1n, remainingTtl: 80n }]);
  });

  it('is off without an interval, and persists nothing when persistence is off', async () => {
    const { lessor, clock } = await fresh({ persistCheckpoints: false });
    lessor.promote(0);
    grant(lessor, 1n, 100n);
    clock.now += 600_000;
    assert.deepEqual(lessor.dueCheckpoints(10), []);
    const c = lessor.prepareCheckpoint([{ id: 1n, remainingTtl: 30n }]);
    assert.equal(c.ops.length, 0);
    c.commit();
    lessor.demote();
    lessor.promote(0);
    assert.equal(lessor.timeToLive(1n, false)?.ttl, 30n, 'applied in memory all the same');
  });

  it('a renewal replicates "no checkpoint" before renewing, so a later leader cannot cut the lease', async () => {
    const { lessor } = await fresh({ checkpointIntervalMs: 10_000 });
    const cleared: LeaseCheckpointArg[] = [];
    lessor.start({
      onExpired: () => {},
      onCheckpoint: async (cps) => {
        cleared.push(...cps);
        const c = lessor.prepareCheckpoint(cps);
        c.commit();
      },
    }, 60_000);
    try {
      grant(lessor, 1n, 100n);
      const c = lessor.prepareCheckpoint([{ id: 1n, remainingTtl: 20n }]);
      c.commit();
      lessor.promote(0);
      assert.equal(lessor.timeToLive(1n, false)?.ttl, 20n);
      assert.deepEqual(await lessor.renew(1n), { ok: true, value: 100n });
      assert.deepEqual(cleared, [{ id: 1n, remainingTtl: 0n }]);
      lessor.demote();
      lessor.promote(0);
      assert.equal(lessor.timeToLive(1n, false)?.ttl, 100n);
    } finally {
      lessor.stop();
    }
  });
});

type LeaseCheckpointArg = { readonly id: bigint; readonly remainingTtl: bigint };
