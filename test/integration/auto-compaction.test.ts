/**
 * Auto-compaction end to end: on a real single member (in process, ops-fixture), revision mode with
 * the test-only interval variable and periodic mode with a 2 s retention; on a 3-member cluster of
 * real processes, the leader-only rule across a leadership move. The compaction is seen from outside:
 * HashKV's compact_revision, and reads below it refused as compacted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import {
  KVClient,
  MaintenanceClient,
  type HashKVRequest,
  type HashKVResponse,
  type MoveLeaderRequest,
  type MoveLeaderResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type StatusRequest,
  type StatusResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { freePort, startServer, type ServerProcess } from '../../e2e/compat/support/servers.js';
import { TEST_INTERVAL_VARIABLE } from '../../pkg/server/compactor/compactor-module.js';
import { removeDir, startTestMember, type TestMember } from './ops-fixture.js';

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';

type Cb<T> = (err: grpc.ServiceError | null, res: T) => void;
function rpc<Req, Res>(fn: unknown, self: object): (req: Req) => Promise<Res> {
  return (req) => new Promise((resolve, reject) => (fn as (req: Req, cb: Cb<Res>) => unknown).call(self, req, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res))));
}

interface Client {
  put(key: string, value: string): Promise<bigint>;
  /** The value of `key` at `revision`, or the error message. */
  getAt(key: string, revision: bigint): Promise<{ value?: string; error?: string }>;
  compactRevision(): Promise<bigint>;
  /** This member's ID and the leader it knows. */
  status(): Promise<{ id: bigint; leader: bigint }>;
  moveLeader(to: bigint): Promise<void>;
  close(): void;
}

