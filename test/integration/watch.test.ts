/**
 * Watch end to end: a real member on loopback, a grpc-js client from the generated definitions,
 * writes through the KV service, and the real etcdctl (Debian etcd-client) as an unmodified client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { parseConfig } from '../../pkg/config/index.js';
import { startMember, type RunningMember } from '../../pkg/server/member.js';
import {
  KVClient,
  WatchClient,
  WatchCreateRequest_FilterType,
  type WatchCreateRequest,
  type WatchRequest,
  type WatchResponse,
} from '../../pkg/proto/gen/etcdserverpb/rpc.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const s = (u: Uint8Array | undefined): string => Buffer.from(u ?? new Uint8Array()).toString();

/** Responses of one stream, awaited in order. */
class Responses {
  readonly #buf: WatchResponse[] = [];
  readonly #waiters: ((r: WatchResponse) => void)[] = [];
  #error: Error | undefined;
  #errWaiters: ((e: Error) => void)[] = [];
  constructor(readonly call: grpc.ClientDuplexStream<WatchRequest, WatchResponse>) {
    call.on('data', (r: WatchResponse) => {
      const w = this.#waiters.shift();
      if (w === undefined) this.#buf.push(r);
      else w(r);
    });
    call.on('error', (e: Error) => {
      this.#error = e;
      for (const w of this.#errWaiters.splice(0)) w(e);
    });
  }
  next(timeoutMs = 5000): Promise<WatchResponse> {
    const r = this.#buf.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a watch response')), timeoutMs);
      this.#errWaiters.push((e) => {
        clearTimeout(t);
        reject(e);
      });
      this.#waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
  error(timeoutMs = 10000): Promise<Error> {
    if (this.#error !== undefined) return Promise.resolve(this.#error);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a stream error')), timeoutMs);
      this.#errWaiters.push((e) => {
        clearTimeout(t);
        resolve(e);
      });
    });
  }
  get buffered(): number {
    return this.#buf.length;
  }
  create(req: Partial<WatchCreateRequest>): void {
    const value: WatchCreateRequest = {
      key: new Uint8Array(),
      rangeEnd: new Uint8Array(),
      startRevision: 0n,
      progressNotify: false,
      filters: [],
      prevKv: false,
      watchId: 0n,
      fragment: false,
      ...req,
    };
    this.call.write({ requestUnion: { $case: 'createRequest', value } });
  }
  cancel(watchId: bigint): void {
    this.call.write({ requestUnion: { $case: 'cancelRequest', value: { watchId } } });
  }
  progress(): void {
    this.call.write({ requestUnion: { $case: 'progressRequest', value: {} } });
  }
}

const prefixEnd = (p: string): Uint8Array => {
  const u = b(p);
  u[u.length - 1] = (u[u.length - 1] ?? 0) + 1;
  return u;
};

