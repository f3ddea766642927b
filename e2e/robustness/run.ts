/**
 * One robustness run: start a cluster, drive recorded traffic while injecting faults, heal, collect
 * the final state of every member, check the history. On failure the run dir (history.json,
 * report.json, each member's data dir and log) is kept and its path returned; on success removed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, prefixEnd, type Report } from './checker.js';
import type { kvOf } from './client.js';
import { EtcdClient } from './client.js';
import { Cluster } from './cluster.js';
import { MULTI_MEMBER_FAULTS, inject, type Fault } from './faults.js';
import { Rng } from './rng.js';
import { Recorder, compactor, mainWatcher, rangeWatcher, worker, type Shared } from './traffic.js';
import type { Defect } from './defects.js';

export interface RunOptions {
  readonly durationMs: number;
  readonly seed: number;
  readonly members: 1 | 3;
  readonly faults: readonly Fault[];
  /** Test-only defects (runs e2e/robustness/broken-berth.ts instead of cmd/berth). */
  readonly broken?: readonly Defect[];
  readonly clients?: number;
  /** Per client. */
  readonly maxOpsPerClient?: number;
  /** Take the fault kinds in turn instead of at random (so a short run covers each). */
  readonly cycleFaults?: boolean;
  /** Pause between faults. */
  readonly faultGapMs?: readonly [number, number];
  /** Failpoints failpoint-kill picks from (default: faults.ts CRASH_POINTS). */
  readonly crashPoints?: readonly string[];
  /** Failpoints power-loss picks from (default: faults.ts POWER_LOSS_POINTS). */
  readonly powerLossPoints?: readonly string[];
  readonly log?: (s: string) => void;
}