function client(endpoint: string): Client {
  const creds = grpc.credentials.createInsecure();
  const kv = new KVClient(endpoint, creds);
  const mt = new MaintenanceClient(endpoint, creds);
  const b = (s: string): Uint8Array => Buffer.from(s);
  return {
    put: async (key, value) => {
      const r = await rpc<PutRequest, PutResponse>(kv.put, kv)({ key: b(key), value: b(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
      return r.header?.revision ?? 0n;
    },
    getAt: async (key, revision) => {
      try {
        const r = await rpc<RangeRequest, RangeResponse>(kv.range, kv)({
          key: b(key), rangeEnd: new Uint8Array(), limit: 0n, revision, sortOrder: 0, sortTarget: 0, serializable: false,
          keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
        });
        const kvs = r.kvs[0];
        return kvs === undefined ? {} : { value: Buffer.from(kvs.value).toString() };
      } catch (err) {
        return { error: (err as grpc.ServiceError).details };
      }
    },
    compactRevision: async () => (await rpc<HashKVRequest, HashKVResponse>(mt.hashKv, mt)({ revision: 0n })).compactRevision,
    status: async () => {
      const r = await rpc<StatusRequest, StatusResponse>(mt.status, mt)({});
      return { id: r.header?.memberId ?? 0n, leader: r.leader };
    },
    moveLeader: async (targetID) => {
      await rpc<MoveLeaderRequest, MoveLeaderResponse>(mt.moveLeader, mt)({ targetID });
    },
    close: () => {
      kv.close();
      mt.close();
    },
  };
}

/** Polls `probe` every 100 ms until it returns a value; fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('auto-compaction, revision mode', () => {
  const RETENTION = 5n;
  let m: TestMember;
  let c: Client;
  before(async () => {
    // Test-only: 300 ms instead of etcd's 5 minutes (read when the member starts).
    process.env[TEST_INTERVAL_VARIABLE] = '300';
    try {
      m = await startTestMember(['--auto-compaction-mode=revision', `--auto-compaction-retention=${RETENTION}`]);
    } finally {
      delete process.env[TEST_INTERVAL_VARIABLE];
    }
    c = client(m.endpoint);
  });
  after(async () => {
    c.close();
    await m.stop();
    removeDir(m.dir);
  });

  it('compacts to current revision − retention once writes stop', async () => {
    let last = 0n;
    for (let i = 1; i <= 20; i++) last = await c.put('k', `v${i}`);
    const target = last - RETENTION;
    assert.ok(target > 1n);
    // Writes were going on while the compactor ticked: it may have compacted to earlier targets first.
    const reached = await waitFor('compaction to current − retention', async () => {
      const r = await c.compactRevision();
      assert.ok(r <= target, `compacted to ${r}, beyond current − retention (${target})`);
      return r === target ? r : undefined;
    });
    assert.equal(reached, target);
    assert.deepEqual(await c.getAt('k', target - 1n), { error: COMPACTED });
    // The value written at `target` is the (target − 1)-th put (the first put made revision 2).
    assert.deepEqual(await c.getAt('k', target), { value: `v${target - 1n}` });
    assert.deepEqual(await c.getAt('k', last), { value: 'v20' });
  });

  it('keeps compacting as the revision grows', async () => {
    let last = 0n;
    for (let i = 1; i <= 7; i++) last = await c.put('k2', `w${i}`);
    const target = last - RETENTION;
    await waitFor('the next compaction', async () => ((await c.compactRevision()) === target ? true : undefined));
    assert.deepEqual(await c.getAt('k2', target - 1n), { error: COMPACTED });
  });
});

describe('auto-compaction, periodic mode (2s)', () => {
  const RETENTION_MS = 2_000;
  let m: TestMember;
  let c: Client;
  before(async () => {
    m = await startTestMember(['--auto-compaction-mode=periodic', '--auto-compaction-retention=2s']);
    c = client(m.endpoint);
  });
  after(async () => {
    c.close();
    await m.stop();
    removeDir(m.dir);
  });

  it('compacts a written revision, never sooner than one retention after it was written', async () => {
    const sent = performance.now();
    const rev = await c.put('p', 'one');
    await c.put('p', 'two');
    const seenAt = await waitFor('a compaction covering the first put', async () => {
      const r = await c.compactRevision();
      return r >= rev ? performance.now() : undefined;
    });
    // The compactor only compacts to a revision it sampled at least one retention earlier.
    assert.ok(seenAt - sent >= RETENTION_MS, `compacted ${Math.round(seenAt - sent)} ms after the write`);
    const r = await c.compactRevision();
    assert.deepEqual(await c.getAt('p', r - 1n), { error: COMPACTED });
  });
});

describe('auto-compaction on a 3-member cluster (real processes)', () => {
  const RETENTION = 3n;
  const STARTING = 'starting auto revision compaction';
  let members: ServerProcess[] = [];
  let clients: Client[] = [];
  before(async () => {
    const ports = [];
    for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
    const started = await Promise.allSettled(
      ports.map((p, i) =>
        startServer('berth', {
          clientPort: p.client,
          peerPort: p.peer,
          name: `m${i}`,
          initialCluster,
          extraArgs: ['--heartbeat-interval', '100', '--election-timeout', '1000', '--auto-compaction-mode=revision', `--auto-compaction-retention=${RETENTION}`],
          env: { [TEST_INTERVAL_VARIABLE]: '300' },
        }),
      ),
    );
    members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    clients = members.map((m) => client(m.endpoint));
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(members.map((m) => m.stop()));
  });

  const starts = (m: ServerProcess): number => m.output().split(STARTING).length - 1;

  /** Writes `n` keys through `c`; waits until every member has compacted to last − retention. */
  const writeAndAwaitCompaction = async (c: Client, n: number): Promise<bigint> => {
    let last = 0n;
    for (let i = 0; i < n; i++) last = await c.put(`c${i}`, String(i));
    const target = last - RETENTION;
    for (const [i, m] of clients.entries()) {
      await waitFor(`member ${i} compacted to ${target}`, async () => ((await m.compactRevision()) === target ? true : undefined));
    }
    assert.deepEqual(await c.getAt('c0', target - 1n), { error: COMPACTED });
    return target;
  };

  it('only the leader proposes compactions; after a leadership move only the new leader does', async () => {
    const st = await Promise.all(clients.map((c) => c.status()));
    const leaderId = st[0]?.leader ?? 0n;
    const li = st.findIndex((s) => s.id === leaderId);
    assert.ok(li >= 0, 'a leader is known');
    const leader = members[li] as ServerProcess;
    const leaderClient = clients[li] as Client;

    await writeAndAwaitCompaction(leaderClient, 10);
    assert.ok(starts(leader) >= 1, 'the leader compacted');
    for (const [i, m] of members.entries()) if (i !== li) assert.equal(starts(m), 0, `follower m${i} proposed no compaction`);

    // Move leadership to a follower: the old leader pauses, the new one resumes.
    const ni = (li + 1) % 3;
    await leaderClient.moveLeader(st[ni]?.id ?? 0n);
    await waitFor('the new leader', async () => ((await (clients[ni] as Client).status()).leader === st[ni]?.id ? true : undefined));
    const oldLeaderStarts = starts(leader);
    await writeAndAwaitCompaction(clients[ni] as Client, 10);
    assert.ok(starts(members[ni] as ServerProcess) >= 1, 'the new leader compacted');
    assert.equal(starts(leader), oldLeaderStarts, 'the old leader stopped compacting');
    const third = members[3 - li - ni] as ServerProcess;
    assert.equal(starts(third), 0, 'the member that never led never compacted');
  });
});
