/**
 * Backup and restore with real processes: `berthctl snapshot save` from a 3-member berth cluster
 * while a bounded write load runs, `snapshot status`, `snapshot restore` into 3 new data dirs, a new
 * 3-member cluster started from them with `--initial-cluster-state new`: every key and the HashKV at
 * the snapshot revision equal the old cluster's, membership and IDs are the new ones, leases survive.
 * Then a restore with --bump-revision/--mark-compacted: the revision jumps and a watch from a
 * pre-snapshot revision is refused as compacted. Also `etcdctl snapshot save` against berth.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../pkg/client/index.js';
import type { HashKVResponse, PutResponse, RangeResponse, WatchResponse } from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { berthctl } from '../../e2e/compat/support/berthctl.js';
import { etcdctl } from '../../e2e/compat/support/etcdctl.js';
import { freePort, startCluster, startServer, type Cluster, type ServerProcess } from '../../e2e/compat/support/servers.js';

const enc = (s: string): Uint8Array => Buffer.from(s);
const ALL = { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };

function rangeReq(rev: bigint) {
  return {
    ...ALL, limit: 0n, revision: rev, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false,
    minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
  };
}

async function connect(endpoints: readonly string[]): Promise<Client> {
  return Client.connect({ endpoints, dialTimeoutMs: 5000, commandTimeoutMs: 10_000 });
}

async function rangeAll(c: Client, rev: bigint): Promise<RangeResponse> {
  return c.unary<RangeResponse>((s, md, o, cb) => s.kv.range(rangeReq(rev), md, o, cb));
}

async function hashKv(c: Client, rev: bigint): Promise<HashKVResponse> {
  return c.unary<HashKVResponse>((s, md, o, cb) => s.maintenance.hashKv({ revision: rev }, md, o, cb));
}

/** The kvs as comparable plain data. */
function kvsOf(r: RangeResponse): string[] {
  return r.kvs.map((kv) => JSON.stringify([Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString(), String(kv.createRevision), String(kv.modRevision), String(kv.version), String(kv.lease)]));
}

interface Restored {
  readonly cluster: Cluster;
  readonly dirs: string[];
}

