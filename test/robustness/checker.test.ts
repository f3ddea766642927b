// The robustness checker on small hand-made histories: a correct one passes, and each kind of
// violation (stale read, lost write, double apply, phantom write, watch gap, bad prev_kv, member
// divergence) is reported.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { check } from '../../e2e/robustness/checker.js';
import type { History, Kv, Op, Operation, Result, WatchEvent, WatchSession } from '../../e2e/robustness/history.js';

const P = '/t/';
const kv = (key: string, value: string, create: number, mod: number, version: number): Kv => ({ key: P + key, value, create, mod, version, lease: 0 });
const put = (k: Kv, prev: Kv | null = null): WatchEvent => ({ type: 'put', kv: k, prev });
const del = (key: string, mod: number, prev: Kv): WatchEvent => ({ type: 'delete', kv: { key: P + key, value: '', create: 0, mod, version: 0, lease: 0 }, prev });

function op(id: number, o: Op, call: number, ret: number | null, rev: number, result: Result | null): Operation {
  return { id, client: 0, endpoint: 'e', op: o, call, ret, rev, result, error: ret === null ? 'timeout' : null, definiteFailure: false };
}
function main(id: number, events: WatchEvent[][]): WatchSession {
  return {
    id, watcher: id, endpoint: 'e', key: P, end: '/t0', startRevision: 1, prevKv: true, createdRev: 1, main: true,
    responses: events.map((evs) => ({ at: 0, rev: evs[0]?.kv.mod ?? 0, events: evs, progress: false, canceled: false, compactRevision: 0 })),
  };
}

/** a=o1 @2, b=o2 @3, delete a @4; reads in between. */
function good(): History {
  const a2 = kv('a', 'o1', 2, 2, 1);
  const b3 = kv('b', 'o2', 3, 3, 1);
  const events = [[put(a2)], [put(b3)], [del('a', 4, a2)]];
  return {
    seed: 1, members: 1, prefix: P,
    operations: [
      op(1, { kind: 'put', key: P + 'a', value: 'o1', lease: 0, prevKv: false }, 0, 10, 2, { kind: 'put', prev: null }),
      op(2, { kind: 'put', key: P + 'b', value: 'o2', lease: 0, prevKv: false }, 11, 20, 3, { kind: 'put', prev: null }),
      op(3, { kind: 'range', key: P + 'a', end: '', limit: 0, revision: 0 }, 21, 22, 3, { kind: 'range', kvs: [a2], count: 1, more: false }),
      op(4, { kind: 'delete', key: P + 'a', end: '', prevKv: true }, 23, 30, 4, { kind: 'delete', deleted: 1, prevs: [a2] }),
      op(5, { kind: 'txn', compares: [{ key: P + 'b', target: 'mod', op: '=', value: 2 }], success: [{ kind: 'put', key: P + 'b', value: 'o5', lease: 0, prevKv: false }], failure: [{ kind: 'range', key: P + 'b', end: '', limit: 0, revision: 0 }] }, 31, 32, 4, { kind: 'txn', succeeded: false, results: [{ kind: 'range', kvs: [b3], count: 1, more: false }] }),
      op(6, { kind: 'put', key: P + 'c', value: 'o6', lease: 0, prevKv: false }, 33, null, 0, null),
    ],
    watches: [main(1, events), main(2, events)],
    final: [{ endpoint: 'e', rev: 4, kvs: [b3], hash: 7, hashRev: 4, compactRev: 0 }],
  };
}

