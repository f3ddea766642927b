/**
 * etcd's concurrency services (v3lockpb.Lock, v3electionpb.Election) end to end: a real single-member
 * berth on loopback, grpc-js clients built from the generated definitions, and the real etcdctl
 * (3.4's `lock` / `elect` run the same recipes client-side over KV, Lease and Watch).
 *
 * Expected values (keys, header revisions, error codes and texts) were measured against etcd 3.4.23
 * with the same client; "mutex: session is expired" is etcd ≥ 3.5's answer.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { RunningMember } from '../../pkg/server/index.js';
import { startTestMember } from './ops-fixture.js';
import {
  KVService,
  LeaseService,
  type LeaseGrantResponse,
  type LeaseRevokeResponse,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { LockService, type LockResponse, type UnlockResponse } from '../../pkg/proto/gen/v3lockpb/v3lock.js';
import {
  ElectionService,
  type CampaignResponse,
  type LeaderKey,
  type LeaderResponse,
  type ProclaimResponse,
  type ResignResponse,
} from '../../pkg/proto/gen/v3electionpb/v3election.js';
import { startCluster, type Cluster } from '../../e2e/compat/support/servers.js';

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string): Uint8Array => te.encode(s);
const s = (u: Uint8Array | undefined): string => (u === undefined ? '' : td.decode(u));

let dir: string;
let member: RunningMember;
let endpoint: string;
let clients: grpc.Client[] = [];

type Cb<T> = (err: grpc.ServiceError | null, res?: T) => void;
type Method<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: Cb<Res>) => grpc.ClientUnaryCall;
type Stub = grpc.Client & Record<string, unknown>;

function client(def: grpc.ServiceDefinition, name: string): Stub {
  const Ctor = grpc.makeGenericClientConstructor(def, name);
  const c = new Ctor(endpoint, grpc.credentials.createInsecure()) as unknown as Stub;
  clients.push(c);
  return c;
}

/** One unary call; `deadlineMs` bounds it (the waiting recipes have no deadline of their own). */
function call<Req, Res>(c: Stub, method: string, req: Req, deadlineMs = 15_000): Promise<Res> {
  const fn = c[method] as Method<Req, Res>;
  return new Promise((resolve, reject) => {
    fn.call(c, req, new grpc.Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => (err !== null ? reject(err) : resolve(res as Res)));
  });
}

let kv: Stub;
let lease: Stub;
let locks: Stub;
let election: Stub;

