import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaderWatch } from '../../../pkg/server/watch/index.js';

describe('LeaderWatch (hasleader streams)', () => {
  it('fires only after the leader has been gone for the whole timeout', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const lw = new LeaderWatch(1n, 300);
    let fired = 0;
    lw.onLost(() => fired++);
    lw.update(0n);
    assert.equal(lw.hasLeader(), false);
    t.mock.timers.tick(200);
    lw.update(2n); // regained in time
    t.mock.timers.tick(500);
    assert.equal(fired, 0);
    lw.update(0n);
    t.mock.timers.tick(299);
    assert.equal(fired, 0);
    t.mock.timers.tick(1);
    assert.equal(fired, 1);
    lw.stop();
  });

  it('unsubscribed listeners are not called', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const lw = new LeaderWatch(1n, 100);
    let fired = 0;
    const off = lw.onLost(() => fired++);
    off();
    lw.update(0n);
    t.mock.timers.tick(100);
    assert.equal(fired, 0);
    lw.stop();
  });
});
