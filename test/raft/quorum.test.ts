import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Inflights } from '../../pkg/raft/inflights.js';
import { RaftLog } from '../../pkg/raft/log.js';
import { MemoryStorage } from '../../pkg/raft/memory-storage.js';
import { jointCommitted, jointVoteResult, majorityCommitted, majorityVoteResult } from '../../pkg/raft/quorum.js';
import { EntryType } from '../../pkg/raft/types.js';

const set = (...ids: bigint[]) => new Set(ids);

describe('quorum arithmetic', () => {
  it('majority commit index is the highest index acked by a majority', () => {
    const m = new Map([[1n, 5], [2n, 3], [3n, 9]]);
    assert.equal(majorityCommitted(set(1n, 2n, 3n), (id) => m.get(id)), 5);
    assert.equal(majorityCommitted(set(1n, 2n, 3n, 4n), (id) => m.get(id)), 3);
    assert.equal(majorityCommitted(set(1n), (id) => m.get(id)), 5);
  });

  it('majority commit index matches sorting every ack, for sizes 1..9 in any order (seeded)', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const n = 1 + rnd(9);
      const acks = new Map<bigint, number>();
      const ids: bigint[] = [];
      for (let i = 0; i < n; i++) {
        ids.push(BigInt(i + 1));
        if (rnd(5) > 0) acks.set(BigInt(i + 1), rnd(4) === 0 ? 7 : rnd(100)); // ties, and missing acks
      }
      const want = ids.map((id) => acks.get(id) ?? 0).sort((a, b) => b - a)[n >> 1];
      assert.equal(majorityCommitted(new Set(ids), (id) => acks.get(id)), want, `round ${round}: acks ${[...acks.values()].join(',')} of ${n}`);
    }
  });

  it('joint commit index is the minimum of both majorities', () => {
    const m = new Map([[1n, 9], [2n, 9], [3n, 1], [4n, 2], [5n, 2]]);
    assert.equal(jointCommitted([set(1n, 2n, 3n), set(3n, 4n, 5n)], (id) => m.get(id)), 2);
    assert.equal(jointCommitted([set(1n, 2n, 3n), set()], (id) => m.get(id)), 9);
  });

  it('vote results: won / pending / lost, joint needs both', () => {
    const v = new Map([[1n, true], [2n, false]]);
    assert.equal(majorityVoteResult(set(1n, 2n, 3n), v), 'pending');
    assert.equal(majorityVoteResult(set(1n, 2n, 3n), new Map([...v, [3n, true]])), 'won');
    assert.equal(majorityVoteResult(set(1n, 2n, 3n), new Map([...v, [3n, false]])), 'lost');
    const won = new Map([[1n, true], [2n, true], [4n, false], [5n, false]]);
    assert.equal(jointVoteResult([set(1n, 2n, 3n), set(1n, 4n, 5n)], won), 'lost');
    assert.equal(jointVoteResult([set(1n, 2n, 3n), set(3n, 4n)], new Map([[1n, true], [2n, true]])), 'pending');
  });
});

describe('inflights', () => {
  it('is bounded by count and by bytes, and frees acknowledged messages', () => {
    const f = new Inflights(3, 0);
    f.add(1, 10);
    f.add(2, 10);
    f.add(3, 10);
    assert.equal(f.full(), true);
    f.freeLE(2);
    assert.equal(f.count(), 1);
    f.add(4, 10);
    f.add(5, 10);
    assert.throws(() => f.add(6, 10));
    const b = new Inflights(10, 25);
    b.add(1, 10);
    b.add(2, 10);
    assert.equal(b.full(), false);
    b.add(3, 10);
    assert.equal(b.full(), true);
    b.freeFirstOne();
    assert.equal(b.bytes(), 20);
  });
});

describe('raft log', () => {
  const ent = (index: number, term: number) => ({ index, term, type: EntryType.Normal, data: new Uint8Array(0) });

  it('maybeAppend truncates a conflicting suffix and never below committed', () => {
    const s = new MemoryStorage({ voters: [1n] });
    const log = new RaftLog(s, 0, Infinity);
    log.append([ent(1, 1), ent(2, 1), ent(3, 2)]);
    assert.equal(log.maybeAppend(1, 1, 1, [ent(2, 1), ent(3, 3), ent(4, 3)]), 4);
    assert.equal(log.termOrZero(3), 3);
    assert.equal(log.committed, 1);
    assert.equal(log.maybeAppend(2, 9, 1, [ent(3, 9)]), undefined, 'mismatch at prev');
    assert.throws(() => log.maybeAppend(0, 0, 1, [ent(1, 7)]));
  });

  it('findConflictByTerm skips to the last index whose term is <= the given term', () => {
    const s = new MemoryStorage({ voters: [1n] });
    const log = new RaftLog(s, 0, Infinity);
    log.append([ent(1, 1), ent(2, 1), ent(3, 3), ent(4, 3), ent(5, 5)]);
    assert.deepEqual(log.findConflictByTerm(5, 4), [4, 3]);
    assert.deepEqual(log.findConflictByTerm(5, 2), [2, 1]);
    assert.deepEqual(log.findConflictByTerm(5, 0), [0, 0]);
  });

  it('only an entry of the current term commits by counting', () => {
    const s = new MemoryStorage({ voters: [1n] });
    const log = new RaftLog(s, 0, Infinity);
    log.append([ent(1, 1), ent(2, 2)]);
    assert.equal(log.maybeCommit(1, 2), false);
    assert.equal(log.maybeCommit(2, 2), true);
    assert.equal(log.committed, 2);
  });
});
