/**
 * `restoreSnapshot` in-process: what a restored data dir holds (kept MVCC/auth, leases with a cleared
 * remaining TTL, new membership and IDs, fresh raft log at index 1, applied index 1, no alarms), the
 * revision bump and compaction mark as MvccStore sees them, and the refusals (non-empty dir, wrong
 * name, corrupt file) leaving nothing behind.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, Keyspace, keyIn, put } from '../../../pkg/storage/engine/index.js';
import { Wal } from '../../../pkg/storage/wal/index.js';
import { MvccStore } from '../../../pkg/storage/mvcc/index.js';
import { MemberStore } from '../../../pkg/membership/members.js';
import { decodeLeaseRecord, leaseKey, putLeaseOp } from '../../../pkg/lease/record.js';
import { snapshotArchive } from '../../../pkg/server/api/maintenance-snapshot.js';
import { appliedIndexOp, loadAppliedIndex } from '../../../pkg/server/apply/applied-index.js';
import { clusterIdOf, memberIdOf } from '../../../pkg/server/ids.js';
import { restoreSnapshot, type RestoreOptions } from '../../../pkg/server/snapshot/restore.js';
import { snapshotFileStatus } from '../../../pkg/server/snapshot/file-status.js';

const root = mkdtempSync(join(tmpdir(), 'snapshot-restore-'));
after(() => rmSync(root, { recursive: true, force: true }));

const MEMBERS = [
  { name: 'n0', peerUrls: ['http://127.0.0.1:1'] },
  { name: 'n1', peerUrls: ['http://127.0.0.1:2'] },
];
const TOKEN = 'tok';
const ALARM = keyIn(Keyspace.Meta, Buffer.concat([Buffer.from('alarm/'), Buffer.alloc(12, 1)]));
const AUTH = keyIn(Keyspace.Auth, Buffer.from('enabled'));

/** A source member's state (MVCC writes, a lease with a checkpoint, an alarm, old membership) saved as a snapshot file. */
async function makeSnapshot(): Promise<{ file: string; revision: bigint }> {
  const engine = await Engine.open(join(root, 'source'));
  try {
    const mvcc = await MvccStore.open(engine);
    for (let i = 0; i < 5; i++) {
      const p = await mvcc.preparePut({ key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
      assert.ok(p.ok);
      await mvcc.commit(p.value, { extraOps: [] });
    }
    const members = await MemberStore.load(engine);
    await engine.write([
      putLeaseOp({ id: 42n, ttl: 600n, remainingTtl: 17n }),
      put(ALARM, new Uint8Array(0)),
      put(AUTH, Uint8Array.of(1)),
      appliedIndexOp({ index: 999, term: 9 }),
      members.setClusterId(77n),
      members.upsert({ id: 5n, name: 'old', peerUrls: ['http://old:2380'], clientUrls: [], isLearner: false }),
    ], { sync: true });
    const file = join(root, 'snap.db');
    const chunks: Uint8Array[] = [];
    for await (const c of snapshotArchive(engine)) chunks.push(c.blob);
    writeFileSync(file, Buffer.concat(chunks));
    const revision = mvcc.currentRevision;
    await mvcc.close();
    return { file, revision };
  } finally {
    await engine.close();
  }
}

function opts(file: string, dataDir: string, extra: Partial<RestoreOptions> = {}): RestoreOptions {
  return { snapshotPath: file, name: 'n1', initialCluster: MEMBERS, initialClusterToken: TOKEN, advertisePeerUrls: ['http://127.0.0.1:2'], dataDir, ...extra };
}

describe('snapshot restore', () => {
  let snap: { file: string; revision: bigint };

  it('keeps MVCC, auth and leases (TTL restarts), replaces membership, starts raft fresh, drops alarms', async () => {
    snap = await makeSnapshot();
    assert.equal((await snapshotFileStatus(snap.file)).revision, snap.revision);
    const dataDir = join(root, 'plain');
    const r = await restoreSnapshot(opts(snap.file, dataDir));
    assert.ok(r.ok, r.ok ? '' : r.message);
    const ids = MEMBERS.map((m) => memberIdOf(m.peerUrls, TOKEN));
    assert.equal(r.memberId, ids[1]);
    assert.equal(r.clusterId, clusterIdOf(ids));
    assert.equal(r.revision, snap.revision);
    assert.deepEqual(readdirSync(root).filter((f) => f.includes('.restoring-')), []);
    const engine = await Engine.open(join(dataDir, 'member', 'db'));
    try {
      const wal = await Wal.open(engine);
      assert.equal(wal.snapshot().metadata.index, 1);
      assert.deepEqual(wal.snapshot().metadata.confState.voters, ids);
      assert.equal(wal.lastIndex(), 1);
      await wal.close();
      assert.deepEqual(await loadAppliedIndex(engine), { index: 1, term: 1 });
      const members = await MemberStore.load(engine);
      assert.equal(members.clusterId, clusterIdOf(ids));
      assert.deepEqual(members.list().map((m) => m.name).sort(), ['n0', 'n1']);
      assert.equal(await engine.get(ALARM), undefined);
      assert.deepEqual([...((await engine.get(AUTH)) ?? [])], [1]);
      const lease = decodeLeaseRecord(leaseKey(42n), (await engine.get(leaseKey(42n))) as Uint8Array);
      assert.deepEqual(lease, { id: 42n, ttl: 600n, remainingTtl: 0n });
      const mvcc = await MvccStore.open(engine);
      assert.equal(mvcc.currentRevision, snap.revision);
      const got = await mvcc.range({ key: Buffer.from('k3'), rangeEnd: new Uint8Array(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n });
      assert.ok(got.ok);
      assert.equal(Buffer.from(got.value.kvs[0]?.value ?? []).toString(), 'v3');
      await mvcc.close();
    } finally {
      await engine.close();
    }
  });

  it('--bump-revision raises the current revision; --mark-compacted also compacts there', async () => {
    for (const mark of [false, true]) {
      const dataDir = join(root, `bump-${mark}`);
      const r = await restoreSnapshot(opts(snap.file, dataDir, { bumpRevision: 100n, markCompacted: mark }));
      assert.ok(r.ok && r.revision === snap.revision + 100n);
      const engine = await Engine.open(join(dataDir, 'member', 'db'));
      try {
        const mvcc = await MvccStore.open(engine);
        assert.equal(mvcc.currentRevision, snap.revision + 100n);
        assert.equal(mvcc.compactRevision >= snap.revision + 100n, mark, `compacted ${mvcc.compactRevision}`);
        await mvcc.close();
      } finally {
        await engine.close();
      }
    }
  });

  it('refuses a non-empty data dir, an unknown name and a corrupt file, leaving nothing behind', async () => {
    const full = join(root, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), '');
    assert.deepEqual(await restoreSnapshot(opts(snap.file, full)), { ok: false, message: `data-dir "${full}" not empty or could not be read` });
    const none = join(root, 'none');
    const unknown = await restoreSnapshot(opts(snap.file, none, { name: 'zz' }));
    assert.equal(unknown.ok, false);
    const wrongUrl = await restoreSnapshot(opts(snap.file, none, { advertisePeerUrls: ['http://127.0.0.1:9'] }));
    assert.equal(wrongUrl.ok, false);
    const bad = join(root, 'bad.db');
    const bytes = readFileSync(snap.file);
    bytes[20] = (bytes[20] ?? 0) ^ 1;
    writeFileSync(bad, bytes);
    const corrupt = await restoreSnapshot(opts(bad, none));
    assert.ok(!corrupt.ok && corrupt.message.startsWith('expected sha256 ['));
    const skipped = await restoreSnapshot(opts(bad, none, { skipHashCheck: true }));
    assert.ok(skipped.ok, 'with --skip-hash-check the file is restored as it is');
    rmSync(none, { recursive: true, force: true });
    writeFileSync(bad, bytes.subarray(0, bytes.length - 32));
    assert.deepEqual(await restoreSnapshot(opts(bad, none)), { ok: false, message: 'snapshot missing hash but --skip-hash-check=false' });
    assert.deepEqual(readdirSync(root).filter((f) => f === 'none' || f.includes('.restoring-')), []);
  });
});
