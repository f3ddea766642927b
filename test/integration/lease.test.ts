/**
 * Leases end to end: a real single-member berth on loopback, driven by a grpc-js client built from
 * the generated definitions and by the real etcdctl.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { RunningMember } from '../../pkg/server/index.js';
import { etcdctl as runEtcdctl, startTestMember, type CmdResult } from './ops-fixture.js';
import {
  KVClient,
  LeaseClient,
  WatchClient,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseLeasesRequest,
  type LeaseLeasesResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type WatchResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s: string): Uint8Array => te.encode(s);
const s = (u: Uint8Array): string => td.decode(u);

let dir: string;
let member: RunningMember;
let endpoint: string;
let kv: KVClient;
let lease: LeaseClient;
let watch: WatchClient;

async function start(): Promise<void> {
  const m = await startTestMember([], dir);
  member = m.member;
  endpoint = m.endpoint;
  const creds = grpc.credentials.createInsecure();
  kv = new KVClient(endpoint, creds);
  lease = new LeaseClient(endpoint, creds);
  watch = new WatchClient(endpoint, creds);
}

async function stop(): Promise<void> {
  kv.close();
  lease.close();
  watch.close();
  await member.stop();
}

type Cb<T> = (err: grpc.ServiceError | null, res: T) => void;
function rpc<Req, Res>(fn: unknown, self: object): (req: Req) => Promise<Res> {
  return (req) => new Promise((resolve, reject) => (fn as (req: Req, cb: Cb<Res>) => unknown).call(self, req, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res))));
}

const grant = (TTL: bigint, ID = 0n) => rpc<LeaseGrantRequest, LeaseGrantResponse>(lease.leaseGrant, lease)({ TTL, ID });
const revoke = (ID: bigint) => rpc<LeaseRevokeRequest, LeaseRevokeResponse>(lease.leaseRevoke, lease)({ ID });
const timeToLive = (ID: bigint, keys = false) => rpc<LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(lease.leaseTimeToLive, lease)({ ID, keys });
const leases = () => rpc<LeaseLeasesRequest, LeaseLeasesResponse>(lease.leaseLeases, lease)({});
const put = (key: string, value: string, leaseId = 0n) =>
  rpc<PutRequest, PutResponse>(kv.put, kv)({ key: b(key), value: b(value), lease: leaseId, prevKv: false, ignoreValue: false, ignoreLease: false });
const get = (key: string, rangeEnd = '') =>
  rpc<RangeRequest, RangeResponse>(kv.range, kv)({
    key: b(key), rangeEnd: b(rangeEnd), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false,
    keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
  });

/** Polls `cond` every `everyMs` until it holds; fails after `timeoutMs`. */
async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 15_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Grant, retried until the member has elected itself and promoted its lessor. */
async function grantWhenReady(TTL: bigint): Promise<bigint> {
  let id = 0n;
  await waitFor('a leader', async () => {
    try {
      id = (await grant(TTL)).ID;
      return true;
    } catch {
      return false;
    }
  });
  return id;
}

/** Collects watch events on [key, rangeEnd) from `startRevision` until `enough` says stop. */
function watchEvents(key: string, rangeEnd: string, startRevision: bigint, enough: (events: WatchResponse['events']) => boolean): Promise<WatchResponse['events']> {
  return new Promise((resolve, reject) => {
    const stream = watch.watch();
    const events: WatchResponse['events'] = [];
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`watch: only ${events.length} events`));
    }, 20_000);
    stream.on('data', (r: WatchResponse) => {
      events.push(...r.events);
      if (enough(events)) {
        clearTimeout(timer);
        stream.cancel();
        resolve(events);
      }
    });
    stream.on('error', (e: grpc.ServiceError) => {
      if (e.code !== grpc.status.CANCELLED) {
        clearTimeout(timer);
        reject(e);
      }
    });
    stream.write({
      requestUnion: {
        $case: 'createRequest',
        value: { key: b(key), rangeEnd: b(rangeEnd), startRevision, progressNotify: false, filters: [], prevKv: true, watchId: 0n, fragment: false },
      },
    });
  });
}

function etcdctl(...args: string[]): Promise<CmdResult> {
  return runEtcdctl(endpoint, args);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-lease-it-'));
  await start();
});

