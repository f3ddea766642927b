/**
 * Checks a recorded history (see docs/robustness.md for the argument):
 *
 * 1. Revision log. The main watchers (whole keyspace, from revision 1, resumed after every failure
 *    at the next revision) give the events of every revision. All watchers must agree on each
 *    revision, and the log must have no gap: every revision 2..last has events.
 * 2. Linearizability. Replaying the log revision by revision, each revision must be exactly the
 *    effect of one client operation executed on the state before it (etcd semantics: versions,
 *    create/mod revisions, txn compares, prev_kv, leases), or a lease expiry (deletes of exactly the
 *    keys attached to one lease). Each write applies at most once; an acknowledged write must be the
 *    revision its response named, or (an acknowledged no-op) change nothing at its revision.
 *    Unknown-outcome writes are those found in the log (placed at their revision) or not (never
 *    took effect). Reads must return exactly the state at their header revision. Finally real time:
 *    every operation is placed at (revision, write before reads), and an operation that returned
 *    before another was invoked must be placed before it.
 * 3. Watches: each session delivered, in order, exactly the log's events in its key range from its
 *    start revision up to the last revision it reported (events or progress), never splitting a
 *    revision over two responses, never an event at or below a progress notification's revision,
 *    with the correct prev_kv.
 * 4. After heal: every member holds the final state, and HashKV agrees between members at the
 *    same revision.
 */
import type { History, Kv, Operation, WatchEvent, WatchSession } from './history.js';
import { KeyHistory, execute, inRange, opIdOfValue, rangeResult, sameEvent, sameKv, writesPossible } from './model.js';

export interface Report {
  readonly ok: boolean;
  readonly errors: string[];
  readonly stats: Record<string, number>;
}

const MAX_ERRORS = 50;