describe('watch (real member)', () => {
  let tmp: string;
  let member: RunningMember;
  let addr: string;
  let kv: InstanceType<typeof KVClient>;
  let wc: InstanceType<typeof WatchClient>;
  const open: Responses[] = [];

  const stream = (md?: grpc.Metadata): Responses => {
    const r = new Responses(md === undefined ? wc.watch() : wc.watch(md));
    open.push(r);
    return r;
  };
  const put = (key: string, value: string | Uint8Array): Promise<bigint> =>
    new Promise((resolve, reject) =>
      kv.put(
        { key: b(key), value: typeof value === 'string' ? b(value) : value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
        (err, res) => (err !== null ? reject(err) : resolve(res?.header?.revision ?? -1n)),
      ),
    );
  const del = (key: string, rangeEnd?: Uint8Array): Promise<bigint> =>
    new Promise((resolve, reject) =>
      kv.deleteRange({ key: b(key), rangeEnd: rangeEnd ?? new Uint8Array(), prevKv: false }, (err, res) =>
        err !== null ? reject(err) : resolve(res?.header?.revision ?? -1n),
      ),
    );
  const compact = (revision: bigint): Promise<void> =>
    new Promise((resolve, reject) => kv.compact({ revision, physical: true }, (err) => (err !== null ? reject(err) : resolve())));

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-watch-'));
    const c = parseConfig({
      argv: [
        '--data-dir', tmp,
        '--listen-client-urls', 'http://127.0.0.1:0',
        '--advertise-client-urls', 'http://127.0.0.1:2379',
        '--listen-peer-urls', 'http://127.0.0.1:0',
        '--experimental-watch-progress-notify-interval', '300ms',
      ],
      env: {},
      cwd: tmp,
    });
    if (!c.ok || c.kind !== 'config') throw new Error(`config: ${JSON.stringify(c)}`);
    // The single member elects itself; wait for its "leader changed" log line rather than polling.
    let led: () => void = () => {};
    const elected = new Promise<void>((r) => (led = r));
    const logger = pino(
      { level: 'info' },
      {
        write(line: string): void {
          const rec = JSON.parse(line) as { msg?: string; leader?: string };
          if (rec.msg === 'leader changed' && rec.leader !== undefined && rec.leader !== '0') led();
        },
      },
    );
    member = await startMember(c.config, logger);
    const a = member.clientAddresses[0];
    assert.ok(a !== undefined);
    addr = `127.0.0.1:${a.port}`;
    kv = new KVClient(addr, grpc.credentials.createInsecure());
    wc = new WatchClient(addr, grpc.credentials.createInsecure());
    await elected;
    await put('warmup', 'x');
  });

  after(async () => {
    for (const r of open) r.call.cancel();
    kv.close();
    wc.close();
    await member.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('creates with IDs from 0, then delivers a prefix’s events with header revision and prev_kv', async () => {
    const r = stream();
    r.create({ key: b('a/'), rangeEnd: prefixEnd('a/'), prevKv: true });
    const c0 = await r.next();
    assert.equal(c0.created, true);
    assert.equal(c0.watchId, 0n);
    r.create({ key: b('a/x') });
    const c1 = await r.next();
    assert.equal(c1.watchId, 1n);
    assert.ok((c1.header?.revision ?? 0n) > 0n);
    const rev1 = await put('a/x', 'one');
    const rev2 = await put('a/x', 'two');
    await put('b/other', 'ignored');
    const got = [await r.next(), await r.next(), await r.next(), await r.next()];
    const byWatcher = (id: bigint): WatchResponse[] => got.filter((g) => g.watchId === id);
    const w0 = byWatcher(0n);
    assert.deepEqual(w0.map((g) => g.header?.revision), [rev1, rev2]);
    assert.equal(s(w0[1]?.events[0]?.kv?.value), 'two');
    assert.equal(s(w0[1]?.events[0]?.prevKv?.value), 'one');
    assert.equal(w0[0]?.events[0]?.prevKv, undefined, 'a create carries no prev_kv');
    const w1 = byWatcher(1n);
    assert.deepEqual(w1.map((g) => s(g.events[0]?.kv?.value)), ['one', 'two']);
    assert.equal(w1[1]?.events[0]?.prevKv, undefined, 'prev_kv only when asked');
  });

  it('replays history from a past revision in order, then continues live', async () => {
    const r0 = await put('h/k', 'v1');
    await put('h/k', 'v2');
    await del('h/k');
    const r = stream();
    r.create({ key: b('h/'), rangeEnd: prefixEnd('h/'), startRevision: r0, prevKv: true });
    assert.equal((await r.next()).created, true);
    const evs: { type: number; value: string; mod: bigint; prev: string }[] = [];
    while (evs.length < 3) {
      for (const e of (await r.next()).events) evs.push({ type: e.type, value: s(e.kv?.value), mod: e.kv?.modRevision ?? 0n, prev: s(e.prevKv?.value) });
    }
    assert.deepEqual(evs.map((e) => [e.type, e.value, e.prev]), [[0, 'v1', ''], [0, 'v2', 'v1'], [1, '', 'v2']]);
    assert.deepEqual(evs.map((e) => e.mod), [r0, r0 + 1n, r0 + 2n]);
    const live = await put('h/k', 'v3');
    const l = await r.next();
    assert.equal(l.events[0]?.kv?.modRevision, live);
  });

  it('a compacted start revision gets created, then one response with compact_revision and canceled', async () => {
    const first = await put('c/k', '1');
    await put('c/k', '2');
    const last = await put('c/k', '3');
    await compact(last);
    const r = stream();
    r.create({ key: b('c/k'), startRevision: first });
    const created = await r.next();
    assert.equal(created.created, true);
    const gone = await r.next();
    assert.equal(gone.watchId, created.watchId);
    assert.equal(gone.canceled, true);
    assert.equal(gone.compactRevision, last);
    // the compaction revision itself is still watchable
    r.create({ key: b('c/k'), startRevision: last });
    const ok = await r.next();
    assert.equal(ok.created, true);
    assert.equal(ok.canceled, false);
  });

  it('refuses a duplicate watch_id like etcd, ignores cancel of an unknown ID, cancels a known one', async () => {
    const r = stream();
    r.create({ key: b('d'), watchId: 7n });
    assert.equal((await r.next()).watchId, 7n);
    r.create({ key: b('d'), watchId: 7n });
    const dup = await r.next();
    assert.equal(dup.created, true);
    assert.equal(dup.canceled, true);
    assert.equal(dup.watchId, -1n);
    assert.equal(dup.cancelReason, 'mvcc: duplicate watch ID provided on the WatchStream');
    r.cancel(12345n);
    r.cancel(7n);
    const c = await r.next();
    assert.equal(c.canceled, true);
    assert.equal(c.watchId, 7n, 'the unknown ID produced no response before this one');
    await put('d', 'after-cancel');
    r.create({ key: b('d2') });
    const again = await r.next();
    assert.equal(again.created, true, 'no event for the canceled watcher arrived first');
  });

  it('answers a progress request with watch_id -1 at the current revision, and filters NOPUT', async () => {
    const r = stream();
    r.create({ key: b('p'), filters: [WatchCreateRequest_FilterType.NOPUT] });
    const c = await r.next();
    await put('p', 'x');
    const rev = await del('p');
    const delEv = await r.next();
    assert.equal(delEv.events.length, 1);
    assert.equal(delEv.events[0]?.type, 1, 'only the DELETE passes NOPUT');
    r.progress();
    const p = await r.next();
    assert.equal(p.watchId, -1n);
    assert.equal(p.events.length, 0);
    assert.ok((p.header?.revision ?? 0n) >= rev);
    assert.ok(c.watchId >= 0n);
  });

  it('sends progress_notify to an idle synced watcher every interval', async () => {
    const r = stream();
    r.create({ key: b('idle'), progressNotify: true });
    const c = await r.next();
    const n = await r.next(3000);
    assert.equal(n.watchId, c.watchId);
    assert.equal(n.events.length, 0);
    assert.equal(n.created, false);
  });

  it('fragments a revision larger than max-request-bytes + overhead when asked', async () => {
    const value = new Uint8Array(150 * 1024).fill(0x62);
    for (let i = 0; i < 16; i++) await put(`f/${String(i).padStart(2, '0')}`, value);
    const r = stream();
    r.create({ key: b('f/'), rangeEnd: prefixEnd('f/'), prevKv: true, fragment: true });
    await r.next();
    const plain = stream();
    plain.create({ key: b('f/'), rangeEnd: prefixEnd('f/'), prevKv: true });
    await plain.next();
    await del('f/', prefixEnd('f/'));
    const frags: WatchResponse[] = [];
    do frags.push(await r.next());
    while (frags[frags.length - 1]?.fragment === true);
    assert.ok(frags.length >= 2, `expected fragments, got ${frags.length}`);
    assert.equal(frags.reduce((n, f) => n + f.events.length, 0), 16);
    const whole = await plain.next();
    assert.equal(whole.events.length, 16, 'without fragment: one response');
    assert.equal(whole.fragment, false);
  });

  it('a client that stops reading stalls neither writes nor other watchers, and later catches up without gaps', async () => {
    const slow = stream();
    slow.create({ key: b('s/'), rangeEnd: prefixEnd('s/') });
    await slow.next();
    const fast = stream();
    fast.create({ key: b('s/'), rangeEnd: prefixEnd('s/') });
    await fast.next();
    slow.call.pause();
    const value = new Uint8Array(256 * 1024).fill(0x63);
    const N = 48; // 12 MiB of events: far beyond the 4 MiB stream budget and the HTTP/2 windows
    const revs: bigint[] = [];
    for (let i = 0; i < N; i++) revs.push(await put(`s/${i % 4}`, value));
    const fastRevs: bigint[] = [];
    while (fastRevs.length < N) fastRevs.push(...(await fast.next()).events.map((e) => e.kv?.modRevision ?? 0n));
    assert.deepEqual(fastRevs, revs);
    slow.call.resume();
    const slowRevs: bigint[] = [];
    while (slowRevs.length < N) slowRevs.push(...(await slow.next(20000)).events.map((e) => e.kv?.modRevision ?? 0n));
    assert.deepEqual(slowRevs, revs, 'ordered, unique, no gap');
  });

  it('delivers all events of a multi-key Txn (one revision) in one response, in txn order', async () => {
    const r = stream();
    r.create({ key: b('t/'), rangeEnd: prefixEnd('t/') });
    await r.next();
    const putOp = (k: string): { request: { $case: 'requestPut'; value: { key: Uint8Array; value: Uint8Array; lease: bigint; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean } } } => ({
      request: { $case: 'requestPut', value: { key: b(k), value: b('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } },
    });
    const rev = await new Promise<bigint>((resolve, reject) =>
      kv.txn({ compare: [], success: [putOp('t/c'), putOp('t/a'), putOp('t/b')], failure: [] }, (err, res) =>
        err !== null ? reject(err) : resolve(res?.header?.revision ?? -1n),
      ),
    );
    const got = await r.next();
    assert.equal(got.header?.revision, rev);
    assert.deepEqual(got.events.map((e) => s(e.kv?.key)), ['t/c', 't/a', 't/b']);
    assert.ok(got.events.every((e) => e.kv?.modRevision === rev));
  });

  it('accepts hasleader=true while the member leads', async () => {
    const md = new grpc.Metadata();
    md.set('hasleader', 'true');
    const r = stream(md);
    r.create({ key: b('hl') });
    assert.equal((await r.next()).created, true);
  });

  it('the real etcdctl reports a compacted start revision and exits', async (t) => {
    const first = await put('ec/k', '1');
    const last = await put('ec/k', '2');
    await compact(last);
    const child = spawn('etcdctl', ['--endpoints', addr, 'watch', 'ec/k', `--rev=${first}`], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`etcdctl did not exit; stderr so far: ${JSON.stringify(err)}`)), 15000);
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.match(err, /required revision has been compacted/);
    assert.notEqual(code, 0);
  });

  it('works with the real etcdctl: watch --prefix --rev --prev-kv', async (t) => {
    const r1 = await put('e/k', 'first');
    await put('e/k', 'second');
    const child = spawn('etcdctl', ['--endpoints', addr, 'watch', 'e/', '--prefix', `--rev=${r1}`, '--prev-kv'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    let wroteThird = false;
    let third: Promise<unknown> = Promise.resolve();
    const want = ['PUT', 'e/k', 'first', 'PUT', 'e/k', 'first', 'e/k', 'second', 'PUT', 'e/k', 'second', 'e/k', 'third'];
    const lines = await new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`etcdctl output so far: ${JSON.stringify(out)}`)), 15000);
      child.on('error', reject);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const ls = out.split('\n').filter((l) => l !== '');
        if (ls.length >= want.length) {
          clearTimeout(timer);
          resolve(ls.slice(0, want.length));
        } else if (ls.length >= 6 && !wroteThird) {
          wroteThird = true; // history replayed: now a live event
          third = put('e/k', 'third');
        }
      });
    });
    assert.deepEqual(lines, want);
    await third; // its response must arrive before the member stops
  });
});