after(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('lease service', () => {
  it('grants with a server-chosen positive ID, raising the TTL to the minimum (1 s at 500 ms elections)', async () => {
    const id = await grantWhenReady(0n);
    assert.ok(id > 0n);
    const r = await grant(-3n);
    assert.equal(r.TTL, 1n);
    assert.ok(r.ID > 0n && r.ID !== id);
    assert.ok((r.header?.revision ?? 0n) >= 1n);
    assert.equal((await grant(30n)).TTL, 30n);
  });

  it('refuses a too large TTL and a duplicate ID with etcd errors', async () => {
    await grantWhenReady(5n);
    await assert.rejects(grant(9_000_000_001n), { code: grpc.status.OUT_OF_RANGE, details: 'etcdserver: too large lease TTL' });
    const mine = 0x1234_5678n;
    assert.equal((await grant(10n, mine)).ID, mine);
    await assert.rejects(grant(10n, mine), { code: grpc.status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists' });
  });

  it('answers unknown leases like etcd', async () => {
    await grantWhenReady(5n);
    const unknown = 0x7777_0000_1111n;
    await assert.rejects(revoke(unknown), { code: grpc.status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    await assert.rejects(put('nolease', 'v', unknown), { code: grpc.status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    const ttl = await timeToLive(unknown, true);
    assert.equal(ttl.TTL, -1n);
    assert.equal(ttl.ID, unknown);
    const ka = lease.leaseKeepAlive();
    const resp = await new Promise<LeaseKeepAliveResponse>((resolve, reject) => {
      ka.once('data', resolve);
      ka.once('error', reject);
      ka.write({ ID: unknown });
    });
    ka.end();
    assert.equal(resp.TTL, 0n);
    assert.equal(resp.ID, unknown);
  });

  it('expiry deletes the attached keys with DELETE events carrying prev_kv, not before the TTL', async () => {
    const id = await grantWhenReady(2n);
    const granted = Date.now();
    const p1 = await put('exp/a', 'va', id);
    await put('exp/b', 'vb', id);
    const from = (p1.header?.revision ?? 0n) + 1n;
    const deletes = watchEvents('exp/', 'exp0', from, (evs) => evs.filter((e) => e.type === 1).length >= 2);
    await waitFor('expiry of the lease keys', async () => (await get('exp/', 'exp0')).kvs.length === 0);
    const elapsed = Date.now() - granted;
    assert.ok(elapsed >= 1_900, `keys deleted after ${elapsed} ms with TTL 2 s`);
    const evs = (await deletes).filter((e) => e.type === 1);
    assert.deepEqual(evs.map((e) => s(e.kv?.key ?? new Uint8Array())), ['exp/a', 'exp/b']);
    assert.equal(evs[0]?.kv?.modRevision, evs[1]?.kv?.modRevision, 'one revision for the whole lease');
    assert.deepEqual(evs.map((e) => s(e.prevKv?.value ?? new Uint8Array())), ['va', 'vb']);
    assert.deepEqual(evs.map((e) => e.prevKv?.lease), [id, id]);
    assert.equal((await timeToLive(id)).TTL, -1n);
    assert.ok(!(await leases()).leases.some((l) => l.ID === id));
  });

  it('keep-alive extends the lease past its TTL', async () => {
    const id = await grantWhenReady(2n);
    await put('ka/key', 'v', id);
    const ka = lease.leaseKeepAlive();
    const responses: LeaseKeepAliveResponse[] = [];
    ka.on('data', (r: LeaseKeepAliveResponse) => responses.push(r));
    const started = Date.now();
    // Renew every 500 ms for 4 s (twice the TTL), checking the key stays.
    while (Date.now() - started < 4_000) {
      ka.write({ ID: id });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await get('ka/key')).kvs.length, 1, `key gone ${Date.now() - started} ms after grant despite keep-alives`);
    }
    ka.end();
    assert.ok(responses.length >= 6, `${responses.length} keep-alive responses`);
    assert.ok(responses.every((r) => r.ID === id && r.TTL === 2n));
    const t = await timeToLive(id);
    assert.ok(t.TTL >= 1n && t.TTL <= 2n, `remaining ${t.TTL}`);
    assert.equal(t.grantedTTL, 2n);
    await waitFor('expiry after keep-alives stop', async () => (await get('ka/key')).kvs.length === 0);
  });

  it('revoke deletes every attached key in one revision and nothing else', async () => {
    const id = await grantWhenReady(60n);
    await put('rv/other', 'keep');
    await put('rv/1', 'a', id);
    await put('rv/3', 'c', id);
    const last = await put('rv/2', 'b', id);
    const rev = last.header?.revision ?? 0n;
    const ttl = await timeToLive(id, true);
    assert.deepEqual(ttl.keys.map(s), ['rv/1', 'rv/2', 'rv/3']);
    assert.equal(ttl.grantedTTL, 60n);
    assert.ok(ttl.TTL > 55n && ttl.TTL <= 60n);
    assert.ok((await leases()).leases.some((l) => l.ID === id));
    const deletes = watchEvents('rv/', 'rv0', rev + 1n, (evs) => evs.length >= 3);
    const r = await revoke(id);
    assert.equal(r.header?.revision, rev + 1n);
    const left = await get('rv/', 'rv0');
    assert.deepEqual(left.kvs.map((x) => s(x.key)), ['rv/other']);
    assert.equal(left.header?.revision, rev + 1n);
    const evs = await deletes;
    assert.deepEqual(evs.map((e) => [e.type, s(e.kv?.key ?? new Uint8Array()), e.kv?.modRevision, e.prevKv?.lease]), [
      [1, 'rv/1', rev + 1n, id],
      [1, 'rv/2', rev + 1n, id],
      [1, 'rv/3', rev + 1n, id],
    ]);
    await assert.rejects(revoke(id), { code: grpc.status.NOT_FOUND });
  });

  it('moving a key to another lease detaches it from the first', async () => {
    const a = await grantWhenReady(60n);
    const c = (await grant(60n)).ID;
    await put('mv/k', 'v1', a);
    await put('mv/k', 'v2', c);
    assert.deepEqual((await timeToLive(a, true)).keys, []);
    assert.deepEqual((await timeToLive(c, true)).keys.map(s), ['mv/k']);
    await revoke(a);
    assert.equal((await get('mv/k')).kvs.length, 1, 'revoking the old lease must not delete the key');
    await revoke(c);
    assert.equal((await get('mv/k')).kvs.length, 0);
  });

  it('leases and attachments survive a restart; the new leader extends, never cuts', async () => {
    const id = await grantWhenReady(100n);
    await put('rs/k', 'v', id);
    await stop();
    await start();
    await grantWhenReady(5n); // leader again and lessor promoted
    const t = await timeToLive(id, true);
    assert.deepEqual(t.keys.map(s), ['rs/k']);
    assert.equal(t.grantedTTL, 100n);
    assert.ok(t.TTL >= 99n && t.TTL <= 101n, `remaining ${t.TTL} after restart`);
    assert.ok((await leases()).leases.some((l) => l.ID === id));
    await revoke(id);
    assert.equal((await get('rs/k')).kvs.length, 0);
  });
});

describe('etcdctl lease commands', () => {
  it('grant, put --lease, timetolive --keys, keep-alive --once, list, revoke', async () => {
    await grantWhenReady(5n);
    const g = await etcdctl('lease', 'grant', '10');
    assert.equal(g.code, 0, g.stderr);
    const m = /^lease ([0-9a-f]+) granted with TTL\(10s\)$/m.exec(g.stdout);
    assert.ok(m, g.stdout);
    const hex = m[1] ?? '';
    const p = await etcdctl('put', 'ctl/k', 'v', `--lease=${hex}`);
    assert.equal(p.stdout.trim(), 'OK', p.stderr);
    const t = await etcdctl('lease', 'timetolive', hex, '--keys');
    assert.match(t.stdout, new RegExp(`^lease ${hex} granted with TTL\\(10s\\), remaining\\((9|10)s\\), attached keys\\(\\[ctl/k\\]\\)$`, 'm'));
    const k = await etcdctl('lease', 'keep-alive', '--once', hex);
    assert.match(k.stdout, new RegExp(`^lease ${hex} keepalived with TTL\\(10\\)$`, 'm'), k.stderr);
    const l = await etcdctl('lease', 'list');
    assert.match(l.stdout, /^found \d+ leases$/m);
    assert.ok(l.stdout.split('\n').includes(hex), l.stdout);
    const r = await etcdctl('lease', 'revoke', hex);
    assert.match(r.stdout, new RegExp(`^lease ${hex} revoked$`, 'm'), r.stderr);
    const after = await etcdctl('get', 'ctl/k');
    assert.equal(after.stdout, '');
    const gone = await etcdctl('lease', 'timetolive', hex);
    assert.match(gone.stdout, new RegExp(`^lease ${hex} already expired$`, 'm'));
    const bad = await etcdctl('lease', 'revoke', hex);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /etcdserver: requested lease not found/);
  });
});