describe('snapshot save / status / restore (real processes)', { timeout: 300_000 }, () => {
  let old: Cluster;
  const work = mkdtempSync(join(tmpdir(), 'berth-restore-'));
  const snapFile = join(work, 'backup.db');
  let snapRev = 0n;
  let leaseId = 0n;
  const stopLater: (() => Promise<void>)[] = [];

  before(async () => {
    old = await startCluster('berth', 3);
    stopLater.push(() => old.stop());
  });
  after(async () => {
    for (const s of stopLater.reverse()) await s().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  /** Starts a cluster from restored data dirs (all members at once: each waits for a leader). */
  async function startRestored(dirs: readonly string[], ports: readonly { client: number; peer: number }[], token: string): Promise<Cluster> {
    const initialCluster = ports.map((p, i) => `r${i}=http://127.0.0.1:${p.peer}`).join(',');
    const started = await Promise.allSettled(
      ports.map((p, i) =>
        startServer('berth', {
          clientPort: p.client, peerPort: p.peer, name: `r${i}`, dataDir: dirs[i] as string, initialCluster,
          extraArgs: ['--initial-cluster-state', 'new', '--initial-cluster-token', token],
        }),
      ),
    );
    const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(members.map((m) => m.stop()));
      throw failed.reason;
    }
    return { members, endpoints: members.map((m) => m.endpoint), stop: async () => void (await Promise.all(members.map((m: ServerProcess) => m.stop()))) };
  }

  async function restoreInto(n: number, token: string, extra: readonly string[] = []): Promise<Restored & { ports: { client: number; peer: number }[] }> {
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < n; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const initialCluster = ports.map((p, i) => `r${i}=http://127.0.0.1:${p.peer}`).join(',');
    const dirs: string[] = [];
    for (let i = 0; i < n; i++) {
      const dir = join(work, `${token}-r${i}`);
      if (i === 0) mkdirSync(dir); // an existing empty data dir is fine (etcd's rule)
      const r = await berthctl([
        'snapshot', 'restore', snapFile, '--name', `r${i}`, '--data-dir', dir, '--initial-cluster', initialCluster,
        '--initial-cluster-token', token, '--initial-advertise-peer-urls', `http://127.0.0.1:${ports[i]?.peer ?? 0}`, ...extra,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      dirs.push(dir);
    }
    const cluster = await startRestored(dirs, ports, token);
    stopLater.push(() => cluster.stop());
    return { cluster, dirs, ports };
  }

  it('saves a snapshot of a cluster under write load, verified and renamed into place', async () => {
    const c = await connect(old.endpoints);
    try {
      const grant = await c.unary<{ ID: bigint }>((s, md, o, cb) => s.lease.leaseGrant({ TTL: 600n, ID: 0n }, md, o, cb));
      leaseId = grant.ID;
      let stop = false;
      let written = 0;
      let reached200: () => void = () => undefined;
      const warm = new Promise<void>((r) => (reached200 = r));
      // Bounded load: at most 1 500 puts, and it ends as soon as the save is done.
      const load = (async () => {
        for (let i = 0; i < 1500 && !stop; i++) {
          const key = `load/${String(i % 400).padStart(4, '0')}`;
          await c.unary((s, md, o, cb) => s.kv.put({ key: enc(key), value: enc(`v${i}`), lease: i % 10 === 0 ? leaseId : 0n, prevKv: false, ignoreValue: false, ignoreLease: false }, md, o, cb));
          if (i % 50 === 49) await c.unary((s, md, o, cb) => s.kv.deleteRange({ key: enc(`load/${String((i * 7) % 400).padStart(4, '0')}`), rangeEnd: new Uint8Array(0), prevKv: false }, md, o, cb));
          if (++written === 200) reached200();
        }
        reached200();
      })();
      // Save once some writes went in, while the load keeps running.
      await warm;
      const r = await berthctl(['--endpoints', old.endpoints[0] as string, 'snapshot', 'save', snapFile]);
      stop = true;
      await load;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `Snapshot saved at ${snapFile}\n`);
      assert.equal(r.stderr, '', 'no progress output when stderr is not a TTY');
      assert.equal(statSync(snapFile).size % 512, 32);
      assert.ok(written >= 200, `load wrote ${written}`);
    } finally {
      c.close();
    }
  });

  it('snapshot status prints hash, revision, keys and size (simple, json, table)', async () => {
    const json = await berthctl(['snapshot', 'status', snapFile, '-w', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const s = JSON.parse(json.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
    assert.equal(s.totalSize, statSync(snapFile).size);
    assert.ok(s.revision > 200 && s.totalKey > 400, json.stdout);
    snapRev = BigInt(s.revision);
    const simple = await berthctl(['snapshot', 'status', snapFile]);
    assert.match(simple.stdout, new RegExp(`^${s.hash.toString(16)}, ${s.revision}, ${s.totalKey}, [0-9.]+ [kM]?B\\n$`));
    const table = await berthctl(['snapshot', 'status', snapFile, '--write-out=table']);
    assert.match(table.stdout, /^\+-+\+-+\+-+\+-+\+\n\| +HASH +\| REVISION \| TOTAL KEYS \| TOTAL SIZE \|\n/);
    // A flipped byte is caught by the sha256 trailer.
    const bad = join(work, 'corrupt.db');
    const bytes = Buffer.from(await import('node:fs/promises').then((f) => f.readFile(snapFile)));
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    writeFileSync(bad, bytes);
    const st = await berthctl(['snapshot', 'status', bad]);
    assert.equal(st.code, 1);
    assert.match(st.stderr, /^Error: expected sha256 \[[0-9 ]+\], got \[[0-9 ]+\]\n$/);
  });

  it('restore refuses a non-empty data dir, an unknown name and a corrupt file', async () => {
    const full = join(work, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'x'), 'x');
    const base = ['snapshot', 'restore', snapFile, '--initial-cluster', 'a=http://127.0.0.1:1', '--initial-advertise-peer-urls', 'http://127.0.0.1:1', '--name', 'a'];
    const r = await berthctl([...base, '--data-dir', full]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `Error: data-dir "${full}" not empty or could not be read\n`);
    const r2 = await berthctl([...base.slice(0, -1), 'b', '--data-dir', join(work, 'never')]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /^Error: .*"b".*\n$/);
    const r3 = await berthctl(['snapshot', 'restore', join(work, 'corrupt.db'), ...base.slice(3), '--data-dir', join(work, 'never')]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /^Error: expected sha256/);
    assert.throws(() => statSync(join(work, 'never')), /ENOENT/, 'a failed restore leaves no data dir behind');
    assert.deepEqual(readdirSync(work).filter((f) => f.includes('.restoring-')), [], 'nor its build dir');
    const r4 = await berthctl([...base, '--data-dir', join(work, 'never'), '--mark-compacted']);
    assert.equal(r4.code, 128);
    assert.equal(r4.stderr, 'Error: --mark-compacted requires --bump-revision\n');
  });

  it('a new 3-member cluster from 3 restored dirs has every key and the same HashKV at the snapshot revision', async () => {
    assert.ok(snapRev > 0n);
    const { cluster } = await restoreInto(3, 'restored-token');
    const oldC = await connect(old.endpoints);
    try {
      const want = await rangeAll(oldC, snapRev);
      const wantHash = await hashKv(oldC, snapRev);
      for (const ep of cluster.endpoints) {
        const c = await connect([ep]);
        try {
          const got = await rangeAll(c, 0n);
          assert.equal(got.header?.revision, snapRev, `${ep}: revision continues from the snapshot`);
          assert.deepEqual(kvsOf(got), kvsOf(want), `${ep}: every key, value and revision`);
          const h = await hashKv(c, snapRev);
          assert.equal(h.hash, wantHash.hash, `${ep}: HashKV at ${snapRev}`);
          assert.notEqual(got.header?.clusterId, want.header?.clusterId, 'a new cluster ID');
          const members = await c.unary<{ members: { name: string }[] }>((s, md, o, cb) => s.cluster.memberList({ linearizable: false }, md, o, cb));
          assert.deepEqual(members.members.map((m) => m.name).sort(), ['r0', 'r1', 'r2']);
          const ttl = await c.unary<{ TTL: bigint; grantedTTL: bigint; keys: Uint8Array[] }>((s, md, o, cb) => s.lease.leaseTimeToLive({ ID: leaseId, keys: true }, md, o, cb));
          assert.equal(ttl.grantedTTL, 600n);
          assert.ok(ttl.TTL > 500n, `lease TTL restarts (${ttl.TTL})`);
          assert.equal(ttl.keys.length, want.kvs.filter((kv) => kv.lease === leaseId).length);
        } finally {
          c.close();
        }
      }
      const c = await connect(cluster.endpoints);
      try {
        const put = await c.unary<PutResponse>((s, md, o, cb) => s.kv.put({ key: enc('after'), value: enc('restore'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }, md, o, cb));
        assert.equal(put.header?.revision, snapRev + 1n);
      } finally {
        c.close();
      }
    } finally {
      oldC.close();
    }
  });

  it('--bump-revision with --mark-compacted: the revision jumps, a watch from before is refused as compacted', async () => {
    const { cluster } = await restoreInto(1, 'bumped-token', ['--bump-revision', '1000', '--mark-compacted']);
    const c = await connect(cluster.endpoints);
    try {
      const put = await c.unary<PutResponse>((s, md, o, cb) => s.kv.put({ key: enc('bumped'), value: enc('1'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }, md, o, cb));
      assert.equal(put.header?.revision, snapRev + 1001n);
      // A read at a pre-snapshot revision is compacted.
      await assert.rejects(rangeAll(c, snapRev - 5n), /mvcc: required revision has been compacted/);
      // A watch from a pre-snapshot revision is canceled with the compaction revision.
      const call = c.services.watch.watch();
      const first = new Promise<WatchResponse>((resolve, reject) => {
        call.on('data', (r: WatchResponse) => {
          if (r.canceled || r.compactRevision > 0n) resolve(r);
        });
        call.on('error', reject);
      });
      call.write({
        requestUnion: {
          $case: 'createRequest',
          value: { key: enc('load/'), rangeEnd: enc('load0'), startRevision: snapRev - 5n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false },
        },
      });
      const r = await first;
      call.cancel();
      assert.equal(r.compactRevision, snapRev + 1000n);
      // The same through the real etcdctl.
      const w = await etcdctl(cluster.endpoints[0] as string, ['watch', '--rev', String(snapRev - 5n), 'load/0001'], { timeoutMs: 15_000 });
      assert.match(w.stdout + w.stderr, /required revision has been compacted/);
    } finally {
      c.close();
    }
  });

  it('etcdctl snapshot save against berth streams and checks the hash', async () => {
    const file = join(work, 'etcdctl.db');
    const r = await etcdctl(old.endpoints[0] as string, ['snapshot', 'save', file], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Snapshot saved at ${file}\n`);
    const st = await berthctl(['snapshot', 'status', file, '-w', 'json']);
    assert.equal(st.code, 0, st.stderr);
  });
});
