/**
 * Watch guarantees under a random schedule (seeded): writes, watchers created at random start
 * revisions, streams that stop and resume reading, a tiny per-stream budget and small catch-up reads.
 * Every watcher must see exactly the history of its range from its start revision: ordered, unique,
 * no gap, prev_kv = the previous value, one response per revision.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeRange, rangeContains } from '../../../pkg/server/watch/range.js';
import { b, FakeClient, openHub } from './helpers.js';

function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface HistoryEvent {
  readonly rev: bigint;
  readonly key: string;
  readonly type: number;
  readonly value: string;
  readonly prev: string | undefined;
}

describe('watch guarantees (randomised)', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: every watcher gets exactly its history`, async () => {
      const rand = rng(seed);
      const h = await openHub({ maxPendingBytesPerStream: 2048, catchUpMaxEvents: 4 });
      try {
        const keys = ['a', 'a/1', 'a/2', 'b', 'b/1', 'c'];
        const ranges: [string, string][] = [['a', ''], ['a/', 'a0'], ['b', 'c'], ['', '\0'], ['b/1', '']];
        const history: HistoryEvent[] = [];
        const live = new Map<string, string>();
        const clients = [new FakeClient(h.hub), new FakeClient(h.hub), new FakeClient(h.hub)];
        const watchers: { c: FakeClient; id: bigint; range: [string, string]; start: bigint; prevKv: boolean }[] = [];
        const nextId = new Map<FakeClient, bigint>();
        for (let step = 0; step < 300; step++) {
          const op = rand();
          const c = clients[Math.floor(rand() * clients.length)] as FakeClient;
          if (op < 0.6) {
            const key = keys[Math.floor(rand() * keys.length)] as string;
            if (rand() < 0.8 || !live.has(key)) {
              const value = `v${step}`.padEnd(20 + Math.floor(rand() * 300), '.');
              const rev = await h.put(key, value);
              history.push({ rev, key, type: 0, value, prev: live.get(key) });
              live.set(key, value);
            } else {
              const rev = await h.del(key);
              history.push({ rev, key, type: 1, value: '', prev: live.get(key) });
              live.delete(key);
            }
          } else if (op < 0.72) {
            const range = ranges[Math.floor(rand() * ranges.length)] as [string, string];
            const current = h.fx.store.currentRevision;
            const start = rand() < 0.4 ? 0n : BigInt(1 + Math.floor(rand() * Number(current)));
            const prevKv = rand() < 0.5;
            const id = nextId.get(c) ?? 0n;
            nextId.set(c, id + 1n);
            c.create({ key: b(range[0]), rangeEnd: b(range[1]), startRevision: start, prevKv });
            watchers.push({ c, id, range, start: start === 0n ? current + 1n : start, prevKv });
          } else if (op < 0.86) {
            c.stopReading();
          } else {
            c.resumeReading();
          }
        }
        for (const c of clients) c.resumeReading();
        await h.hub.idle();
        assert.ok(watchers.length >= 10);
        for (const w of watchers) {
          const r = normalizeRange(b(w.range[0]), b(w.range[1]));
          assert.ok(r !== null);
          const want = history
            .filter((e) => e.rev >= w.start && rangeContains(r, b(e.key)))
            .map((e) => [e.rev, e.key, e.type, e.value, w.prevKv && !(e.type === 0 && e.prev === undefined) ? e.prev : undefined]);
          const got = w.c.eventsOf(w.id).map((e) => [e[3], e[1], e[0], e[2], e[4]]);
          assert.deepEqual(got, want, `watcher ${w.id} range ${JSON.stringify(w.range)} from ${w.start}`);
          const responses = w.c.responses.filter((x) => x.watchId === w.id && x.events.length > 0);
          const revsPerResponse = responses.map((x) => new Set(x.events.map((e) => e.kv?.modRevision)));
          const seen = new Set<bigint | undefined>();
          for (const set of revsPerResponse) for (const rev of set) {
            assert.ok(!seen.has(rev), `revision ${rev} split across responses`);
            seen.add(rev);
          }
        }
        assert.ok(h.hub.stats().demotions > 0, 'the schedule exercised slow streams');
      } finally {
        await h.close();
      }
    });
  }
});