export interface RunResult {
  readonly ok: boolean;
  readonly report: Report;
  /** Kept on failure (else removed). */
  readonly runDir: string;
  readonly faultCounts: Record<string, number>;
  readonly operations: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runRobustness(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? ((s: string) => void process.stderr.write(`${s}\n`));
  const runDir = mkdtempSync(join(tmpdir(), 'berth-robustness-'));
  const rng = new Rng(o.seed);
  const prefix = `/rb/${o.seed}/`;
  const rec = new Recorder(o.seed, o.members, prefix);
  const faults = o.faults.filter((f) => o.members > 1 || !MULTI_MEMBER_FAULTS.includes(f));
  const faultCounts: Record<string, number> = {};
  const cluster = await Cluster.create(runDir, o.members, o.broken ?? []);
  const clients = cluster.members.map((m) => new EtcdClient(m.endpoint));
  const sh: Shared = { stopping: false, mainSeen: [0, 0], maxRev: 1, leases: [], compactedTo: 0 };
  let setupError: string | undefined;
  let watchersDone = false;
  const tasks: Promise<void>[] = [];
  try {
    for (let i = 0; i < o.members; i++) cluster.start(i);
    const healthy = await Promise.all(cluster.members.map((_, i) => cluster.healthy(i, 60_000)));
    if (healthy.includes(false)) throw new Error(`members did not become healthy: ${JSON.stringify(healthy)}`);
    log(`robustness: ${o.members} member(s), seed ${o.seed}, ${o.durationMs} ms, faults ${faults.join(',') || 'none'}${o.broken?.length ? `, BROKEN: ${o.broken.join(',')}` : ''}; run dir ${runDir}`);

    for (let w = 0; w < 2; w++) tasks.push(mainWatcher(w, rec, clients, sh, () => watchersDone));
    const nClients = o.clients ?? 6;
    const workers = Array.from({ length: nClients }, (_, w) => worker(w, new Rng(o.seed * 31 + w + 1), rec, clients, sh, o.maxOpsPerClient ?? 20_000));
    tasks.push(rangeWatcher(0, new Rng(o.seed * 7 + 1), rec, clients, sh), rangeWatcher(1, new Rng(o.seed * 7 + 2), rec, clients, sh));
    tasks.push(compactor(new Rng(o.seed * 13), rec, clients, sh));

    const deadline = Date.now() + o.durationMs;
    const [gapLo, gapHi] = o.faultGapMs ?? [1000, 2500];
    await sleep(Math.min(1500, o.durationMs / 4));
    for (let k = 0; faults.length > 0 && Date.now() < deadline - 2000; k++) {
      const f = o.cycleFaults === true ? (faults[k % faults.length] as Fault) : rng.pick(faults);
      const what = await inject(f, cluster, clients, rng, log, {
        ...(o.crashPoints !== undefined ? { crashPoints: o.crashPoints } : {}),
        ...(o.powerLossPoints !== undefined ? { powerLossPoints: o.powerLossPoints } : {}),
      });
      faultCounts[f] = (faultCounts[f] ?? 0) + 1;
      log(`fault ${f}: ${what}`);
      await ensureHealthy(cluster, log);
      await sleep(rng.int(gapLo, gapHi));
    }
    while (Date.now() < deadline) await sleep(Math.min(200, deadline - Date.now()));
    sh.stopping = true;
    await Promise.all(workers);
    await ensureHealthy(cluster, log);

    // Settle: every member at the same revision, main watchers caught up, then the final state.
    const final = await settle(cluster, clients, prefix);
    const target = Math.max(...final.map((f) => f.rev));
    const caughtUp = Date.now() + 20_000;
    while (Math.min(...sh.mainSeen) < target && Date.now() < caughtUp) await sleep(100);
    if (Math.min(...sh.mainSeen) < target) log(`main watchers stopped at ${JSON.stringify(sh.mainSeen)} < ${target}`);
    rec.history.final.push(...final);
  } catch (err) {
    setupError = err instanceof Error ? (err.stack ?? err.message) : String(err);
  } finally {
    sh.stopping = true;
    watchersDone = true;
    await Promise.all(tasks);
    for (const c of clients) c.close();
    await cluster.stopAll();
  }
  const t = Date.now();
  const report = check(rec.history);
  if (setupError !== undefined) report.errors.unshift(`harness: ${setupError}`);
  const ok = report.ok && setupError === undefined;
  log(`checked ${rec.history.operations.length} operations, ${rec.history.watches.length} watch sessions in ${Date.now() - t} ms: ${ok ? 'PASS' : 'FAIL'}`);
  log(`stats ${JSON.stringify(report.stats)}`);
  const errs: Record<string, number> = {};
  for (const op of rec.history.operations) if (op.error !== null) errs[op.error.slice(0, 70)] = (errs[op.error.slice(0, 70)] ?? 0) + 1;
  log(`errors ${JSON.stringify(errs)}`);
  log(`faults ${JSON.stringify(faultCounts)}; proxy ${JSON.stringify(cluster.proxyStats())}`);
  if (ok) {
    rmSync(runDir, { recursive: true, force: true });
  } else {
    writeFileSync(join(runDir, 'history.json'), JSON.stringify(rec.history));
    writeFileSync(join(runDir, 'report.json'), JSON.stringify({ ...report, ok: false, faultCounts, options: { ...o, log: undefined } }, null, 1));
    for (const e of report.errors.slice(0, 10)) log(`  ${e}`);
    log(`kept: history ${join(runDir, 'history.json')}, report ${join(runDir, 'report.json')}, member data dirs and logs ${runDir}/m*`);
  }
  return { ok, report: setupError === undefined ? report : { ...report, ok: false }, runDir, faultCounts, operations: rec.history.operations.length };
}

/** Every member running and healthy (restarting any that died, e.g. after a failpoint), bounded. */
async function ensureHealthy(cluster: Cluster, log: (s: string) => void): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    for (let i = 0; i < cluster.members.length; i++) {
      cluster.resume(i);
      if (!cluster.running(i)) {
        log(`  m${i} is down, restarting`);
        cluster.start(i);
      }
    }
    const ok = await Promise.all(cluster.members.map((_, i) => cluster.healthy(i, 30_000)));
    if (!ok.includes(false)) return;
  }
  throw new Error('cluster did not become healthy after a fault');
}

async function settle(cluster: Cluster, clients: readonly EtcdClient[], prefix: string): Promise<{ endpoint: string; rev: number; kvs: ReturnType<typeof kvOf>[]; hash: number; hashRev: number; compactRev: number }[]> {
  // A linearizable read through each member makes it apply everything committed before.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const revs: number[] = [];
    for (const c of clients) {
      try {
        const r = await c.status(2000);
        revs.push(Number(r.raftAppliedIndex));
      } catch {
        revs.push(-1);
      }
    }
    if (new Set(revs).size === 1 && !revs.includes(-1)) break;
    if (Date.now() > deadline) throw new Error(`members did not converge on one applied index: ${JSON.stringify(revs)}`);
    await sleep(200);
  }
  const out = [];
  for (const c of clients) {
    const r = await c.run({ kind: 'range', key: prefix, end: prefixEnd(prefix), limit: 0, revision: 0 }, 5000);
    const rev = r.rev;
    const kvs = r.result.kind === 'range' ? [...r.result.kvs] : [];
    const h = await c.hashKV(rev, 5000);
    out.push({ endpoint: c.endpoint, rev, kvs, hash: h.hash, hashRev: Number(h.hashRevision), compactRev: Number(h.compactRevision) });
  }
  return out;
}
