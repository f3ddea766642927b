/**
 * Auto-compaction end to end on a real single member (in process, ops-fixture): revision mode with
 * the test-only interval variable, and periodic mode with a 2 s retention. The compaction is seen
 * from outside: HashKV's compact_revision, and reads below it refused as compacted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import {
  KVClient,
  MaintenanceClient,
  type HashKVRequest,
  type HashKVResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';
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
