import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Member } from '../../pkg/membership/members.js';
import { decodeConfContext, encodeConfContext } from '../../pkg/membership/conf-context.js';
import {
  appliedRecord,
  learnerInSync,
  readyToAddVoter,
  readyToPromote,
  readyToRemoveVoter,
  validPeerUrls,
  validateChange,
} from '../../pkg/membership/rules.js';

const m = (id: bigint, o: Partial<Member> = {}): Member => ({ id, name: `n${id}`, peerUrls: [`http://10.0.0.${id}:2380`], clientUrls: [], isLearner: false, ...o });

function store(members: Member[], removed: bigint[] = []): { list(): Member[]; get(id: bigint): Member | undefined; isRemoved(id: bigint): boolean } {
  return {
    list: () => [...members].sort((a, b) => (a.id < b.id ? -1 : 1)),
    get: (id) => members.find((x) => x.id === id),
    isRemoved: (id) => removed.includes(id),
  };
}

describe('validateChange (etcd ValidateConfigurationChange)', () => {
  const s = store([m(1n), m(2n), m(3n, { isLearner: true })], [9n]);
  it('add: ID exists, removed ID, peer URL taken, too many learners', () => {
    assert.equal(validateChange(s, { kind: 'add', member: m(1n, { peerUrls: ['http://x:1'] }) }), 'memberExists');
    assert.equal(validateChange(s, { kind: 'add', member: m(9n, { peerUrls: ['http://x:1'] }) }), 'memberNotFound');
    assert.equal(validateChange(s, { kind: 'add', member: m(4n, { peerUrls: ['http://10.0.0.2:2380'] }) }), 'peerUrlExists');
    assert.equal(validateChange(s, { kind: 'add', member: m(4n, { isLearner: true }) }), 'tooManyLearners');
    assert.equal(validateChange(s, { kind: 'add', member: m(4n) }), undefined);
  });
  it('remove/update/promote: not found, removed, not a learner, URLs of another member', () => {
    assert.equal(validateChange(s, { kind: 'remove', id: 7n }), 'memberNotFound');
    assert.equal(validateChange(s, { kind: 'remove', id: 9n }), 'memberNotFound');
    assert.equal(validateChange(s, { kind: 'remove', id: 2n }), undefined);
    assert.equal(validateChange(s, { kind: 'update', id: 7n, peerUrls: ['http://x:1'] }), 'memberNotFound');
    assert.equal(validateChange(s, { kind: 'update', id: 1n, peerUrls: ['http://10.0.0.2:2380'] }), 'peerUrlExists');
    assert.equal(validateChange(s, { kind: 'update', id: 1n, peerUrls: ['http://10.0.0.1:2380'] }), undefined, 'its own URLs are fine');
    assert.equal(validateChange(s, { kind: 'promote', id: 1n }), 'memberNotLearner');
    assert.equal(validateChange(s, { kind: 'promote', id: 7n }), 'memberNotFound');
    assert.equal(validateChange(s, { kind: 'promote', id: 3n }), undefined);
  });
  it('appliedRecord: update keeps name and client URLs, promote clears the learner flag', () => {
    const s2 = store([m(1n, { clientUrls: ['http://c:1'] }), m(3n, { isLearner: true })]);
    assert.deepEqual(appliedRecord(s2, { kind: 'update', id: 1n, peerUrls: ['http://y:2'] }), { ...m(1n, { clientUrls: ['http://c:1'] }), peerUrls: ['http://y:2'] });
    assert.equal(appliedRecord(s2, { kind: 'promote', id: 3n })?.isLearner, false);
    assert.equal(appliedRecord(s2, { kind: 'remove', id: 1n }), undefined);
  });
});

describe('strict reconfig rules (etcd IsReadyTo*)', () => {
  const unstarted = (id: bigint): Member => m(id, { name: '' });
  it('adding a voter needs a quorum of started voters afterwards; 1 → 2 is allowed', () => {
    assert.equal(readyToAddVoter(store([m(1n)])), true);
    assert.equal(readyToAddVoter(store([m(1n), unstarted(2n)])), false);
    assert.equal(readyToAddVoter(store([m(1n), m(2n)])), true);
    assert.equal(readyToAddVoter(store([m(1n), m(2n), unstarted(3n)])), false, '2 started of 4 afterwards: quorum is 3');
    assert.equal(readyToAddVoter(store([m(1n), m(2n), m(3n), unstarted(4n)])), true, '3 started of 5 afterwards');
  });
  it('removing a voter needs a quorum of started voters among the rest; learners do not count', () => {
    assert.equal(readyToRemoveVoter(store([m(1n), unstarted(2n), unstarted(3n)]), 2n), false);
    assert.equal(readyToRemoveVoter(store([m(1n), m(2n), unstarted(3n)]), 3n), true);
    assert.equal(readyToRemoveVoter(store([m(1n), unstarted(2n), m(3n, { isLearner: true })]), 1n), false);
  });
  it('promoting counts the learner as started', () => {
    assert.equal(readyToPromote(store([m(1n), m(3n, { isLearner: true, name: '' })])), true);
    assert.equal(readyToPromote(store([m(1n), unstarted(2n), unstarted(4n)])), false);
  });
  it('a learner is in sync at 90% of the leader match index', () => {
    assert.equal(learnerInSync(90, 100), true);
    assert.equal(learnerInSync(89, 100), false);
    assert.equal(learnerInSync(0, 0), true);
  });
  it('peer URLs: http(s) with host:port and no path', () => {
    assert.equal(validPeerUrls(['http://127.0.0.1:2380', 'https://h:1']), true);
    for (const bad of [[], ['http://127.0.0.1'], ['ftp://h:1'], ['http://h:1/p'], ['http://h:1?q=1'], ['h:1']]) assert.equal(validPeerUrls(bad), false, JSON.stringify(bad));
  });
});

describe('conf change context', () => {
  it('round-trips every kind with its request ID', () => {
    for (const change of [
      { kind: 'add', member: m(5n, { name: '', isLearner: true }) },
      { kind: 'remove', id: 7n },
      { kind: 'update', id: 7n, peerUrls: ['http://a:1', 'http://b:2'] },
      { kind: 'promote', id: 0xffff_ffff_ffff_ffffn },
    ] as const) {
      const c = decodeConfContext(encodeConfContext({ requestId: 42n, change }));
      assert.deepEqual(c, { requestId: 42n, change });
    }
  });
  it('rejects foreign bytes', () => {
    assert.equal(decodeConfContext(new Uint8Array(0)), undefined);
    assert.equal(decodeConfContext(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 1)), undefined);
    assert.equal(decodeConfContext(Uint8Array.of(1, 9, 0, 0, 0, 0, 0, 0, 0, 1)), undefined);
  });
});