export function check(h: History): Report {
  const errors: string[] = [];
  const fail = (m: string): void => {
    if (errors.length < MAX_ERRORS) errors.push(m);
  };
  const stats: Record<string, number> = {};
  const count = (k: string): void => void (stats[k] = (stats[k] ?? 0) + 1);
  for (const o of h.operations) count(`op.${o.op.kind}.${o.ret !== null ? 'ok' : o.definiteFailure ? 'failed' : 'unknown'}`);

  // 1. The revision log.
  const log = new Map<number, WatchEvent[]>();
  for (const s of h.watches.filter((w) => w.main)) {
    const byRev = new Map<number, WatchEvent[]>();
    for (const r of s.responses) for (const e of r.events) byRev.set(e.kv.mod, [...(byRev.get(e.kv.mod) ?? []), e]);
    for (const [rev, evs] of byRev) {
      const have = log.get(rev);
      if (have === undefined) log.set(rev, evs);
      else if (have.length !== evs.length || have.some((e, i) => !sameEvent(e, evs[i] as WatchEvent))) {
        fail(`watchers disagree on revision ${rev}: ${fmt(have)} vs ${fmt(evs)} (session ${s.id} on ${s.endpoint})`);
      }
    }
  }
  let last = 1;
  for (const r of log.keys()) last = Math.max(last, r);
  for (const o of h.operations) if (o.ret !== null) last = Math.max(last, o.rev);
  for (const f of h.final) last = Math.max(last, f.rev);
  stats['revisions'] = last;

  // 2. Replay, matching each revision to the operation that made it.
  const state = new KeyHistory();
  const ops = new Map(h.operations.map((o) => [o.id, o]));
  const placed = new Map<number, number>(); // op id -> revision
  const deadLeases = new Map<number, number>(); // lease -> first revision it is known gone
  for (const o of h.operations) {
    if (o.op.kind === 'leaseRevoke' && o.ret !== null) deadLeases.set(o.op.id, Math.min(deadLeases.get(o.op.id) ?? Infinity, o.rev));
  }
  const unknownDeleters = h.operations.filter((o) => o.ret === null && !o.definiteFailure && writesPossible(o.op) && o.op.kind !== 'put');
  const ackedAt = new Map<number, Operation[]>();
  for (const o of h.operations) if (o.ret !== null && writesPossible(o.op)) ackedAt.set(o.rev, [...(ackedAt.get(o.rev) ?? []), o]);

  // Revision r existed by the time any operation answered at a revision >= r returned: an
  // unknown-outcome write invoked after that cannot be revision r.
  const existedBy: number[] = new Array<number>(last + 2).fill(Infinity);
  for (const o of h.operations) if (o.ret !== null && o.rev <= last && o.ret < (existedBy[o.rev] as number)) existedBy[o.rev] = o.ret;
  for (let r = last - 1; r >= 0; r--) existedBy[r] = Math.min(existedBy[r] as number, existedBy[r + 1] as number);
  unknownDeleters.sort((a, b) => a.call - b.call);

  for (let rev = 2; rev <= last; rev++) {
    const evs = log.get(rev);
    if (evs === undefined) {
      fail(`revision ${rev} is missing from every watch (a gap in the revision log: lost write or dropped watch event)`);
      // Continue with what the acknowledged op at that revision says, so one gap does not cascade.
      const a = ackedAt.get(rev)?.[0];
      if (a !== undefined) {
        const x = execute(a.op, state, rev - 1, () => true);
        placed.set(a.id, rev);
        state.apply(rev, x.events);
      } else state.apply(rev, []);
      continue;
    }
    const alive = (id: number): boolean => (deadLeases.get(id) ?? Infinity) > rev - 1;
    let candidates: Operation[] = [];
    const putValue = evs.find((e) => e.type === 'put')?.kv.value;
    if (putValue !== undefined) {
      const id = opIdOfValue(putValue);
      const o = id === undefined ? undefined : ops.get(id);
      if (o === undefined) fail(`revision ${rev} wrote ${JSON.stringify(putValue)}, which no client operation wrote`);
      else candidates = [o];
    } else {
      const by = existedBy[rev] as number;
      candidates = [...(ackedAt.get(rev) ?? []), ...unknownDeleters.filter((o) => !placed.has(o.id) && o.call < by)];
    }
    let matched: Operation | undefined;
    let why = '';
    for (const o of candidates) {
      if (placed.has(o.id)) {
        why = `operation ${o.id} applied twice (revisions ${placed.get(o.id)} and ${rev})`;
        continue;
      }
      if (o.definiteFailure) {
        why = `operation ${o.id} failed definitively (${o.error ?? ''}) but its effect is revision ${rev}`;
        continue;
      }
      if (o.ret !== null && o.rev !== rev) {
        why = `operation ${o.id} was acknowledged at revision ${o.rev} but its write is revision ${rev}`;
        continue;
      }
      const x = execute(o.op, state, rev - 1, alive);
      if (x.error !== null) {
        why = `operation ${o.id} would fail (${x.error}) at revision ${rev} but its effect is there`;
        continue;
      }
      if (!sameEvents(x.events, evs)) {
        why = `operation ${o.id} ${JSON.stringify(o.op)} on the state at ${rev - 1} gives ${fmt(x.events)}, the log has ${fmt(evs)}`;
        continue;
      }
      if (o.ret !== null && !sameResult(o, x)) {
        why = `operation ${o.id} answered ${JSON.stringify(o.result)} but the model gives ${JSON.stringify({ succeeded: x.succeeded, results: x.results })} at revision ${rev}`;
        continue;
      }
      matched = o;
      break;
    }
    if (matched !== undefined) {
      placed.set(matched.id, rev);
      count(matched.ret === null ? 'placed.unknown' : 'placed.acked');
    } else if (putValue === undefined && isLeaseExpiry(evs, state, rev - 1)) {
      const lease = state.at(evs[0]?.kv.key ?? '', rev - 1)?.lease ?? 0;
      deadLeases.set(lease, Math.min(deadLeases.get(lease) ?? Infinity, rev));
      count('placed.lease-expiry');
    } else {
      fail(`revision ${rev} ${fmt(evs)} is not explained by any client operation${why === '' ? '' : `: ${why}`}`);
    }
    // Event metadata must be consistent with the state before it (create/mod revision, version).
    for (const e of evs) {
      const prev = state.at(e.kv.key, rev - 1);
      if (e.type === 'put' && (e.kv.create !== (prev?.create ?? rev) || e.kv.version !== (prev?.version ?? 0) + 1)) {
        fail(`revision ${rev}: put of ${e.kv.key} has create ${e.kv.create} version ${e.kv.version}, previous ${JSON.stringify(prev)}`);
      }
      if (e.type === 'delete' && prev === null) fail(`revision ${rev}: delete of ${e.kv.key}, which did not exist`);
    }
    state.apply(rev, evs);
  }

  // Acknowledged operations not placed at a revision: no-ops (or reads) at their header revision.
  for (const o of h.operations) {
    if (o.ret === null || placed.has(o.id) || o.result === null) continue;
    const k = o.op.kind;
    if (k === 'leaseGrant' || k === 'leaseRevoke' || k === 'compact') continue;
    if (o.rev > last) {
      fail(`operation ${o.id} answered at revision ${o.rev}, beyond the last revision ${last}`);
      continue;
    }
    if (k === 'range') {
      const at = o.op.revision > 0 ? o.op.revision : o.rev;
      const want = rangeResult(state.rangeAt(o.op.key, o.op.end, at), o.op.limit);
      if (!sameResult(o, { results: [want], succeeded: true })) {
        fail(`read ${o.id} ${JSON.stringify(o.op)} at revision ${at} returned ${JSON.stringify(o.result)}, the state there is ${JSON.stringify(want)}`);
      }
      continue;
    }
    const x = execute(o.op, state, o.rev, () => true);
    if (x.events.length > 0 && x.error === null) {
      fail(`acknowledged write ${o.id} ${JSON.stringify(o.op)} (revision ${o.rev}) is not in the revision log: lost`);
    } else if (!sameResult(o, x)) {
      fail(`no-op ${o.id} ${JSON.stringify(o.op)} answered ${JSON.stringify(o.result)}, the model at ${o.rev} gives ${JSON.stringify({ succeeded: x.succeeded, results: x.results })}`);
    }
  }

  // Real time: X returned before Y was invoked => point(X) < point(Y) (equal only for two reads).
  type Pt = { o: Operation; p: number };
  const pts: Pt[] = [];
  for (const o of h.operations) {
    const r = placed.get(o.id);
    if (r !== undefined) pts.push({ o, p: r * 2 });
    else if (o.ret !== null && o.result !== null && o.op.kind !== 'compact' && !(o.op.kind === 'range' && o.op.revision > 0)) pts.push({ o, p: o.rev * 2 + 1 });
  }
  const byCall = [...pts].sort((a, b) => a.o.call - b.o.call);
  const byRet = pts.filter((x) => x.o.ret !== null).sort((a, b) => (a.o.ret as number) - (b.o.ret as number));
  let i = 0;
  let max: Pt | undefined;
  let rtViolations = 0;
  for (const y of byCall) {
    while (i < byRet.length && ((byRet[i] as Pt).o.ret as number) < y.o.call) {
      const x = byRet[i] as Pt;
      if (max === undefined || x.p > max.p) max = x;
      i++;
    }
    if (max !== undefined && (max.p > y.p || (max.p === y.p && y.p % 2 === 0))) {
      rtViolations++;
      fail(
        `real-time order: ${desc(max.o)} returned at ${max.o.ret}ms placed at revision ${max.p >> 1}, but ${desc(y.o)} invoked later at ${y.o.call}ms is placed at revision ${y.p >> 1}${y.p % 2 === 1 ? ' (a stale read)' : ''}`,
      );
    }
  }
  stats['realtime.violations'] = rtViolations;

  // 3. Watches.
  // Compactions by the time t (ms): any compact sent before t may have been applied by then.
  const compacts = h.operations.filter((o) => o.op.kind === 'compact' && !o.definiteFailure).map((o) => ({ call: o.call, rev: o.op.kind === 'compact' ? o.op.revision : 0 }));
  const compactedBy = (t: number): number => compacts.reduce((m, c) => (c.call <= t ? Math.max(m, c.rev) : m), 0);
  for (const s of h.watches) checkWatch(s, log, state, last, compactedBy, fail, count);

  // 4. Final state and hashes.
  for (const f of h.final) {
    const want = state.rangeAt(h.prefix, prefixEnd(h.prefix), f.rev);
    if (want.length !== f.kvs.length || want.some((kv, j) => !sameKv(kv, f.kvs[j]))) {
      fail(`member ${f.endpoint} at revision ${f.rev} holds ${f.kvs.length} keys differing from the model's ${want.length} (first: ${JSON.stringify(firstDiff(want, f.kvs))})`);
    }
  }
  const byHashRev = new Map<number, { endpoint: string; hash: number }[]>();
  for (const f of h.final) byHashRev.set(f.hashRev, [...(byHashRev.get(f.hashRev) ?? []), { endpoint: f.endpoint, hash: f.hash }]);
  for (const [rev, hs] of byHashRev) {
    if (new Set(hs.map((x) => x.hash)).size > 1) fail(`HashKV differs at revision ${rev}: ${JSON.stringify(hs)}`);
  }
  return { ok: errors.length === 0, errors, stats };
}

