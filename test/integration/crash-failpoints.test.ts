// Crash-sensitive lines, hit on purpose: a berth process under write load is SIGKILLed by a named
// failpoint (BERTH_FAILPOINTS, see docs/robustness.md) exactly between two steps of a write — before
// or after the apply batch commit, before or after the raft log fsync, between two batches of a
// physical compaction. After a restart on the same data dir:
//  - every acknowledged write is there, at the revision it was acknowledged with;
//  - the applied index matches the data: the next write gets the next revision, nothing is applied
//    twice (every revision is unique) and the state hashes the same across a further restart;
//  - an interrupted compaction resumes and ends in the same state as a member that was never killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  KVService,
  MaintenanceService,
  type CompactionRequest,
  type CompactionResponse,
  type HashKVRequest,
  type HashKVResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { freePort, startServer, type ServerProcess } from '../../e2e/compat/support/servers.js';
import { kvClient, type KvClient } from '../support/kv-client.js';

type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

/** Compact and HashKV, which the KV test client does not have. */
function admin(endpoint: string) {
  const Kv = grpc.makeGenericClientConstructor(KVService, 'KV');
  const Mt = grpc.makeGenericClientConstructor(MaintenanceService, 'Maintenance');
  const kv = new Kv(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & { compact: UnaryFn<CompactionRequest, CompactionResponse> };
  const mt = new Mt(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & { hashKv: UnaryFn<HashKVRequest, HashKVResponse> };
  const call = <Req, Res>(c: grpc.Client, fn: UnaryFn<Req, Res>, req: Req): Promise<Res> =>
    new Promise((resolve, reject) =>
      fn.call(c, req, new grpc.Metadata(), { deadline: new Date(Date.now() + 20_000) }, (err, res) => (err !== null ? reject(err) : resolve(res as Res))),
    );
  return {
    compact: (revision: bigint) => call(kv, kv.compact, { revision, physical: true }),
    hashKV: (revision: bigint) => call(mt, mt.hashKv, { revision }),
    close: () => {
      kv.close();
      mt.close();
    },
  };
}

interface Acked {
  readonly value: string;
  readonly revision: bigint;
}

/** Concurrent writers until the server dies (the failpoint fired) or `deadlineMs` passes. */
async function writeUntilDeath(server: ServerProcess, kv: KvClient, acked: Map<string, Acked>, tag: string, deadlineMs: number): Promise<boolean> {
  let dead = false;
  void server.exited.then(() => (dead = true));
  const until = Date.now() + deadlineMs;
  let n = 0;
  const writer = async (w: number): Promise<void> => {
    while (!dead && Date.now() < until) {
      const key = `${tag}/w${w}/${n++ % 50}`; // overwrites too: versions and prev revisions matter
      const value = `v${n}`;
      try {
        const res = await kv.put({ key: Buffer.from(key), value: Buffer.from(value) });
        acked.set(key, { value, revision: res.header?.revision ?? -1n });
      } catch {
        return; // the server died under us: the outcome of this write is unknown
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
  await Promise.race([server.exited, new Promise((r) => setTimeout(r, 2_000))]);
  return dead;
}

async function verify(kv: KvClient, acked: ReadonlyMap<string, Acked>): Promise<void> {
  for (const [key, want] of acked) {
    const r = await kv.range({ key: Buffer.from(key) });
    assert.equal(r.kvs.length, 1, `acknowledged key ${key} lost`);
    // Later writes to the same key may have been applied without their ack reaching us.
    assert.ok((r.kvs[0]?.modRevision ?? 0n) >= want.revision, `${key} went back from revision ${want.revision} to ${r.kvs[0]?.modRevision}`);
    if (r.kvs[0]?.modRevision === want.revision) assert.equal(Buffer.from(r.kvs[0].value).toString(), want.value);
  }
}

const KILL_POINTS = ['apply-before-commit', 'apply-after-commit', 'wal-before-sync', 'wal-after-sync'];

for (const point of KILL_POINTS) {
  test(`SIGKILL at ${point}: acknowledged writes survive and the applied index matches the data`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), `crash-${point}-`));
    const clientPort = await freePort();
    const peerPort = await freePort();
    const acked = new Map<string, Acked>();
    try {
      // Fire on a hit well into the load (the first hits happen during start-up for the wal points).
      const hit = 50 + Math.floor(Math.random() * 150);
      const armed = await startServer('berth', { clientPort, peerPort, dataDir, env: { BERTH_FAILPOINTS: `${point}=kill@${hit}` } });
      const kv1 = kvClient(armed.endpoint);
      const died = await writeUntilDeath(armed, kv1, acked, 'a', 30_000);
      kv1.close();
      assert.ok(died, `the ${point} failpoint never fired (hit ${hit})`);
      assert.ok(acked.size > 0, 'nothing was acknowledged before the crash');

      const maxAcked = [...acked.values()].reduce((m, a) => (a.revision > m ? a.revision : m), 0n);
      const s2 = await startServer('berth', { clientPort, peerPort, dataDir });
      const kv2 = kvClient(s2.endpoint);
      const ad2 = admin(s2.endpoint);
      let rev: bigint;
      let hash: HashKVResponse;
      try {
        await verify(kv2, acked);
        // The next write lands on the next revision after everything applied: nothing applied twice or lost.
        const head = await kv2.range({ key: Buffer.from('a/'), rangeEnd: Buffer.from('a0'), countOnly: true });
        const before = head.header?.revision ?? 0n;
        assert.ok(before >= maxAcked, `revision ${before} is behind an acknowledged ${maxAcked}`);
        const p = await kv2.put({ key: Buffer.from('after'), value: Buffer.from('x') });
        rev = p.header?.revision ?? 0n;
        assert.equal(rev, before + 1n);
        hash = await ad2.hashKV(rev);
      } finally {
        kv2.close();
        ad2.close();
        await s2.stop();
      }
      // The state is what was durable: a restart without a crash reproduces it exactly.
      const s3 = await startServer('berth', { clientPort, peerPort, dataDir });
      const ad3 = admin(s3.endpoint);
      try {
        const again = await ad3.hashKV(rev);
        assert.equal(again.hash, hash.hash);
        assert.equal(again.header?.revision, rev);
      } finally {
        ad3.close();
        await s3.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

test('SIGKILL between compaction batches: the compaction resumes after restart and ends where an uninterrupted one does', async () => {
  const root = mkdtempSync(join(tmpdir(), 'crash-compact-'));
  // The same writes, one at a time (so revisions are deterministic), on two members: one compacts
  // normally, the other is killed between two batches of the physical compaction.
  const KEYS = 300;
  const PUTS = 3_000;
  const COMPACT_AT = 2_001n;
  const load = async (kv: KvClient): Promise<void> => {
    for (let i = 0; i < PUTS; i++) await kv.put({ key: Buffer.from(`c/${i % KEYS}`), value: Buffer.from(`value-${i}`.repeat(4)) });
  };
  try {
    const portsA = { clientPort: await freePort(), peerPort: await freePort() };
    const ref = await startServer('berth', { ...portsA, dataDir: join(root, 'ref') });
    const refKv = kvClient(ref.endpoint);
    const refAd = admin(ref.endpoint);
    let want: HashKVResponse;
    try {
      await load(refKv);
      await refAd.compact(COMPACT_AT);
      want = await refAd.hashKV(COMPACT_AT);
    } finally {
      refKv.close();
      refAd.close();
      await ref.stop();
    }

    const portsB = { clientPort: await freePort(), peerPort: await freePort() };
    const dataDir = join(root, 'crashed');
    const victim = await startServer('berth', { ...portsB, dataDir, env: { BERTH_FAILPOINTS: 'compact-between-batches=kill@2' } });
    const vKv = kvClient(victim.endpoint);
    const vAd = admin(victim.endpoint);
    try {
      await load(vKv);
      await assert.rejects(vAd.compact(COMPACT_AT), 'the compaction was to be interrupted by the kill');
      await victim.exited;
    } finally {
      vKv.close();
      vAd.close();
    }

    const again = await startServer('berth', { ...portsB, dataDir });
    const ad = admin(again.endpoint);
    const kv = kvClient(again.endpoint);
    try {
      // A read below the compaction point is refused at once (the compaction is recorded) ...
      await assert.rejects(kv.range({ key: Buffer.from('c/1'), revision: COMPACT_AT - 1n }), /required revision has been compacted/);
      // ... and the physical work finishes in the background: wait for the hash to settle on the reference's.
      const deadline = Date.now() + 30_000;
      let got = await ad.hashKV(COMPACT_AT);
      while (got.hash !== want.hash && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        got = await ad.hashKV(COMPACT_AT);
      }
      assert.equal(got.hash, want.hash, 'the resumed compaction did not end in the uninterrupted state');
      assert.equal(got.compactRevision, want.compactRevision);
      const r = await kv.range({ key: Buffer.from('c/'), rangeEnd: Buffer.from('c0'), revision: COMPACT_AT });
      assert.equal(r.kvs.length, KEYS);
    } finally {
      ad.close();
      kv.close();
      await again.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
