import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { WatchCreateRequest_FilterType } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { b, FakeClient, openHub, type HubFixture } from './helpers.js';

const PUT = 0;
const DELETE = 1;

describe('WatchHub', () => {
  let h: HubFixture;
  beforeEach(async () => {
    h = await openHub();
  });
  afterEach(async () => {
    await h.close();
  });

  describe('matching', () => {
    it('delivers to exact-key, prefix and from-key watchers only the events in their range', async () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('foo') }); // 0: exactly foo
      c.create({ key: b('foo'), rangeEnd: b('fop') }); // 1: prefix foo
      c.create({ key: b('g'), rangeEnd: b('\0') }); // 2: every key >= g
      c.create({ key: b(''), rangeEnd: b('\0') }); // 3: every key
      await h.put('foo', '1');
      await h.put('foo/bar', '2');
      await h.put('fo', '3');
      await h.put('zzz', '4');
      const keys = (id: bigint): string[] => c.eventsOf(id).map((e) => e[1]);
      assert.deepEqual(keys(0n), ['foo']);
      assert.deepEqual(keys(1n), ['foo', 'foo/bar']);
      assert.deepEqual(keys(2n), ['zzz']);
      assert.deepEqual(keys(3n), ['foo', 'foo/bar', 'fo', 'zzz']);
    });

    it('keeps all events of one revision in one response, in order', async () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('k'), rangeEnd: b('l') });
      await h.put('k1', 'a');
      await h.put('k2', 'b');
      const rev = await h.del('k', 'l');
      const last = c.responses[c.responses.length - 1];
      assert.equal(last?.header?.revision, rev);
      assert.deepEqual(
        last?.events.map((e) => [e.type, Buffer.from(e.kv?.key ?? []).toString()]),
        [[DELETE, 'k1'], [DELETE, 'k2']],
      );
    });

    it('applies NOPUT / NODELETE and prev_kv per watcher', async () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('x'), filters: [WatchCreateRequest_FilterType.NOPUT] });
      c.create({ key: b('x'), filters: [WatchCreateRequest_FilterType.NODELETE], prevKv: true });
      c.create({ key: b('x') });
      await h.put('x', 'v1');
      await h.put('x', 'v2');
      await h.del('x');
      assert.deepEqual(c.eventsOf(0n).map((e) => e[0]), [DELETE]);
      assert.deepEqual(c.eventsOf(1n).map((e) => [e[0], e[2], e[4]]), [[PUT, 'v1', undefined], [PUT, 'v2', 'v1']]);
      assert.deepEqual(c.eventsOf(2n).map((e) => e[4]), [undefined, undefined, undefined], 'prev_kv only when asked');
      assert.equal(c.responses.filter((r) => r.watchId === 0n && r.events.length > 0).length, 1, 'no empty responses for filtered revisions');
    });

    it('encodes a revision once for all watchers that receive the same events', async () => {
      const clients = Array.from({ length: 5 }, () => new FakeClient(h.hub));
      for (const c of clients) for (let i = 0; i < 20; i++) c.create({ key: b('p/'), rangeEnd: b('p0') });
      clients[0]?.create({ key: b('p/'), rangeEnd: b('p0'), prevKv: true });
      const before = h.hub.stats();
      await h.put('p/a', 'v');
      const after = h.hub.stats();
      assert.equal(after.liveResponses - before.liveResponses, 101);
      assert.equal(after.encodings - before.encodings, 2, 'one encoding without prev_kv, one with');
      assert.deepEqual(clients[3]?.eventsOf(19n).map((e) => e[2]), ['v']);
    });
  });

  describe('catch-up from history', () => {
    it('replays a past start revision in order with prev_kv, then joins the live feed without gap or duplicate', async () => {
      const r1 = await h.put('a', '1');
      await h.put('b', 'x');
      await h.put('a', '2');
      await h.del('a');
      const c = new FakeClient(h.hub);
      c.create({ key: b('a'), startRevision: r1, prevKv: true });
      await h.hub.idle();
      const live = await h.put('a', '3');
      assert.deepEqual(c.eventsOf(0n), [
        [PUT, 'a', '1', r1, undefined],
        [PUT, 'a', '2', r1 + 2n, '1'],
        [DELETE, 'a', '', r1 + 3n, '2'],
        [PUT, 'a', '3', live, undefined],
      ]);
      assert.equal(c.responses[0]?.created, true, 'created comes first');
    });

    it('catches up in bounded chunks while writes keep coming, never missing or repeating a revision', async () => {
      const h2 = await openHub({ catchUpMaxEvents: 3 });
      try {
        const first = await h2.put('k', '0');
        for (let i = 1; i < 20; i++) await h2.put('k', String(i));
        const c = new FakeClient(h2.hub);
        c.create({ key: b('k'), startRevision: first });
        // writes interleave with the catch-up reads
        for (let i = 20; i < 40; i++) await h2.put('k', String(i));
        await h2.hub.idle();
        for (let i = 40; i < 45; i++) await h2.put('k', String(i));
        const revs = c.eventsOf(0n).map((e) => e[3]);
        assert.deepEqual(revs, Array.from({ length: 45 }, (_, i) => first + BigInt(i)));
        assert.ok(c.responses.length > 5, 'history came in several chunks');
      } finally {
        await h2.close();
      }
    });

    it('a compacted start revision: created, then canceled with compact_revision; the compaction revision itself is fine', async () => {
      const r1 = await h.put('c', '1');
      await h.put('c', '2');
      const r3 = await h.put('c', '3');
      await h.compact(r3);
      const c = new FakeClient(h.hub);
      c.create({ key: b('c'), startRevision: r1 });
      c.create({ key: b('c'), startRevision: r3 });
      await h.hub.idle();
      assert.equal(c.responses[0]?.created, true);
      const gone = c.responses.find((r) => r.watchId === 0n && r.canceled);
      assert.equal(gone?.compactRevision, r3);
      assert.deepEqual(c.eventsOf(1n).map((e) => e[2]), ['3']);
      // a compacted watcher keeps its ID until canceled, like etcd
      c.stream.cancel(0n);
      assert.equal(c.responses[c.responses.length - 1]?.canceled, true);
    });

    it('a future start revision waits for it', async () => {
      const now = h.fx.store.currentRevision;
      const c = new FakeClient(h.hub);
      c.create({ key: b('f'), startRevision: now + 2n });
      await h.put('f', 'skipped');
      const r = await h.put('f', 'seen');
      assert.deepEqual(c.eventsOf(0n).map((e) => [e[2], e[3]]), [['seen', r]]);
    });

    it('refuses a negative start revision and an empty range like etcd', () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('a'), startRevision: -1n });
      c.create({ key: b('b'), rangeEnd: b('a') });
      assert.deepEqual(
        c.responses.map((r) => [r.watchId, r.created, r.canceled, r.cancelReason]),
        [
          [-1n, true, true, 'etcdserver: mvcc: required revision has been compacted'],
          [-1n, true, true, 'mvcc: watcher range is empty'],
        ],
      );
    });
  });

  describe('stream IDs and cancel', () => {
    it('assigns IDs from 0 per stream skipping client-chosen ones; refuses duplicates; ignores unknown cancels', async () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('a'), watchId: 1n });
      c.create({ key: b('a') });
      c.create({ key: b('a') });
      c.create({ key: b('a'), watchId: 1n });
      c.stream.cancel(99n);
      c.stream.cancel(0n);
      assert.deepEqual(
        c.responses.map((r) => [r.watchId, r.created, r.canceled]),
        [[1n, true, false], [0n, true, false], [2n, true, false], [-1n, true, true], [0n, false, true]],
      );
      assert.equal(c.responses[3]?.cancelReason, 'mvcc: duplicate watch ID provided on the WatchStream');
      const other = new FakeClient(h.hub);
      other.create({ key: b('a') });
      assert.equal(other.responses[0]?.watchId, 0n, 'IDs are per stream');
      await h.put('a', 'v');
      assert.equal(c.eventsOf(0n).length, 0, 'canceled watcher gets nothing');
      assert.equal(c.eventsOf(2n).length, 1);
    });

    it('closing a stream removes its watchers from the hub', async () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('a') });
      c.create({ key: b('a'), rangeEnd: b('b') });
      assert.equal(h.hub.stats().synced, 2);
      c.stream.close();
      assert.deepEqual([h.hub.stats().synced, h.hub.stats().streams], [0, 0]);
      await h.put('a', 'v');
      assert.equal(c.eventsOf(0n).length, 0);
    });
  });

  describe('slow watchers', () => {
    it('a stream that does not read costs at most its budget; others and writes go on; it catches up later without gaps', async () => {
      const budget = 64 * 1024;
      const hs = await openHub({ maxPendingBytesPerStream: budget });
      try {
        const slow = new FakeClient(hs.hub);
        const fast = new FakeClient(hs.hub);
        slow.create({ key: b('s/'), rangeEnd: b('s0') });
        fast.create({ key: b('s/'), rangeEnd: b('s0') });
        slow.stopReading();
        const value = 'v'.repeat(4096);
        const revs: bigint[] = [];
        let maxPending = 0;
        for (let i = 0; i < 200; i++) {
          revs.push(await hs.put(`s/${i % 7}`, value));
          maxPending = Math.max(maxPending, slow.stream.pendingBytes);
        }
        assert.ok(maxPending <= budget, `pending ${maxPending} within budget ${budget}`);
        assert.ok(hs.hub.stats().demotions >= 1, 'the slow watcher was moved to unsynced');
        assert.equal(hs.hub.stats().unsynced, 1);
        assert.deepEqual(fast.eventsOf(0n).map((e) => e[3]), revs, 'the other stream got everything live');
        slow.resumeReading();
        await hs.hub.idle();
        for (let i = 0; i < 5; i++) revs.push(await hs.put(`s/${i}`, 'tail'));
        assert.deepEqual(slow.eventsOf(0n).map((e) => e[3]), revs, 'ordered, unique, no gap');
        assert.equal(hs.hub.stats().unsynced, 0, 'synced again');
      } finally {
        await hs.close();
      }
    });
  });

  describe('request backpressure', () => {
    it('whenRoom waits until a stream that stopped reading has drained to half its budget', async () => {
      const hs = await openHub({ maxPendingBytesPerStream: 1024 });
      try {
        const c = new FakeClient(hs.hub);
        c.create({ key: b('w') });
        c.stopReading();
        for (let i = 0; i < 5; i++) await hs.put('w', 'x'.repeat(400));
        let ran = false;
        c.stream.whenRoom(() => (ran = true));
        assert.equal(ran, false);
        assert.ok(c.stream.pendingBytes <= 1024);
        c.resumeReading();
        assert.equal(ran, true);
        await hs.hub.idle();
        assert.equal(c.eventsOf(0n).length, 5, 'the demoted watcher caught up');
      } finally {
        await hs.close();
      }
    });
  });

  describe('progress', () => {
    it('answers a progress request with one watch_id -1 response at the published revision when all watchers are synced', async () => {
      const c = new FakeClient(h.hub);
      c.create({ key: b('a') });
      const rev = await h.put('z', 'v');
      c.stream.requestProgress();
      const p = c.responses[c.responses.length - 1];
      assert.deepEqual([p?.watchId, p?.header?.revision, p?.events.length], [-1n, rev, 0]);
    });

    it('defers the progress response until every watcher is synced, and never ahead of delivered events', async () => {
      const first = await h.put('a', '1');
      for (let i = 2; i < 10; i++) await h.put('a', String(i));
      const c = new FakeClient(h.hub);
      c.create({ key: b('a') }); // synced
      c.create({ key: b('a'), startRevision: first }); // unsynced until its catch-up ends
      c.stream.requestProgress();
      c.stream.requestProgress(); // coalesced with the first
      assert.equal(c.responses.filter((r) => r.watchId === -1n).length, 0, 'not yet: a watcher is catching up');
      await h.hub.idle();
      const progress = c.responses.filter((r) => r.watchId === -1n);
      assert.equal(progress.length, 1);
      const at = c.responses.findIndex((r) => r.watchId === -1n);
      const delivered = c.responses.slice(0, at).flatMap((r) => r.events.map((e) => e.kv?.modRevision ?? 0n));
      assert.equal(delivered.length, 9, 'all history was delivered before the progress response');
      assert.ok((progress[0]?.header?.revision ?? 0n) >= (delivered[delivered.length - 1] ?? 0n));
    });

    it('a stream with no watchers gets no progress response (etcd)', () => {
      const c = new FakeClient(h.hub);
      c.stream.requestProgress();
      assert.equal(c.responses.length, 0);
    });

    it('progress_notify: an idle synced watcher gets an empty response per interval; one with events skips a tick', async (t) => {
      t.mock.timers.enable({ apis: ['setInterval'] });
      const hp = await openHub({ progressNotifyIntervalMs: 1000 });
      try {
        const c = new FakeClient(hp.hub);
        c.create({ key: b('n'), progressNotify: true });
        c.create({ key: b('n') }); // did not ask
        t.mock.timers.tick(1000);
        const notes = (): number => c.responses.filter((r) => r.watchId === 0n && !r.created && r.events.length === 0).length;
        assert.equal(notes(), 1);
        await hp.put('n', 'v');
        t.mock.timers.tick(1000); // events were sent since the last tick: skipped
        assert.equal(notes(), 1);
        t.mock.timers.tick(1000);
        assert.equal(notes(), 2);
        assert.equal(c.responses.filter((r) => r.watchId === 1n && r.events.length === 0 && !r.created).length, 0);
      } finally {
        await hp.close();
      }
    });
  });
});

describe('WatchHub catch-up prev_kv across several versions', () => {
  it('each replayed event carries the value just before it, not the latest one', async () => {
    const h = await openHub();
    try {
      const r1 = await h.put('m', '1');
      await h.put('m', '2');
      await h.put('m', '3');
      await h.put('m', '4');
      const c = new FakeClient(h.hub);
      c.create({ key: b('m'), startRevision: r1, prevKv: true });
      await h.hub.idle();
      assert.deepEqual(c.eventsOf(0n).map((e) => [e[2], e[4]]), [['1', undefined], ['2', '1'], ['3', '2'], ['4', '3']]);
    } finally {
      await h.close();
    }
  });
});