function checkWatch(
  s: WatchSession,
  log: ReadonlyMap<number, WatchEvent[]>,
  state: KeyHistory,
  last: number,
  compactedBy: (t: number) => number,
  fail: (m: string) => void,
  count: (k: string) => void,
): void {
  const start = s.startRevision > 0 ? s.startRevision : s.createdRev + 1;
  const tag = `watch session ${s.id} (${s.main ? 'main' : 'range'} ${JSON.stringify(s.key)}..${JSON.stringify(s.end)} from ${start} on ${s.endpoint})`;
  let delivered: WatchEvent[] = [];
  let lastRev = start - 1;
  let progressAt = 0;
  let prevRespLast = 0;
  for (const r of s.responses) {
    if (r.canceled) {
      if (r.compactRevision > 0) count('watch.compacted');
      break;
    }
    if (r.progress) {
      count('watch.progress');
      // A lagging member may report an older revision than the session's start: only going back
      // behind delivered events is wrong.
      if (r.rev < prevRespLast) fail(`${tag}: progress notification at ${r.rev} after events up to ${prevRespLast}`);
      progressAt = Math.max(progressAt, r.rev);
      lastRev = Math.max(lastRev, r.rev);
      continue;
    }
    if (r.events.length === 0) continue;
    const first = r.events[0]?.kv.mod ?? 0;
    if (first <= prevRespLast) fail(`${tag}: revision ${first} delivered after revision ${prevRespLast} (out of order, duplicated, or split over responses)`);
    if (first <= progressAt) fail(`${tag}: event at revision ${first} after a progress notification at ${progressAt}`);
    let prevRev = 0;
    for (const e of r.events) {
      if (e.kv.mod < prevRev) fail(`${tag}: events out of order within a response (${e.kv.mod} after ${prevRev})`);
      prevRev = e.kv.mod;
      if (s.prevKv) {
        const want = state.at(e.kv.key, e.kv.mod - 1);
        // etcd looks the previous value up at mod-1 when it sends the event; once that revision is
        // compacted the lookup fails and the event goes out without prev_kv (e.g. an event at the
        // compact revision itself, delivered to a watch that started there).
        if (e.prev === null && want !== null && e.kv.mod - 1 < compactedBy(r.at)) count('watch.prevkv-compacted');
        else if (!sameKv(want, e.prev)) fail(`${tag}: prev_kv of ${e.kv.key} at ${e.kv.mod} is ${JSON.stringify(e.prev)}, expected ${JSON.stringify(want)}`);
      }
    }
    prevRespLast = r.events[r.events.length - 1]?.kv.mod ?? prevRespLast;
    delivered = delivered.concat(r.events);
    lastRev = Math.max(lastRev, prevRespLast);
    count('watch.events');
  }
  lastRev = Math.min(lastRev, last);
  const expected: WatchEvent[] = [];
  for (let rev = start; rev <= lastRev; rev++) for (const e of log.get(rev) ?? []) if (inRange(e.kv.key, s.key, s.end)) expected.push(e);
  const n = Math.max(expected.length, delivered.length);
  for (let j = 0; j < n; j++) {
    const a = expected[j];
    const b = delivered[j];
    if (a === undefined || b === undefined || !sameEvent(a, b)) {
      fail(`${tag}: event #${j} is ${b === undefined ? 'missing' : fmt([b])}, the log has ${a === undefined ? 'nothing more' : fmt([a])} (${delivered.length} delivered, ${expected.length} expected up to ${lastRev})`);
      return;
    }
  }
}

