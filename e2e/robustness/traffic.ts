/**
 * Recorded client traffic: bounded concurrent workers issuing etcd operations shaped like real
 * clients (kube-apiserver's optimistic-concurrency txns included), main watchers that resume at the
 * next revision after every failure, short-lived range watchers from various revisions, and
 * periodic compaction that never overtakes the main watchers.
 */
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { WatchRequest, WatchResponse } from '../../pkg/proto/gen/etcdserverpb/rpc.js';
import { Event_EventType } from '../../pkg/proto/gen/mvccpb/kv.js';
import type { EtcdClient} from './client.js';
import { kvOf, watchCreate, watchProgress } from './client.js';
import type { History, Op, Operation, Result, TxnStep, WatchSession } from './history.js';
import { prefixEnd } from './checker.js';
import type { Rng } from './rng.js';

export const OP_TIMEOUT_MS = 3000;
const KEYS = 24;

export class Recorder {
  readonly history: History;
  readonly t0 = Date.now();
  #nextOp = 1;
  #nextSession = 1;

  constructor(seed: number, members: number, prefix: string) {
    this.history = { seed, members, prefix, operations: [], watches: [], final: [] };
  }
  now(): number {
    return Date.now() - this.t0;
  }
  opId(): number {
    return this.#nextOp++;
  }
  async record(client: number, c: EtcdClient, id: number, op: Op): Promise<Operation> {
    const o: Operation = { id, client, endpoint: c.endpoint, op, call: this.now(), ret: null, rev: 0, result: null, error: null, definiteFailure: false };
    this.history.operations.push(o);
    try {
      const r = await c.run(op, OP_TIMEOUT_MS);
      o.ret = this.now();
      o.rev = r.rev;
      o.result = r.result;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      o.error = msg;
      // Never sent (no connection) or refused by a check that runs before anything is proposed.
      o.definiteFailure = /ECONNREFUSED|No connection established|required revision has been compacted|lease not found|requested lease not found/.test(msg);
    }
    return o;
  }
  session(s: Omit<WatchSession, 'id' | 'responses' | 'createdRev'>): WatchSession {
    const w: WatchSession = { ...s, id: this.#nextSession++, createdRev: 0, responses: [] };
    this.history.watches.push(w);
    return w;
  }
}

export interface Shared {
  stopping: boolean;
  /** Highest revision any main watcher has seen, per main watcher. */
  readonly mainSeen: number[];
  /** Highest acknowledged revision. */
  maxRev: number;
  readonly leases: { id: number; until: number }[];
  compactedTo: number;
}

function keyName(prefix: string, i: number): string {
  return `${prefix}k${String(i).padStart(2, '0')}`;
}

/** One client worker: issues operations until stopping or maxOps. */
export async function worker(w: number, rng: Rng, rec: Recorder, clients: readonly EtcdClient[], sh: Shared, maxOps: number): Promise<void> {
  const prefix = rec.history.prefix;
  const seenMod = new Map<string, number>();
  for (let n = 0; n < maxOps && !sh.stopping; n++) {
    const c = rng.pick(clients);
    const id = rec.opId();
    const key = keyName(prefix, rng.int(0, KEYS - 1));
    const p = rng.next();
    let op: Op;
    if (p < 0.22) {
      const lease = sh.leases.length > 0 && rng.chance(0.2) ? rng.pick(sh.leases).id : 0;
      op = { kind: 'put', key, value: `o${id}`, lease, prevKv: rng.chance(0.3) };
    } else if (p < 0.42) {
      op = rng.chance(0.5) ? { kind: 'range', key, end: '', limit: 0, revision: 0 } : { kind: 'range', key: prefix, end: prefixEnd(prefix), limit: rng.chance(0.3) ? 5 : 0, revision: 0 };
    } else if (p < 0.47) {
      const rev = Math.max(sh.compactedTo + 1, sh.maxRev - rng.int(0, 100));
      op = { kind: 'range', key: prefix, end: prefixEnd(prefix), limit: 0, revision: rev };
    } else if (p < 0.55) {
      // Mostly single keys; now and then a short range (a wide one would empty the keyspace).
      const from = rng.int(0, KEYS - 3);
      op = rng.chance(0.93) ? { kind: 'delete', key, end: '', prevKv: rng.chance(0.5) } : { kind: 'delete', key: keyName(prefix, from), end: keyName(prefix, from + 3), prevKv: rng.chance(0.5) };
    } else if (p < 0.8) {
      // kube-apiserver GuaranteedUpdate / Create: compare mod_revision, put on success, read on failure.
      const mod = seenMod.get(key) ?? 0;
      const failure: TxnStep[] = [{ kind: 'range', key, end: '', limit: 0, revision: 0 }];
      op = { kind: 'txn', compares: [{ key, target: 'mod', op: '=', value: mod }], success: [{ kind: 'put', key, value: `o${id}`, lease: 0, prevKv: false }], failure };
    } else if (p < 0.88) {
      const k2 = keyName(prefix, (Number(key.slice(-2)) + 1) % KEYS);
      const k3 = keyName(prefix, (Number(key.slice(-2)) + 2) % KEYS);
      op = {
        kind: 'txn',
        compares: [{ key: k3, target: 'version', op: '>', value: 0 }],
        success: [{ kind: 'put', key, value: `o${id}.0`, lease: 0, prevKv: true }, { kind: 'put', key: k2, value: `o${id}.1`, lease: 0, prevKv: false }, { kind: 'delete', key: k3, end: '', prevKv: true }],
        failure: [{ kind: 'put', key: k3, value: `o${id}.0`, lease: 0, prevKv: false }, { kind: 'range', key: prefix, end: prefixEnd(prefix), limit: 3, revision: 0 }],
      };
    } else if (p < 0.94) {
      const lid = (w + 1) * 1_000_000 + id;
      const ttl = rng.int(2, 5);
      op = { kind: 'leaseGrant', id: lid, ttl };
      const o = await rec.record(w, c, id, op);
      if (o.ret !== null) {
        sh.leases.push({ id: lid, until: Date.now() + ttl * 1000 });
        if (sh.leases.length > 8) sh.leases.shift();
      }
      continue;
    } else if (p < 0.96 && sh.leases.length > 0) {
      const l = rng.pick(sh.leases);
      op = { kind: 'leaseRevoke', id: l.id };
    } else {
      op = { kind: 'put', key, value: `o${id}`, lease: 0, prevKv: false };
    }
    const o = await rec.record(w, c, id, op);
    if (o.ret !== null) {
      sh.maxRev = Math.max(sh.maxRev, o.rev);
      learnMods(o.result, seenMod, o);
    } else if (o.definiteFailure) {
      await new Promise((r) => setTimeout(r, 50)); // that member is down: do not spin
    }
  }
}

function learnMods(r: Result | null, seen: Map<string, number>, o: Operation): void {
  if (r === null) return;
  const steps = r.kind === 'txn' ? r.results : [r];
  for (const s of steps) if (s.kind === 'range') for (const kv of s.kvs) seen.set(kv.key, kv.mod);
  const op = o.op;
  if (op.kind === 'txn' && r.kind === 'txn' && r.succeeded) for (const s of op.success) if (s.kind === 'put') seen.set(s.key, o.rev);
  if (op.kind === 'txn' && r.kind === 'txn' && !r.succeeded) {
    const k = op.compares[0]?.key;
    if (k !== undefined && !(r.results[0]?.kind === 'range' && r.results[0].kvs.length > 0)) seen.set(k, 0);
  }
  if (op.kind === 'put') seen.set(op.key, o.rev);
  if (op.kind === 'delete') seen.set(op.key, 0);
}

/** Runs one watch session on `c` until it fails, `until()` says stop, or the server cancels it. */
async function session(rec: Recorder, s: WatchSession, c: EtcdClient, until: () => boolean, onEvents: (rev: number) => void): Promise<void> {
  let stream: ClientDuplexStream<WatchRequest, WatchResponse>;
  try {
    stream = c.watchStream();
  } catch {
    return;
  }
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(tick);
      stream.cancel();
      resolve();
    };
    let lastData = Date.now();
    const tick = setInterval(() => {
      if (until()) return finish();
      // A watch on a paused or partitioned member can hang silently: give up after a while.
      if (Date.now() - lastData > 6000) return finish();
      try {
        stream.write(watchProgress());
      } catch {
        finish();
      }
    }, 500);
    stream.on('data', (r: WatchResponse) => {
      lastData = Date.now();
      const rev = Number(r.header?.revision ?? 0);
      if (r.created) {
        s.createdRev = rev;
        return;
      }
      const events = r.events.map((e) => ({
        type: e.type === Event_EventType.DELETE ? ('delete' as const) : ('put' as const),
        kv: kvOf(e.kv ?? { key: new Uint8Array(), value: new Uint8Array(), createRevision: 0n, modRevision: 0n, version: 0n, lease: 0n }),
        prev: s.prevKv && e.prevKv !== undefined ? kvOf(e.prevKv) : null,
      }));
      s.responses.push({ at: rec.now(), rev, events, progress: events.length === 0 && !r.canceled, canceled: r.canceled, compactRevision: Number(r.compactRevision) });
      if (events.length > 0) onEvents(events[events.length - 1]?.kv.mod ?? 0);
      if (r.canceled) finish();
    });
    stream.on('error', finish);
    stream.on('end', finish);
    stream.write(watchCreate(s.key, s.end, s.startRevision, s.prevKv));
  });
}