describe('robustness checker', () => {
  it('accepts a correct history (an unknown write that never happened included)', () => {
    const r = check(good());
    assert.deepEqual(r.errors, []);
    assert.equal(r.stats['placed.acked'], 3);
  });

  it('reports a stale read', () => {
    const h = good();
    // Read invoked after b was acknowledged (rev 3) but answered at revision 2.
    h.operations[2] = op(3, { kind: 'range', key: P + 'a', end: '', limit: 0, revision: 0 }, 21, 22, 2, { kind: 'range', kvs: [kv('a', 'o1', 2, 2, 1)], count: 1, more: false });
    assert.match(check(h).errors.join('\n'), /stale read/);
  });

  it('reports a read whose data does not match its revision', () => {
    const h = good();
    h.operations[2] = op(3, { kind: 'range', key: P + 'a', end: '', limit: 0, revision: 0 }, 21, 22, 3, { kind: 'range', kvs: [], count: 0, more: false });
    assert.match(check(h).errors.join('\n'), /read 3 .* returned/);
  });

  it('reports an acknowledged write missing from the log', () => {
    const h = good();
    h.operations.push(op(7, { kind: 'put', key: P + 'd', value: 'o7', lease: 0, prevKv: false }, 40, 41, 4, { kind: 'put', prev: null }));
    assert.match(check(h).errors.join('\n'), /write 7 .* lost|answered at revision/);
  });

  it('reports a write applied twice and a write nobody made', () => {
    const g = good();
    const again = [put(kv('a', 'o1', 5, 5, 1))];
    const ghost = [put(kv('z', 'zzz', 6, 6, 1))];
    const h: History = { ...g, watches: [main(1, [...g.watches[0]!.responses.map((r) => [...r.events]), again, ghost])], final: [] };
    const errs = check(h).errors.join('\n');
    assert.match(errs, /applied twice/);
    assert.match(errs, /no client operation wrote/);
  });

  it('reports a gap in the revision log and in one watcher', () => {
    const h = good();
    const w = h.watches[1]!;
    h.watches[1] = { ...w, responses: w.responses.filter((_, i) => i !== 1) };
    assert.match(check(h).errors.join('\n'), /watch session 2 .* event #1/);
    h.watches[0] = { ...h.watches[0]!, responses: h.watches[0]!.responses.filter((_, i) => i !== 1) };
    assert.match(check(h).errors.join('\n'), /revision 3 is missing from every watch/);
  });

  it('reports a wrong prev_kv and a progress notification ahead of delivered events', () => {
    const h = good();
    const w = h.watches[1]!;
    const bad = w.responses.map((r, i) => (i === 2 ? { ...r, events: [{ ...r.events[0]!, prev: null }] } : r));
    bad.splice(1, 0, { at: 0, rev: 3, events: [], progress: true, canceled: false, compactRevision: 0 });
    h.watches[1] = { ...w, responses: bad };
    const errs = check(h).errors.join('\n');
    assert.match(errs, /prev_kv of \/t\/a at 4/);
    assert.match(errs, /event at revision 3 after a progress notification at 3/);
  });

  it('accepts a missing prev_kv only when the previous revision was compacted before the event was received', () => {
    // Regression (seed 22, power-loss run): a range watch from the compact revision got the event at
    // that revision without prev_kv, as etcd sends it (the lookup at mod-1 is compacted).
    const h = good();
    const w = h.watches[1]!;
    h.watches[1] = { ...w, responses: w.responses.map((r, i) => (i === 2 ? { ...r, at: 50, events: [{ ...r.events[0]!, prev: null }] } : r)) };
    h.operations.push(op(7, { kind: 'compact', revision: 4 }, 40, 45, 4, { kind: 'compact' }));
    assert.deepEqual(check(h).errors, []);
    assert.equal(check(h).stats['watch.prevkv-compacted'], 1);
    // The same compaction sent after the event arrived does not excuse it.
    h.operations[6] = op(7, { kind: 'compact', revision: 4 }, 60, 65, 4, { kind: 'compact' });
    assert.match(check(h).errors.join('\n'), /prev_kv of \/t\/a at 4 is null/);
  });

  it('reports members that disagree after heal', () => {
    const h = good();
    h.final.push({ endpoint: 'f', rev: 4, kvs: [], hash: 8, hashRev: 4, compactRev: 0 });
    const errs = check(h).errors.join('\n');
    assert.match(errs, /member f at revision 4/);
    assert.match(errs, /HashKV differs at revision 4/);
  });
});