function isLeaseExpiry(evs: readonly WatchEvent[], state: KeyHistory, base: number): boolean {
  if (evs.some((e) => e.type !== 'delete')) return false;
  const first = state.at(evs[0]?.kv.key ?? '', base);
  if (first === null || first.lease === 0) return false;
  const keys = state.leaseKeys(base).get(first.lease) ?? [];
  const deleted = evs.map((e) => e.kv.key).sort();
  return keys.length === deleted.length && keys.every((k, i) => k === deleted[i]);
}

function sameEvents(a: readonly WatchEvent[], b: readonly WatchEvent[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => (x.kv.key < y.kv.key ? -1 : 1));
  const sb = [...b].sort((x, y) => (x.kv.key < y.kv.key ? -1 : 1));
  return sa.every((e, i) => sameEvent(e, sb[i] as WatchEvent));
}

function sameResult(o: Operation, x: { results: readonly unknown[]; succeeded: boolean }): boolean {
  const r = o.result;
  if (r === null) return true;
  if (r.kind === 'txn') return r.succeeded === x.succeeded && r.results.length === x.results.length && r.results.every((s, i) => sameStep(s, x.results[i]));
  if (r.kind === 'range' || r.kind === 'put' || r.kind === 'delete') return sameStep(r, x.results[0]);
  return true;
}

function sameStep(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function desc(o: Operation): string {
  return `op ${o.id} (${o.op.kind} by client ${o.client} on ${o.endpoint}${o.ret === null ? ', unknown outcome' : ''})`;
}

function fmt(evs: readonly WatchEvent[]): string {
  return `[${evs.map((e) => `${e.type} ${e.kv.key}${e.type === 'put' ? `=${e.kv.value}` : ''}@${e.kv.mod}`).join(', ')}]`;
}

function firstDiff(a: readonly Kv[], b: readonly Kv[]): unknown {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!sameKv(a[i], b[i])) return { model: a[i], member: b[i] };
  return null;
}

export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
