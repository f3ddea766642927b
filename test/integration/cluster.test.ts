/**
 * Cluster service end to end: member list (with the client URLs the member published through raft),
 * and membership changes answering a clean Unimplemented error rather than faking success.
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

  it('member add/remove/update/promote answer Unimplemented without changing anything', async () => {
    const add = await etcdctl(m.endpoint, ['member', 'add', 'x', '--peer-urls', 'http://127.0.0.1:12380']);
    assert.notEqual(add.code, 0);
    assert.match(add.stderr, /code = Unimplemented desc = etcdserver: membership changes are not supported by berth yet/);
    const id = m.member.memberId.toString(16);
    for (const args of [['member', 'remove', id], ['member', 'update', id, '--peer-urls', 'http://127.0.0.1:12380'], ['member', 'promote', id]]) {
      const r = await etcdctl(m.endpoint, args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, /Unimplemented/, args.join(' '));
    }
    assert.equal((await list()).length, 1);
  });
});
