import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { unwrap } from '../../storage/mvcc/helpers.js';
import { b, FakeClient, openHub, type HubFixture } from './helpers.js';

/** Writes to the store without publishing: what a raft snapshot install does to the hub's view. */
async function silentPut(h: HubFixture, key: string, value: string): Promise<bigint> {
  const p = unwrap(await h.fx.store.put({ key: b(key), value: b(value) }));
  return p.revision;
}

describe('WatchHub.resync (after a raft snapshot install)', () => {
  let h: HubFixture;
  beforeEach(async () => {
    h = await openHub();
  });
  afterEach(async () => {
    await h.close();
  });

  it('synced watchers catch up every event of the jump from storage, once and in order', async () => {
    const c = new FakeClient(h.hub);
    c.create({ key: b('k'), rangeEnd: b('l') });
    c.create({ key: b('other') });
    await h.put('k1', 'a');
    await h.put('zz', 'unrelated'); // advances the published revision past what the k watcher matched
    for (let i = 2; i <= 6; i++) await silentPut(h, `k${i}`, String(i));
    h.hub.resync();
    await h.hub.idle();
    assert.deepEqual(c.eventsOf(0n).map((e) => e[1]), ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    assert.deepEqual(c.eventsOf(1n), []);
    // Live again afterwards.
    await h.put('k7', '7');
    await h.hub.idle();
    assert.deepEqual(c.eventsOf(0n).map((e) => e[1]).slice(-1), ['k7']);
    assert.equal(c.eventsOf(0n).length, 7);
  });

  it('a watcher whose next revision was compacted away in the new state is canceled with the compact revision', async () => {
    const c = new FakeClient(h.hub);
    c.create({ key: b('k'), rangeEnd: b('l') });
    await h.put('k1', 'a');
    let last = 0n;
    for (let i = 2; i <= 5; i++) last = await silentPut(h, `k${i}`, String(i));
    await h.compact(last);
    h.hub.resync();
    await h.hub.idle();
    const end = c.responses[c.responses.length - 1];
    assert.equal(end?.canceled, true);
    assert.equal(end?.compactRevision, last);
  });
});
