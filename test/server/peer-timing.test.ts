import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newMessage } from '../../pkg/raft/index.js';
import { PeerTiming } from '../../pkg/server/peer-timing.js';

function timing(): { t: PeerTiming; clock: { now: number }; late: number[]; rtt: [bigint, number][] } {
  const clock = { now: 0 };
  const late: number[] = [];
  const rtt: [bigint, number][] = [];
  const t = new PeerTiming({
    heartbeatMs: 100,
    staleMs: 1000,
    late: () => late.push(clock.now),
    roundTrip: (peer, s) => rtt.push([peer, s]),
    now: () => clock.now,
  });
  return { t, clock, late, rtt };
}

const hb = (to: bigint) => newMessage({ type: 'heartbeat', from: 1n, to });
const resp = (from: bigint) => newMessage({ type: 'heartbeat-resp', from, to: 1n });

test('a heartbeat sent more than two intervals after the previous one to that peer is a send failure', () => {
  const { t, clock, late } = timing();
  t.sent([hb(2n), hb(3n)]);
  clock.now = 200;
  t.sent([hb(2n)]); // exactly 2 intervals: on time
  clock.now = 401;
  t.sent([hb(2n), hb(3n)]); // 201 ms after the last to 2, 401 ms after the last to 3
  assert.deepEqual(late, [401, 401]);
  t.reset();
  clock.now = 2000;
  t.sent([hb(2n)]); // a new term: no previous send to compare with
  assert.equal(late.length, 2);
});

test('round trip: heartbeat to its response, per peer; other messages are ignored', () => {
  const { t, clock, rtt } = timing();
  t.sent([hb(2n), newMessage({ type: 'app', from: 1n, to: 3n })]);
  clock.now = 5;
  t.sent([hb(2n)]); // the first outstanding one is measured
  clock.now = 12;
  t.received(resp(2n));
  t.received(resp(2n)); // nothing outstanding any more
  t.received(resp(3n));
  assert.deepEqual(rtt, [[2n, 0.012]]);
});

test('an outstanding heartbeat older than staleMs is replaced (its response was lost)', () => {
  const { t, clock, rtt } = timing();
  t.sent([hb(2n)]);
  clock.now = 1500;
  t.sent([hb(2n)]);
  clock.now = 1503;
  t.received(resp(2n));
  assert.deepEqual(rtt, [[2n, 0.003]]);
});