/** A main watcher: whole prefix from revision 1, resumed at the next revision on every failure. */
export async function mainWatcher(w: number, rec: Recorder, clients: readonly EtcdClient[], sh: Shared, done: () => boolean): Promise<void> {
  const prefix = rec.history.prefix;
  let attempt = w;
  for (let i = 0; i < 10_000 && !done(); i++) {
    const c = clients[attempt++ % clients.length] as EtcdClient;
    const s = rec.session({ watcher: w, endpoint: c.endpoint, key: prefix, end: prefixEnd(prefix), startRevision: (sh.mainSeen[w] ?? 0) + 1, prevKv: true, main: true });
    await session(rec, s, c, done, (rev) => (sh.mainSeen[w] = Math.max(sh.mainSeen[w] ?? 0, rev)));
    if (s.responses.length === 0 && s.createdRev === 0) rec.history.watches.splice(rec.history.watches.indexOf(s), 1);
    if (!done()) await new Promise((r) => setTimeout(r, 100));
  }
}

/** Short watches over random ranges from random revisions. */
export async function rangeWatcher(w: number, rng: Rng, rec: Recorder, clients: readonly EtcdClient[], sh: Shared): Promise<void> {
  const prefix = rec.history.prefix;
  for (let i = 0; i < 10_000 && !sh.stopping; i++) {
    const c = rng.pick(clients);
    const single = rng.chance(0.5);
    const k = keyName(prefix, rng.int(0, KEYS - 1));
    const start = rng.chance(0.3) ? 0 : Math.max(1, sh.maxRev - rng.int(0, 200));
    const s = rec.session({ watcher: 100 + w, endpoint: c.endpoint, key: single ? k : `${prefix}k1`, end: single ? '' : `${prefix}k2`, startRevision: start, prevKv: rng.chance(0.5), main: false });
    const until = Date.now() + rng.int(1000, 4000);
    await session(rec, s, c, () => sh.stopping || Date.now() > until, () => undefined);
    if (s.createdRev === 0) await new Promise((r) => setTimeout(r, 200)); // that member is down
  }
}

/** Compacts every few seconds, never beyond what every main watcher has seen. */
export async function compactor(rng: Rng, rec: Recorder, clients: readonly EtcdClient[], sh: Shared): Promise<void> {
  while (!sh.stopping) {
    await new Promise((r) => setTimeout(r, rng.int(2000, 4000)));
    if (sh.stopping) return;
    const safe = Math.min(...sh.mainSeen) - 50;
    if (safe <= sh.compactedTo) continue;
    const o = await rec.record(-1, rng.pick(clients), rec.opId(), { kind: 'compact', revision: safe });
    if (o.ret !== null) sh.compactedTo = safe;
  }
}
