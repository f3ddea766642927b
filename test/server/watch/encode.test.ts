import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WatchResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { eventField, eventPayload, headerField, responsesFor, watchIdField } from '../../../pkg/server/watch/encode.js';
import { EventType, type Event } from '../../../pkg/storage/mvcc/index.js';

const kv = (key: string, value: string, rev: bigint): Event['kv'] => ({
  key: new Uint8Array(Buffer.from(key)),
  value: new Uint8Array(Buffer.from(value)),
  createRevision: 2n,
  modRevision: rev,
  version: 2n,
  lease: 0n,
});

const header = { clusterId: 11n, memberId: 22n, revision: 9n, raftTerm: 3n };

describe('watch response encoding', () => {
  it('watch_id field ++ shared header and events decodes as the full response', () => {
    const events: Event[] = [
      { type: EventType.PUT, kv: kv('a', 'x', 9n), prevKv: kv('a', 'old', 5n) },
      { type: EventType.DELETE, kv: kv('b', '', 9n) },
    ];
    const p = eventPayload(headerField(header), events.map((e) => eventField(e, true)));
    for (const id of [0n, 1n, 123456789012n, -1n]) {
      const [bytes, ...rest] = responsesFor(watchIdField(id), p);
      assert.equal(rest.length, 0);
      const r = WatchResponse.decode(bytes as Buffer);
      assert.equal(r.watchId, id);
      assert.deepEqual(r.header, header);
      assert.equal(r.events.length, 2);
      assert.equal(Buffer.from(r.events[0]?.prevKv?.value ?? []).toString(), 'old');
      assert.equal(r.events[1]?.type, 1);
    }
    const noPrev = WatchResponse.decode(responsesFor(watchIdField(4n), eventPayload(headerField(header), [eventField(events[0] as Event, false)]))[0] as Buffer);
    assert.equal(noPrev.events[0]?.prevKv, undefined, 'prev_kv stripped when not asked');
  });

  it('fragments like etcd: only at or above the limit and with two or more events; all but the last flagged', () => {
    const big = (i: number): Event => ({ type: EventType.PUT, kv: kv(`k${i}`, 'v'.repeat(1000), 9n) });
    const events = Array.from({ length: 7 }, (_, i) => eventField(big(i), false));
    const p = eventPayload(headerField(header), events);
    const id = watchIdField(5n);
    assert.equal(responsesFor(id, p, p.size + id.length + 1).length, 1, 'under the limit: one response');
    const one = eventPayload(headerField(header), [eventField(big(0), false)]);
    assert.equal(responsesFor(id, one, 10).length, 1, 'a single event is never split');
    const limit = 2500;
    const frags = responsesFor(id, p, limit).map((x) => WatchResponse.decode(x));
    assert.ok(frags.length >= 3);
    assert.deepEqual(frags.map((f) => f.fragment), [...frags.slice(1).map(() => true), false]);
    assert.equal(frags.flatMap((f) => f.events).length, 7);
    assert.deepEqual(frags.flatMap((f) => f.events.map((e) => Buffer.from(e.kv?.key ?? []).toString())), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    for (const f of frags) {
      assert.equal(f.watchId, 5n);
      assert.deepEqual(f.header, header);
      if (f.events.length > 1) assert.ok(WatchResponse.encode(f).finish().length < limit, 'a multi-event fragment stays under the limit');
    }
  });
});
