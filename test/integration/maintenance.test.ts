/**
 * Maintenance end to end on a real single member with the real etcdctl: endpoint status, hashkv,
 * defrag, snapshot save (sha256 trailer), move-leader errors, alarms and the space quota.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { MaintenanceClient, type SnapshotResponse } from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSnapshotArchive } from '../../pkg/server/api/maintenance-snapshot.js';
import { etcdctl, postJson, removeDir, startTestMember, waitFor, type TestMember } from './ops-fixture.js';

interface StatusJson {
  Endpoint: string;
  Status: {
    header: { cluster_id: number; member_id: number; revision: number; raft_term: number };
    version: string;
    dbSize: number;
    leader: number;
    raftIndex: number;
    raftTerm: number;
    raftAppliedIndex?: number;
    errors?: string[];
  };
}

async function status(endpoint: string): Promise<StatusJson['Status']> {
  const r = await etcdctl(endpoint, ['endpoint', 'status', '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  // etcdctl prints uint64 IDs as JSON numbers; compare them as strings to keep all digits.
  const parsed = JSON.parse(r.stdout.replace(/":(\d{16,})/g, '":"$1"')) as StatusJson[];
  const s = parsed[0];
  assert.ok(s !== undefined);
  return s.Status;
}

describe('maintenance (etcdctl)', () => {
  let m: TestMember;
  before(async () => {
    m = await startTestMember();
  });
  after(async () => {
    await m.stop();
    removeDir(m.dir);
  });

  it('endpoint status reports version, leader, raft indexes and db size', async () => {
    assert.equal((await etcdctl(m.endpoint, ['put', 'status-key', 'v'])).code, 0);
    const s = await status(m.endpoint);
    assert.match(s.version, /^3\.[5-9]\.\d+$/);
    assert.equal(String(s.leader), m.member.memberId.toString());
    assert.equal(String(s.header.member_id), m.member.memberId.toString());
    assert.ok(s.dbSize > 0, 'dbSize');
    assert.ok(s.raftTerm >= 1, 'raftTerm');
    assert.ok(s.raftIndex >= 2, 'raftIndex');
    assert.ok((s.raftAppliedIndex ?? 0) >= 2 && (s.raftAppliedIndex ?? 0) <= s.raftIndex, 'applied ≤ committed');
    assert.ok(s.header.revision >= 2);
    assert.equal(s.errors, undefined);
  });

  it('endpoint hashkv is stable at a revision and changes with writes', async () => {
    const hashkv = async (rev?: number): Promise<{ hash: number; rev: number }> => {
      const r = await etcdctl(m.endpoint, ['endpoint', 'hashkv', '-w', 'json', ...(rev === undefined ? [] : ['--rev', String(rev)])]);
      assert.equal(r.code, 0, r.stderr);
      const [e] = JSON.parse(r.stdout) as { HashKV: { hash: number; header: { revision: number }; hash_revision?: number } }[];
      assert.ok(e !== undefined);
      return { hash: e.HashKV.hash, rev: e.HashKV.header.revision };
    };
    await etcdctl(m.endpoint, ['put', 'h1', 'a']);
    const first = await hashkv();
    assert.notEqual(first.hash, 0);
    assert.deepEqual(await hashkv(first.rev), first);
    await etcdctl(m.endpoint, ['put', 'h1', 'b']);
    const second = await hashkv();
    assert.notEqual(second.hash, first.hash);
    assert.equal((await hashkv(first.rev)).hash, first.hash, 'history up to the old revision hashes the same');
    const future = await etcdctl(m.endpoint, ['endpoint', 'hashkv', '--rev', '100000']);
    assert.match(future.stderr + future.stdout, /future revision/);
  });

  it('defrag finishes', async () => {
    const r = await etcdctl(m.endpoint, ['defrag']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Finished defragmenting etcd member/);
  });

  it('snapshot save writes a consistent archive with a sha256 trailer', async () => {
    await etcdctl(m.endpoint, ['put', 'snap-key', 'snap-value']);
    const file = join(m.dir, 'snap.db');
    const r = await etcdctl(m.endpoint, ['snapshot', 'save', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /Snapshot saved at/);
    const data = readFileSync(file);
    assert.equal(data.length % 512, 32);
    const archive = readSnapshotArchive(data);
    assert.ok(archive.ok, archive.ok ? '' : archive.reason);
    assert.ok(
      archive.records.some((rec) => Buffer.from(rec.value).includes('snap-value')),
      'the archive holds the latest write',
    );
    assert.ok(archive.records.every((rec) => (rec.key[0] ?? 0) >= 0x10), 'only state keyspaces');
  });

  it('the Snapshot stream counts remaining_bytes down to 0 and ends with the sha256 of the rest', async () => {
    for (let i = 0; i < 40; i++) await etcdctl(m.endpoint, ['put', `bulk${i}`, randomBytes(1500).toString('base64')]);
    const client = new MaintenanceClient(m.endpoint, grpc.credentials.createInsecure());
    try {
      const msgs: SnapshotResponse[] = await new Promise((resolve, reject) => {
        const out: SnapshotResponse[] = [];
        const stream = client.snapshot({});
        stream.on('data', (d: SnapshotResponse) => out.push(d));
        stream.on('end', () => resolve(out));
        stream.on('error', reject);
      });
      assert.ok(msgs.length >= 3, `several chunks (${msgs.length})`);
      const total = msgs.reduce((n, x) => n + x.blob.length, 0);
      let left = total;
      for (const msg of msgs) {
        left -= msg.blob.length;
        assert.equal(msg.remainingBytes, BigInt(left));
        assert.equal(msg.header?.memberId, m.member.memberId);
      }
      assert.equal(msgs.at(-1)?.remainingBytes, 0n);
      const data = Buffer.concat(msgs.map((x) => x.blob));
      const body = data.subarray(0, data.length - 32);
      assert.deepEqual(createHash('sha256').update(body).digest(), data.subarray(data.length - 32));
      const archive = readSnapshotArchive(data);
      assert.ok(archive.ok);
      assert.ok(archive.records.length > 80, 'revision + index records of every key');
    } finally {
      client.close();
    }
  });

  it('move-leader to an unknown member fails with bad leader transferee', async () => {
    const r = await etcdctl(m.endpoint, ['move-leader', 'abcdef']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /etcdserver: bad leader transferee/);
  });

  it('alarm list is empty; downgrade answers Unimplemented', async () => {
    const r = await etcdctl(m.endpoint, ['alarm', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '');
    const d = await postJson(`${m.url}/v3/maintenance/downgrade`, { action: 'VALIDATE', version: '3.4.0' });
    assert.equal(d.status, 501);
    assert.equal(d.json.code, 12);
    assert.match(String(d.json.message), /downgrade is not supported/);
  });
});

describe('space quota and NOSPACE (etcdctl)', () => {
  let m: TestMember;
  before(async () => {
    m = await startTestMember(['--quota-backend-bytes', '300000']);
  });
  after(async () => {
    await m.stop();
    removeDir(m.dir);
  });

  it('refuses writes once over quota, keeps reads, recovers after compact + defrag + disarm', async () => {
    let failure = '';
    for (let i = 0; i < 100 && failure === ''; i++) {
      const r = await etcdctl(m.endpoint, ['put', `q${i % 3}`, randomBytes(12_000).toString('base64')]);
      if (r.code !== 0) failure = r.stderr;
    }
    assert.match(failure, /etcdserver: mvcc: database space exceeded/);

    const alarms = await waitFor(async () => {
      const r = await etcdctl(m.endpoint, ['alarm', 'list']);
      return r.stdout.includes('alarm:NOSPACE') ? r.stdout : undefined;
    }, 'NOSPACE alarm', 40);
    assert.match(alarms, new RegExp(`memberID:${m.member.memberId.toString()} alarm:NOSPACE`));

    // Every write that carries data is refused while the alarm is active, even a tiny one; reads work.
    const small = await etcdctl(m.endpoint, ['put', 'tiny', 'x']);
    assert.notEqual(small.code, 0);
    assert.match(small.stderr, /database space exceeded/);
    const read = await etcdctl(m.endpoint, ['get', 'q1', '--print-value-only']);
    assert.equal(read.code, 0);
    assert.ok(read.stdout.length > 1000);
    assert.equal((await etcdctl(m.endpoint, ['del', 'q0'])).code, 0, 'deletes are admitted');

    const health = await fetch(`${m.url}/health`);
    assert.equal(health.status, 503);
    assert.match(await health.text(), /ALARM NOSPACE/);
    const excluded = await fetch(`${m.url}/health?exclude=NOSPACE`);
    assert.equal(excluded.status, 200);
    let st = await status(m.endpoint);
    assert.ok(st.errors?.some((e) => e.includes('NOSPACE')), 'Status.errors lists the alarm');

    // The alarm is replicated state: it survives a restart, and still refuses writes.
    await m.stop();
    m = await startTestMember(['--quota-backend-bytes', '300000'], m.dir);
    assert.match((await etcdctl(m.endpoint, ['alarm', 'list'])).stdout, /alarm:NOSPACE/);
    assert.match((await etcdctl(m.endpoint, ['put', 'tiny', 'x'])).stderr, /database space exceeded/);
    st = await status(m.endpoint);

    const rev = st.header.revision;
    assert.equal((await etcdctl(m.endpoint, ['compact', String(rev), '--physical'])).code, 0);
    assert.equal((await etcdctl(m.endpoint, ['defrag'])).code, 0);
    const metrics = await (await fetch(`${m.url}/metrics`)).text();
    assert.match(metrics, /^etcd_disk_backend_defrag_duration_seconds_count 1$/m);
    assert.match(metrics, /^etcd_disk_defrag_inflight 0$/m);
    const disarm = await etcdctl(m.endpoint, ['alarm', 'disarm']);
    assert.equal(disarm.code, 0, disarm.stderr);
    assert.match(disarm.stdout, /alarm:NOSPACE/);
    assert.equal((await etcdctl(m.endpoint, ['alarm', 'list'])).stdout.trim(), '');
    const again = await etcdctl(m.endpoint, ['put', 'after', 'works']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await fetch(`${m.url}/health`)).status, 200);
    assert.equal((await etcdctl(m.endpoint, ['endpoint', 'health'])).code, 0);
  });
});
