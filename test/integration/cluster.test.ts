/**
 * Cluster service end to end on one member: member list (with the client URLs the member published
 * through raft), and the membership change calls that need no second process: learner add/update/
 * remove and every error etcd answers (multi-member changes: membership.test.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Engine } from '../../pkg/storage/engine/index.js';
import { MemberStore } from '../../pkg/membership/members.js';
import { etcdctl, postJson, removeDir, startTestMember, waitFor, type TestMember } from './ops-fixture.js';

interface MemberJson {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

describe('cluster (etcdctl)', () => {
  let m: TestMember;
  before(async () => {
    m = await startTestMember(['--name', 'node-a', '--advertise-client-urls', 'http://127.0.0.1:2379,http://127.0.0.1:22379']);
  });
  after(async () => {
    await m.stop();
    removeDir(m.dir);
  });

  const list = async (): Promise<MemberJson[]> => {
    const r = await etcdctl(m.endpoint, ['member', 'list', '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout.replace(/":(\d{16,})/g, '":"$1"')) as { members: MemberJson[]; header: { member_id: string } };
    assert.equal(String(parsed.header.member_id), m.member.memberId.toString());
    return parsed.members;
  };

  it('member list shows this member with its published name and client URLs', async () => {
    const members = await waitFor(async () => {
      const ms = await list();
      return ms[0]?.clientURLs !== undefined && ms[0].clientURLs.length > 0 ? ms : undefined;
    }, 'published client URLs');
    assert.equal(members.length, 1);
    const [me] = members;
    assert.ok(me !== undefined);
    assert.equal(String(me.ID), m.member.memberId.toString());
    assert.equal(me.name, 'node-a');
    assert.deepEqual(me.clientURLs, ['http://127.0.0.1:2379', 'http://127.0.0.1:22379']);
    assert.deepEqual(me.peerURLs, ['http://localhost:2380']);
    assert.notEqual(me.isLearner, true);

    const table = await etcdctl(m.endpoint, ['member', 'list']);
    assert.match(table.stdout, new RegExp(`^${m.member.memberId.toString(16)}, started, node-a, http://localhost:2380, http://127.0.0.1:2379,http://127.0.0.1:22379, false`));
  });

  it('published attributes are persisted in the member records (applied through raft)', async () => {
    await m.stop();
    const engine = await Engine.open(join(m.dir, 'member', 'db'));
    try {
      const store = await MemberStore.load(engine);
      const me = store.get(m.member.memberId);
      assert.equal(me?.name, 'node-a');
      assert.deepEqual(me?.clientUrls, ['http://127.0.0.1:2379', 'http://127.0.0.1:22379']);
    } finally {
      await engine.close();
    }
    m = await startTestMember(['--name', 'node-a', '--advertise-client-urls', 'http://127.0.0.1:2379,http://127.0.0.1:22379'], m.dir);
  });

  it('linearizable member list through the gateway', async () => {
    const r = await postJson(`${m.url}/v3/cluster/member/list`, { linearizable: true });
    assert.equal(r.status, 200);
    const members = r.json.members as MemberJson[];
    assert.equal(members.length, 1);
    assert.equal(members[0]?.ID, m.member.memberId.toString(), 'uint64 as a decimal string');
  });

  it('membership change errors: etcd codes and messages, nothing changed', async () => {
    const id = m.member.memberId.toString(16);
    const expectErr = async (args: string[], re: RegExp): Promise<void> => {
      const r = await etcdctl(m.endpoint, args);
      assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, re, args.join(' '));
    };
    await expectErr(['member', 'remove', 'abcdef'], /code = NotFound desc = etcdserver: member not found/);
    await expectErr(['member', 'update', 'abcdef', '--peer-urls', 'http://127.0.0.1:12380'], /code = NotFound desc = etcdserver: member not found/);
    await expectErr(['member', 'promote', id], /code = FailedPrecondition desc = etcdserver: can only promote a learner member"/);
    await expectErr(['member', 'add', 'x', '--peer-urls', 'http://localhost:2380'], /code = FailedPrecondition desc = etcdserver: Peer URLs already exists/);
    // etcdctl checks URLs itself; the gateway passes them through to the server's check.
    for (const bad of [['http://127.0.0.1'], ['ftp://127.0.0.1:1'], ['http://127.0.0.1:1/path'], []]) {
      const r = await postJson(`${m.url}/v3/cluster/member/add`, { peerURLs: bad });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.json.message, 'etcdserver: given member URLs are invalid');
      assert.equal(r.json.code, 3);
    }
    assert.equal((await list()).length, 1);
  });

  it('learners: one at most, promote only when in sync, removed IDs stay removed', async () => {
    const add = await etcdctl(m.endpoint, ['member', 'add', 'l1', '--learner', '--peer-urls', 'http://127.0.0.1:12380']);
    assert.equal(add.code, 0, add.stderr);
    const learnerId = /Member\s+([0-9a-f]+) added to cluster/.exec(add.stdout)?.[1];
    assert.ok(learnerId !== undefined, add.stdout);
    assert.match(add.stdout, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
    const members = await list();
    assert.equal(members.length, 2);
    const learner = members.find((x) => BigInt(x.ID) === BigInt(`0x${learnerId}`));
    assert.equal(learner?.isLearner, true);
    assert.deepEqual(learner?.peerURLs, ['http://127.0.0.1:12380']);

    const second = await etcdctl(m.endpoint, ['member', 'add', 'l2', '--learner', '--peer-urls', 'http://127.0.0.1:12381']);
    assert.match(second.stderr, /code = FailedPrecondition desc = etcdserver: too many learner members in cluster/);
    // Nothing listens on the learner's peer URL: it never catches up.
    const promote = await etcdctl(m.endpoint, ['member', 'promote', learnerId]);
    assert.match(promote.stderr, /code = FailedPrecondition desc = etcdserver: can only promote a learner member which is in sync with leader/);

    const upd = await etcdctl(m.endpoint, ['member', 'update', learnerId, '--peer-urls', 'http://127.0.0.1:12389']);
    assert.equal(upd.code, 0, upd.stderr);
    assert.match(upd.stdout, new RegExp(`Member\\s+${learnerId} updated in cluster`));
    assert.deepEqual((await list()).find((x) => BigInt(x.ID) === BigInt(`0x${learnerId}`))?.peerURLs, ['http://127.0.0.1:12389']);

    const rm = await etcdctl(m.endpoint, ['member', 'remove', learnerId]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, new RegExp(`Member\\s+${learnerId} removed from cluster`));
    assert.equal((await list()).length, 1);
    const again = await etcdctl(m.endpoint, ['member', 'remove', learnerId]);
    assert.match(again.stderr, /code = NotFound desc = etcdserver: member not found/);
    const promoteRemoved = await etcdctl(m.endpoint, ['member', 'promote', learnerId]);
    assert.match(promoteRemoved.stderr, /code = NotFound desc = etcdserver: member not found/);
  });

  it('membership records survive a restart (applied with the index, replay decides the same)', async () => {
    const before = await list();
    await m.stop();
    const engine = await Engine.open(join(m.dir, 'member', 'db'));
    try {
      const store = await MemberStore.load(engine);
      assert.equal(store.list().length, 1);
      assert.ok([...before.map((x) => BigInt(x.ID))].every((i) => store.get(i) !== undefined));
    } finally {
      await engine.close();
    }
    m = await startTestMember(['--name', 'node-a', '--advertise-client-urls', 'http://127.0.0.1:2379,http://127.0.0.1:22379'], m.dir);
    assert.deepEqual((await list()).map((x) => x.ID), before.map((x) => x.ID));
    // The learner slot is free again after the removal.
    const add = await etcdctl(m.endpoint, ['member', 'add', 'l3', '--learner', '--peer-urls', 'http://127.0.0.1:12390']);
    assert.equal(add.code, 0, add.stderr);
  });
});
