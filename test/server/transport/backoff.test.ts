import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../../pkg/server/transport/backoff.js';
import { peerAddress } from '../../../pkg/server/transport/peer-url.js';

test('reconnect backoff doubles from 100 ms to 5 s with equal jitter', () => {
  const at = (attempt: number, r: number): number => backoffDelay(attempt, { baseMs: 100, maxMs: 5000, random: () => r });
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((a) => at(a, 0.999999)).map(Math.round), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  assert.deepEqual([0, 1, 6, 1000].map((a) => at(a, 0)), [50, 100, 2500, 2500]);
});

test('peer URLs become grpc targets; anything else is an error value', () => {
  assert.deepEqual(peerAddress('http://127.0.0.1:2380'), { ok: true, secure: false, host: '127.0.0.1', port: 2380, target: '127.0.0.1:2380' });
  assert.deepEqual(peerAddress('https://[::1]:2380'), { ok: true, secure: true, host: '::1', port: 2380, target: '[::1]:2380' });
  assert.deepEqual(peerAddress('http://node-1.example'), { ok: true, secure: false, host: 'node-1.example', port: 80, target: 'node-1.example:80' });
  assert.equal(peerAddress('unix:///tmp/x').ok, false);
  const bad = peerAddress('not a url');
  assert.ok(!bad.ok);
  assert.equal(bad.message, 'transport: invalid peer URL "not a url"');
});
