// ReadIndexBatcher: rounds are answered by read states carrying their own context, and only this
// process's contexts count — a read state computed for a previous incarnation of the member (same
// member id, sequence numbers restarting at 1) must not release new reads at its old index.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReadIndexBatcher } from '../../pkg/server/read-index.js';

function batcher(incarnation: number, applied: { v: number }): { b: ReadIndexBatcher; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const inc = Buffer.alloc(8);
  inc.writeUInt32BE(incarnation, 4);
  const b = new ReadIndexBatcher({
    request: (ctx) => {
      sent.push(ctx);
      return true;
    },
    appliedIndex: () => applied.v,
    timeoutMs: 60_000,
    retryMs: 60_000,
    incarnation: inc,
  });
  return { b, sent };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ReadIndexBatcher', () => {
  it('answers a round once its read state arrives and the index is applied', async () => {
    const applied = { v: 5 };
    const { b, sent } = batcher(1, applied);
    let done = false;
    const p = b.wait().then((o) => ((done = true), o));
    await tick();
    assert.equal(sent.length, 1);
    b.onReadState(sent[0] as Uint8Array, 9);
    await tick();
    assert.equal(done, false, 'answered before the read index was applied');
    applied.v = 9;
    b.onApplied(9);
    assert.deepEqual(await p, { ok: true, value: undefined });
    b.failAll('stopped');
  });

  it("ignores read states answering a previous incarnation's requests", async () => {
    const applied = { v: 100 };
    const old = batcher(1, applied);
    // The previous process sent many rounds; the leader answers one of them late, at index 50.
    for (let i = 0; i < 3; i++) {
      void old.b.wait();
      await tick();
    }
    const staleCtx = old.sent[2] as Uint8Array;
    old.b.failAll('stopped');

    const fresh = batcher(2, applied);
    let done = false;
    const p = fresh.b.wait().then((o) => ((done = true), o));
    await tick();
    fresh.b.onReadState(staleCtx, 50); // same sequence numbers, older incarnation: not ours
    await tick();
    assert.equal(done, false, 'a read was released by a read state for another incarnation');
    fresh.b.onReadState(fresh.sent[0] as Uint8Array, 120);
    applied.v = 120;
    fresh.b.onApplied(120);
    assert.deepEqual(await p, { ok: true, value: undefined });
    fresh.b.failAll('stopped');
  });
  it('waitApplied: at once when applied, else in index order as applies arrive, with no raft request', async () => {
    const applied = { v: 5 };
    const { b, sent } = batcher(3, applied);
    assert.deepEqual(await b.waitApplied(5), { ok: true, value: undefined });
    const order: number[] = [];
    const ps = [9, 7, 9, 12].map((i) => b.waitApplied(i).then((o) => (order.push(i), o)));
    await tick();
    assert.equal(sent.length, 0, 'no ReadIndex round');
    applied.v = 8;
    b.onApplied(8);
    await tick();
    assert.deepEqual(order, [7]);
    applied.v = 11;
    b.onApplied(11);
    await tick();
    assert.deepEqual(order, [7, 9, 9]);
    b.failAll('stopped');
    const all = await Promise.all(ps);
    assert.deepEqual(order, [7, 9, 9, 12]);
    assert.equal(all[3]?.ok, false, 'the index never applied fails at shutdown');
  });

  it('waitApplied times out at its deadline', async () => {
    const b = new ReadIndexBatcher({ request: () => true, appliedIndex: () => 1, timeoutMs: 30, retryMs: 30 });
    const alive = setTimeout(() => {}, 10_000); // the batcher's timer is unref'd
    const o = await b.waitApplied(2);
    clearTimeout(alive);
    assert.equal(o.ok, false);
    assert.equal(!o.ok && o.error.kind, 'timeout');
  });
});