const grant = (TTL = 60n) => call<unknown, LeaseGrantResponse>(lease, 'leaseGrant', { TTL, ID: 0n }).then((r) => r.ID);
const revoke = (ID: bigint) => call<unknown, LeaseRevokeResponse>(lease, 'leaseRevoke', { ID });
const put = (key: string, value: string) =>
  call<unknown, PutResponse>(kv, 'put', { key: b(key), value: b(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
const range = (key: string, rangeEnd = '') =>
  call<RangeRequest, RangeResponse>(kv, 'range', {
    key: b(key), rangeEnd: b(rangeEnd), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
  });
const keysUnder = async (prefix: string): Promise<string[]> => {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return (await range(prefix, end)).kvs.map((x) => s(x.key));
};

const lockOn = (name: string, leaseId: bigint, deadlineMs?: number) => call<unknown, LockResponse>(locks, 'lock', { name: b(name), lease: leaseId }, deadlineMs);
const unlock = (key: Uint8Array) => call<unknown, UnlockResponse>(locks, 'unlock', { key });
const campaign = (name: string, leaseId: bigint, value: string, deadlineMs?: number) =>
  call<unknown, CampaignResponse>(election, 'campaign', { name: b(name), lease: leaseId, value: b(value) }, deadlineMs);
const leaderOf = (name: string) => call<unknown, LeaderResponse>(election, 'leader', { name: b(name) });
const proclaim = (leader: LeaderKey | undefined, value: string) => call<unknown, ProclaimResponse>(election, 'proclaim', { leader, value: b(value) });
const resign = (leader: LeaderKey | undefined) => call<unknown, ResignResponse>(election, 'resign', { leader });

/** Polls `cond` until it holds (bounded). */
async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A promise with a flag telling whether it settled yet. */
function tracked<T>(p: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const promise = p.finally(() => (done = true));
  promise.catch(() => undefined);
  return { promise, settled: () => done };
}

function rejectsWith(p: Promise<unknown>, code: grpc.status, details: string): Promise<void> {
  return assert.rejects(p, (e: grpc.ServiceError) => {
    assert.equal(e.details, details);
    assert.equal(e.code, code);
    return true;
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-concurrency-'));
  const m = await startTestMember([], dir);
  member = m.member;
  endpoint = m.endpoint;
  kv = client(KVService, 'KV');
  lease = client(LeaseService, 'Lease');
  locks = client(LockService, 'Lock');
  election = client(ElectionService, 'Election');
  // The member elects itself and promotes its lessor: a grant works from then on.
  await waitFor('a leader', () => grant().then(() => true, () => false));
});

after(async () => {
  for (const c of clients) c.close();
  clients = [];
  await member.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Lock', () => {
  it('queues a second locker until the first unlocks, in create-revision order', async () => {
    const [la, lb] = [await grant(), await grant()];
    const a = await lockOn('q', la);
    assert.equal(s(a.key), `q/${la.toString(16)}`);
    const again = await lockOn('q', la);
    assert.deepEqual(again.key, a.key, 'the same lease reuses its key and still holds the lock');

    const bLock = tracked(lockOn('q', lb));
    await waitFor('the second key to be queued', async () => (await keysUnder('q/')).includes(`q/${lb.toString(16)}`));
    const unrelated = await put('q-other', 'x');
    assert.ok(unrelated.header !== undefined);
    assert.equal(bLock.settled(), false, 'the second locker waits while the first holds the lock');

    const u = await unlock(a.key);
    const bRes = await bLock.promise;
    assert.equal(s(bRes.key), `q/${lb.toString(16)}`);
    assert.ok(bRes.header !== undefined && u.header !== undefined);
    assert.ok(bRes.header.revision >= u.header.revision, 'acquired no earlier than the unlock');
    await unlock(bRes.key);
    assert.deepEqual(await keysUnder('q/'), []);
  });

  it('grants a queue of 12 lockers one at a time, in create-revision order', async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < 12; i++) ids.push(await grant());
    const pending = new Map(ids.map((id) => [`fifo/${id.toString(16)}`, tracked(lockOn('fifo', id, 30_000))]));
    await waitFor('every locker to queue', async () => (await keysUnder('fifo/')).length === ids.length);
    const byCreate = (await range('fifo/', 'fifo0')).kvs.slice().sort((x, y) => (x.createRevision < y.createRevision ? -1 : 1)).map((x) => s(x.key));
    const acquired: string[] = [];
    for (const key of byCreate) {
      const p = pending.get(key);
      assert.ok(p !== undefined);
      const r = await p.promise;
      acquired.push(s(r.key));
      const others = [...pending.entries()].filter(([k]) => k !== key && !acquired.includes(k));
      assert.ok(others.every(([, o]) => !o.settled()), 'only the holder has its answer');
      await unlock(r.key);
    }
    assert.deepEqual(acquired, byCreate);
    for (const id of ids) await revoke(id);
  });

  it('hands the lock to the waiter when the holder’s lease is revoked', async () => {
    const [la, lb] = [await grant(), await grant()];
    await lockOn('rv', la);
    const bLock = tracked(lockOn('rv', lb));
    await waitFor('the waiter to queue', async () => (await keysUnder('rv/')).length === 2);
    assert.equal(bLock.settled(), false);
    const r = await revoke(la);
    const got = await bLock.promise;
    assert.equal(s(got.key), `rv/${lb.toString(16)}`);
    assert.ok(got.header !== undefined && r.header !== undefined && got.header.revision >= r.header.revision);
    await revoke(lb);
  });

  it('gives the key back when the waiting call is cancelled (deadline)', async () => {
    const [la, lb] = [await grant(), await grant()];
    const a = await lockOn('cx', la);
    await assert.rejects(lockOn('cx', lb, 400), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
    await waitFor('the cancelled waiter’s key to be deleted', async () => (await keysUnder('cx/')).length === 1);
    assert.deepEqual(await keysUnder('cx/'), [`cx/${la.toString(16)}`]);
    await unlock(a.key);
  });

  it('fails a waiter whose lease ended while it waited with "mutex: session is expired"', async () => {
    const [la, lb] = [await grant(), await grant()];
    const a = await lockOn('ex', la);
    const bLock = tracked(lockOn('ex', lb));
    await waitFor('the waiter to queue', async () => (await keysUnder('ex/')).length === 2);
    await revoke(lb);
    assert.equal(bLock.settled(), false, 'etcd notices only once the keys before it are gone');
    await unlock(a.key);
    await rejectsWith(bLock.promise, grpc.status.UNKNOWN, 'mutex: session is expired');
  });

  it('answers an unknown lease like etcd (code UNKNOWN, the lease error text)', async () => {
    await rejectsWith(lockOn('nl', 0x123456n), grpc.status.UNKNOWN, 'etcdserver: requested lease not found');
    assert.deepEqual(await keysUnder('nl/'), []);
  });

  it('grants a lease of its own for lease 0, as etcd’s server does', async () => {
    const r = await lockOn('zero', 0n);
    const [k] = (await range(s(r.key))).kvs;
    assert.ok(k !== undefined && k.lease !== 0n);
    assert.equal(s(r.key), `zero/${k.lease.toString(16)}`);
    await revoke(k.lease);
  });

  it('unlocks a missing key without error', async () => {
    const before = await put('unl', 'x');
    const r = await unlock(b('no-such-lock/1'));
    assert.equal(r.header?.revision, before.header?.revision, 'nothing deleted, no new revision');
  });
});

describe('Election', () => {
  it('campaign / leader / proclaim / observe / resign with two candidates', async () => {
    const [la, lb] = [await grant(), await grant()];
    await rejectsWith(leaderOf('el'), grpc.status.UNKNOWN, 'election: no leader');

    // An observer started before anyone leads.
    const observed: { key: string; value: string; rev: bigint }[] = [];
    const waiters: (() => void)[] = [];
    const stream = (election.observe as (req: unknown, opts: grpc.CallOptions) => grpc.ClientReadableStream<LeaderResponse>).call(election, { name: b('el') }, {
      deadline: new Date(Date.now() + 30_000),
    });
    stream.on('data', (r: LeaderResponse) => {
      observed.push({ key: s(r.kv?.key), value: s(r.kv?.value), rev: r.header?.revision ?? -1n });
      for (const w of waiters.splice(0)) w();
    });
    stream.on('error', () => undefined);
    const observedCount = (n: number): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => (observed.length >= n ? resolve() : void waiters.push(check));
        check();
      });

    const a = await campaign('el', la, 'a1');
    assert.ok(a.leader !== undefined && a.header !== undefined);
    assert.equal(s(a.leader.key), `el/${la.toString(16)}`);
    assert.equal(s(a.leader.name), 'el');
    assert.equal(a.leader.rev, a.header.revision);
    assert.equal(a.leader.lease, la);

    const bCamp = tracked(campaign('el', lb, 'b1'));
    await waitFor('the second candidate to queue', async () => (await keysUnder('el/')).length === 2);
    const l1 = await leaderOf('el');
    assert.equal(s(l1.kv?.value), 'a1');
    assert.equal(bCamp.settled(), false, 'the second candidate waits');

    const p = await proclaim(a.leader, 'a2');
    assert.equal(s((await leaderOf('el')).kv?.value), 'a2');
    await observedCount(2);

    // B's key with A's revision is not the leader; nor is A with a wrong revision.
    const bKey = { name: b('el'), key: b(`el/${lb.toString(16)}`), rev: a.leader.rev, lease: lb };
    await rejectsWith(proclaim(bKey, 'x'), grpc.status.UNKNOWN, 'election: not leader');
    await rejectsWith(proclaim({ ...a.leader, rev: 1n }, 'x'), grpc.status.UNKNOWN, 'election: not leader');
    await rejectsWith(proclaim(undefined, 'x'), grpc.status.UNKNOWN, '"leader" field must be provided');
    await rejectsWith(resign(undefined), grpc.status.UNKNOWN, '"leader" field must be provided');
    // Resigning with a stale identity is a no-op, like etcd.
    await resign({ ...a.leader, rev: 1n });
    assert.equal(s((await leaderOf('el')).kv?.value), 'a2');

    const r = await resign(a.leader);
    const bRes = await bCamp.promise;
    assert.ok(bRes.leader !== undefined && bRes.header !== undefined && r.header !== undefined);
    assert.equal(s(bRes.leader.key), `el/${lb.toString(16)}`);
    assert.equal(bRes.header.revision, bRes.leader.rev, 'etcd answers with the header of the campaign Txn');
    assert.equal(s((await leaderOf('el')).kv?.value), 'b1');
    await observedCount(3);
    assert.deepEqual(
      observed.map((o) => [o.key, o.value]),
      [[`el/${la.toString(16)}`, 'a1'], [`el/${la.toString(16)}`, 'a2'], [`el/${lb.toString(16)}`, 'b1']],
    );
    assert.equal(observed[1]?.rev, p.header?.revision);

    // The leader's lease ends → no leader; the observer keeps waiting for the next one.
    await revoke(lb);
    await rejectsWith(leaderOf('el'), grpc.status.UNKNOWN, 'election: no leader');
    const c = await campaign('el', la, 'a3');
    await observedCount(4);
    assert.deepEqual([observed[3]?.key, observed[3]?.value], [s(c.leader?.key), 'a3']);
    stream.cancel();
    await resign(c.leader);
  });

  it('re-campaigning with the same lease keeps the place and proclaims the new value', async () => {
    const la = await grant();
    const first = await campaign('re', la, 'v1');
    const second = await campaign('re', la, 'v2');
    assert.deepEqual(second.leader, first.leader);
    assert.equal(second.header?.revision, first.header?.revision);
    assert.equal(s((await leaderOf('re')).kv?.value), 'v2');
    await resign(second.leader);
  });

  it('a cancelled campaign resigns its key; an unknown lease fails like etcd', async () => {
    const [la, lb] = [await grant(), await grant()];
    const a = await campaign('cc', la, 'a');
    await assert.rejects(campaign('cc', lb, 'b', 400), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
    await waitFor('the cancelled candidate’s key to be deleted', async () => (await keysUnder('cc/')).length === 1);
    await rejectsWith(campaign('cc', 0x7777n, 'z'), grpc.status.UNKNOWN, 'etcdserver: requested lease not found');
    await resign(a.leader);
  });
});

describe('HTTP JSON gateway', () => {
  const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const r = await fetch(`http://${endpoint}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  const b64 = (x: string): string => Buffer.from(x).toString('base64');

  it('serves /v3/lock/* and /v3/election/* through the gRPC services', async () => {
    const l = await grant();
    const none = await post('/v3/election/leader', { name: b64('gw-el') });
    assert.equal(none.json['message'], 'election: no leader');
    assert.equal(none.json['code'], 2);
    const c = await post('/v3/election/campaign', { name: b64('gw-el'), lease: l.toString(), value: b64('v') });
    assert.equal(c.status, 200);
    const lead = await post('/v3/election/leader', { name: b64('gw-el') });
    assert.equal(Buffer.from(String((lead.json['kv'] as Record<string, unknown>)['value']), 'base64').toString(), 'v');
    const k = await post('/v3/lock/lock', { name: b64('gw-lock'), lease: l.toString() });
    assert.equal(Buffer.from(String(k.json['key']), 'base64').toString(), `gw-lock/${l.toString(16)}`);
    await revoke(l);
  });
});

describe('etcdctl (client-side recipes over KV, Lease, Watch)', () => {
  const etcdctl = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      });
    });

  /** Spawns etcdctl and resolves once its stdout has `lines` lines. */
  function spawnUntilLines(args: string[], lines: number): { child: ChildProcess; output: Promise<string[]>; exited: Promise<void> } {
    const child = spawn('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    void exited.then(() => clearTimeout(timer));
    let out = '';
    const output = new Promise<string[]>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const got = out.split('\n').filter((l) => l !== '');
        if (got.length >= lines) resolve(got);
      });
      void exited.then(() => reject(new Error(`etcdctl ${args.join(' ')} exited; output: ${out}`)));
    });
    output.catch(() => undefined);
    return { child, output, exited };
  }

  it('etcdctl lock runs the command while holding the lock', async () => {
    const r = await etcdctl(['lock', 'mylock', '--', 'sh', '-c', 'echo held; echo "$ETCD_LOCK_KEY"']);
    assert.equal(r.code, 0, r.stderr);
    const [held, key] = r.stdout.trim().split('\n');
    assert.equal(held, 'held');
    assert.match(key ?? '', /^mylock\/[0-9a-f]+$/);
    assert.deepEqual(await keysUnder('mylock/'), [], 'released after the command');
  });

  it('etcdctl lock waits for a lock held through the Lock service', async () => {
    const la = await grant();
    const held = await lockOn('ctl-lock', la);
    const child = spawnUntilLines(['lock', 'ctl-lock', '--', 'echo', 'got it'], 1);
    await waitFor('etcdctl to queue', async () => (await keysUnder('ctl-lock/')).length === 2);
    await unlock(held.key);
    assert.deepEqual(await child.output, ['got it']);
    await child.exited;
  });

  it('etcdctl elect campaigns and observes; the Election service sees the same leader', async () => {
    const candidate = spawnUntilLines(['elect', 'myelection', 'candidate'], 2);
    const [key, value] = await candidate.output;
    assert.match(key ?? '', /^myelection\/[0-9a-f]+$/);
    assert.equal(value, 'candidate');
    const l = await leaderOf('myelection');
    assert.equal(s(l.kv?.key), key);
    assert.equal(s(l.kv?.value), 'candidate');

    const observer = spawnUntilLines(['elect', '-l', 'myelection'], 2);
    assert.deepEqual(await observer.output, [key, 'candidate']);
    observer.child.kill('SIGINT');
    await observer.exited;

    // SIGINT makes etcdctl resign: the election has no leader afterwards.
    candidate.child.kill('SIGINT');
    await candidate.exited;
    await waitFor('the candidate to resign', async () => (await keysUnder('myelection/')).length === 0);
    await rejectsWith(leaderOf('myelection'), grpc.status.UNKNOWN, 'election: no leader');
  });
});

describe('on a 3-member cluster (followers wait on their own applied events)', () => {
  let cluster: Cluster;
  const stubs: grpc.Client[] = [];
  const at = (i: number, def: grpc.ServiceDefinition, name: string): Stub => {
    const Ctor = grpc.makeGenericClientConstructor(def, name);
    const c = new Ctor(cluster.endpoints[i] ?? '', grpc.credentials.createInsecure()) as unknown as Stub;
    stubs.push(c);
    return c;
  };

  before(async () => {
    cluster = await startCluster('berth', 3, ['--heartbeat-interval', '100', '--election-timeout', '1000']);
  });
  after(async () => {
    for (const c of stubs) c.close();
    await cluster.stop();
  });

  it('locks and elections through different members', async () => {
    const leases = at(0, LeaseService, 'Lease');
    const grantAt = async (): Promise<bigint> => {
      let id = 0n;
      await waitFor('a grant', () => call<unknown, LeaseGrantResponse>(leases, 'leaseGrant', { TTL: 60n, ID: 0n }).then((r) => ((id = r.ID), true), () => false));
      return id;
    };
    const [l0, l1] = [await grantAt(), await grantAt()];
    const lock0 = at(0, LockService, 'Lock');
    const lock1 = at(1, LockService, 'Lock');
    const lock2 = at(2, LockService, 'Lock');
    const a = await call<unknown, LockResponse>(lock0, 'lock', { name: b('cl'), lease: l0 });
    const waiting = tracked(call<unknown, LockResponse>(lock1, 'lock', { name: b('cl'), lease: l1 }, 20_000));
    const kv2 = at(2, KVService, 'KV');
    const count = async (): Promise<bigint> =>
      (await call<RangeRequest, RangeResponse>(kv2, 'range', {
        key: b('cl/'), rangeEnd: b('cl0'), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false,
        keysOnly: false, countOnly: true, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
      })).count;
    await waitFor('the waiter on member 1 to queue', async () => (await count()) === 2n);
    assert.equal(waiting.settled(), false);
    await call<unknown, UnlockResponse>(lock2, 'unlock', { key: a.key });
    const got = await waiting.promise;
    assert.equal(s(got.key), `cl/${l1.toString(16)}`);
    await call<unknown, UnlockResponse>(lock2, 'unlock', { key: got.key });

    const el0 = at(0, ElectionService, 'Election');
    const el1 = at(1, ElectionService, 'Election');
    const el2 = at(2, ElectionService, 'Election');
    const seen: string[] = [];
    let onSeen: () => void = () => undefined;
    const stream = (el2.observe as (req: unknown, opts: grpc.CallOptions) => grpc.ClientReadableStream<LeaderResponse>).call(el2, { name: b('ce') }, {
      deadline: new Date(Date.now() + 30_000),
    });
    stream.on('data', (r: LeaderResponse) => {
      seen.push(s(r.kv?.value));
      onSeen();
    });
    stream.on('error', () => undefined);
    const seenCount = (n: number): Promise<void> =>
      new Promise((resolve) => {
        onSeen = () => seen.length >= n && resolve();
        onSeen();
      });
    const c0 = await call<unknown, CampaignResponse>(el0, 'campaign', { name: b('ce'), lease: l0, value: b('zero') });
    const c1 = tracked(call<unknown, CampaignResponse>(el1, 'campaign', { name: b('ce'), lease: l1, value: b('one') }, 20_000));
    await seenCount(1);
    await call<unknown, ResignResponse>(el2, 'resign', { leader: c0.leader });
    const won = await c1.promise;
    assert.equal(s(won.leader?.key), `ce/${l1.toString(16)}`);
    const l = await call<unknown, LeaderResponse>(el2, 'leader', { name: b('ce') });
    assert.equal(s(l.kv?.value), 'one');
    await seenCount(2);
    assert.deepEqual(seen, ['zero', 'one']);
    stream.cancel();
  });
});
