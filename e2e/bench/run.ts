/**
 * `npm run bench [-- --smoke]`: berth against etcd on this machine, one after the other, with the same
 * flags, data disk and load generator (etcd's own benchmark tool, plus a kube-shaped workload). Writes
 * a JSON file and a markdown table: full mode → e2e/bench/results.json and docs/benchmarks.md; smoke mode
 * (short, for CI, < 2 minutes) → a temp dir unless --out-dir is given.
 *
 * Options: --smoke, --flavors=etcd,berth, --only=<scenario ids>, --no-bulk, --no-cluster, --out-dir=DIR,
 *   --render=FILE (no run: re-render the markdown of a results JSON into docs/ or --out-dir).
 * Every load is bounded in count and time; servers listen on 127.0.0.1 only.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, startCluster, startServer, type Flavor, type ServerProcess } from '../compat/support/servers.js';
import { kvClient } from '../../test/support/kv-client.js';
import { repoRoot as findRepoRoot } from '../../test/support/repo-root.js';
import { runKube } from './kube.js';
import { describeMachine } from './machine.js';
import { memoryOf, pidListeningOn, settledMemoryOf } from './proc.js';
import { renderMarkdown } from './report.js';
import type { Group, Measure, Results, Row } from './results.js';
import { bulkLoad, singleMemberScenarios, warmUpScenarios, sizes, threeMemberScenarios, type Mode, type Sizes, type ToolScenario } from './scenarios.js';
import { benchmarkBinary, goBinary, runTool } from './tool.js';

const SERVER_FLAGS = ['--heartbeat-interval', '100', '--election-timeout', '1000', '--snapshot-count', '100000', '--quota-backend-bytes', String(8 * 2 ** 30)];
function toolName(): string {
  let version = 'unknown version';
  try {
    version = /go\.etcd\.io\/etcd\/v3 (v[\w.-]+)/.exec(readFileSync(join(repoRoot, 'e2e/bench/tool/go.mod'), 'utf8'))?.[1] ?? version;
  } catch {
    // keep 'unknown version'
  }
  return `etcd's \`benchmark\` tool (go.etcd.io/etcd/v3/tools/benchmark ${version}, built by e2e/bench/build-tool.sh)`;
}
const repoRoot = findRepoRoot();

/** The etcd to compare with, and where it came from (for the report). */
function etcdBinary(which: 'current' | 'debian'): { bin: string; source: string } {
  const given = process.env['ETCD_BIN'];
  if (given !== undefined && given !== '') return { bin: given, source: `\`${given}\` ($ETCD_BIN)` };
  if (which === 'debian') return { bin: 'etcd', source: 'Debian `etcd-server`' };
  return { bin: goBinary('build-etcd.sh'), source: 'go.etcd.io/etcd/server/v3 built from the Go module proxy by e2e/bench/build-etcd.sh' };
}

interface Args {
  readonly mode: Mode;
  /** current: etcd built from the Go module proxy (build-etcd.sh); debian: /usr/bin/etcd. $ETCD_BIN overrides both. */
  readonly etcd: 'current' | 'debian';
  readonly flavors: readonly Flavor[];
  readonly only: ReadonlySet<string> | undefined;
  readonly bulk: boolean;
  readonly cluster: boolean;
  readonly outDir: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const val = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const flavors = (val('flavors') ?? 'etcd,berth').split(',').filter((x): x is Flavor => x === 'etcd' || x === 'berth');
  const only = val('only');
  const mode: Mode = argv.includes('--smoke') ? 'smoke' : 'full';
  const etcd = val('etcd') ?? (mode === 'smoke' ? 'debian' : 'current');
  if (etcd !== 'current' && etcd !== 'debian') throw new Error(`--etcd must be current or debian, got ${etcd}`);
  return {
    mode,
    etcd,
    flavors,
    only: only === undefined ? undefined : new Set(only.split(',')),
    bulk: !argv.includes('--no-bulk'),
    cluster: !argv.includes('--no-cluster'),
    outDir: val('out-dir'),
  };
}

const log = (msg: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

/** The berth service modules registered in this build (watch and lease are being built concurrently). */
async function berthServices(): Promise<Set<string>> {
  try {
    const m = (await import('../../pkg/server/services.js')) as { SERVICE_MODULES: readonly { name: string }[] };
    return new Set(m.SERVICE_MODULES.map((s) => s.name));
  } catch (err) {
    log(`cannot read berth's service list: ${String(err)}`);
    return new Set();
  }
}

class Table {
  readonly rows: Row[] = [];
  set(id: string, label: string, group: Group, flavor: Flavor, m: Measure, unit?: string): void {
    let row = this.rows.find((r) => r.id === id);
    if (row === undefined) {
      row = { id, label, group, results: {}, ...(unit !== undefined ? { unit } : {}) };
      this.rows.push(row);
    }
    (row.results as Partial<Record<Flavor, Measure>>)[flavor] = m;
  }
}

async function start(flavor: Flavor, o: { dataDir?: string; readyTimeoutMs?: number } = {}): Promise<{ server: ServerProcess; pid: number | undefined }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const started = await startServer(flavor, { clientPort, peerPort, extraArgs: SERVER_FLAGS, ...o });
  // A server that dies mid-run otherwise shows up only as the tool's timeouts: say so, with its last words.
  let stopping = false;
  void started.exited.then(() => {
    if (!stopping) log(`${flavor} (pid ${String(started.pid)}) exited during the run; its last output:\n${started.output().slice(-4000)}`);
  });
  const server: ServerProcess = {
    ...started,
    stop: () => {
      stopping = true;
      return started.stop();
    },
  };
  return { server, pid: pidListeningOn(clientPort) };
}

async function putFoo(endpoint: string): Promise<void> {
  const c = kvClient(endpoint, { deadlineMs: 10_000 });
  try {
    await c.put({ key: new TextEncoder().encode('foo'), value: new TextEncoder().encode('bar') });
  } finally {
    c.close();
  }
}

function rss(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : memoryOf(pid)?.rssMiB;
}

async function toolRow(bin: string, endpoints: readonly string[], sc: ToolScenario, pid: number | undefined): Promise<Measure> {
  log(`  ${sc.id}: benchmark ${sc.args.join(' ')}`);
  const r = await runTool(bin, endpoints, sc.args, { timeoutMs: sc.timeoutMs, ...(sc.section !== undefined ? { section: sc.section } : {}) });
  const mem = rss(pid);
  const m: Measure = r.ok
    ? { rps: r.summary.requestsPerSec, p50Ms: r.summary.p50Ms, p99Ms: r.summary.p99Ms, ...(mem !== undefined ? { rssMiB: mem } : {}) }
    : { error: r.error, ...(mem !== undefined ? { rssMiB: mem } : {}) };
  log(`    → ${r.ok ? `${r.summary.requestsPerSec.toFixed(0)} req/s, p50 ${r.summary.p50Ms.toFixed(2)} ms, p99 ${r.summary.p99Ms.toFixed(2)} ms` : r.error} (${r.wallSec.toFixed(1)} s)`);
  return m;
}

/** The warm-up runs (see warmUpScenarios); a failed one is logged, the measured rows show the effect. */
async function warmUp(bin: string, endpoints: readonly string[], scs: readonly ToolScenario[]): Promise<void> {
  for (const sc of scs) {
    const r = await runTool(bin, endpoints, sc.args, { timeoutMs: sc.timeoutMs });
    log(`  ${sc.id}: ${r.ok ? `${r.summary.requestsPerSec.toFixed(0)} req/s (not recorded)` : `failed: ${r.error}`}`);
  }
}

async function singleMember(flavor: Flavor, a: Args, s: Sizes, bin: string, t: Table, services: Set<string>): Promise<void> {
  const wanted = (id: string): boolean => a.only === undefined || a.only.has(id);
  const { server, pid } = await start(flavor);
  log(`${flavor}: 1 member at ${server.endpoint}, pid ${String(pid)}`);
  try {
    const idle = pid === undefined ? undefined : memoryOf(pid);
    if (idle !== undefined && a.only === undefined) t.set('rss-idle', 'RSS idle after start (VmRSS)', 'memory', flavor, { value: idle.rssMiB }, 'MiB');
    await putFoo(server.endpoint);
    await warmUp(bin, [server.endpoint], warmUpScenarios(s));
    for (const sc of singleMemberScenarios(s)) {
      if (!wanted(sc.id)) continue;
      if (flavor === 'berth' && sc.needs !== undefined && !services.has(sc.needs)) {
        t.set(sc.id, sc.label, 'kv', flavor, { error: `skipped: berth's ${sc.needs} service is not registered in pkg/server/services.ts` });
        continue;
      }
      t.set(sc.id, sc.label, 'kv', flavor, await toolRow(bin, [server.endpoint], sc, pid));
    }
    if (wanted('kube')) {
      log(`  kube: ${String(s.kube.objects)} objects, ${String(s.kube.concurrency)} in flight`);
      try {
        for (const p of await runKube(server.endpoint, s.kube)) {
          const label = `kube ${p.name}${p.name.startsWith('list') ? '' : `, ${String(s.kube.concurrency)} in flight`}`;
          const mem = rss(pid);
          t.set(`kube-${p.name.split(' ')[0] ?? p.name}`, label, 'kube', flavor, {
            rps: p.requestsPerSec,
            p50Ms: p.p50Ms,
            p99Ms: p.p99Ms,
            ...(mem !== undefined ? { rssMiB: mem } : {}),
            ...(p.failed > 0 ? { error: `${String(p.failed)} of ${String(p.done + p.failed)} failed` } : {}),
            ...(p.note !== undefined ? { note: p.note } : {}),
          });
          log(`    → ${p.name}: ${p.requestsPerSec.toFixed(0)} op/s, p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms, ${String(p.failed)} failed`);
        }
      } catch (err) {
        t.set('kube-create', 'kube workload', 'kube', flavor, { error: `kube workload failed: ${String(err).slice(0, 200)}` });
      }
    }
    const peak = pid === undefined ? undefined : memoryOf(pid);
    if (peak !== undefined && a.only === undefined) t.set('rss-peak', 'peak RSS over the 1-member scenarios (VmHWM)', 'memory', flavor, { value: peak.hwmMiB }, 'MiB');
  } finally {
    await server.stop();
  }
}

async function bulkAndRestart(flavor: Flavor, a: Args, s: Sizes, bin: string, t: Table): Promise<void> {
  const n = s.bulkKeys.toLocaleString('en-US');
  const dataDir = mkdtempSync(join(tmpdir(), `bench-${flavor}-`));
  try {
    const first = await start(flavor, { dataDir });
    const sc = bulkLoad(s);
    let loaded = false;
    try {
      const m = await toolRow(bin, [first.server.endpoint], sc, first.pid);
      // the tool counts txns; each carries 100 puts
      t.set(sc.id, sc.label, 'memory', flavor, m.error !== undefined ? m : { value: (m.rps ?? 0) * 100, note: `txn p50 ${(m.p50Ms ?? 0).toFixed(1)} ms, p99 ${(m.p99Ms ?? 0).toFixed(1)} ms` }, 'keys/s');
      loaded = m.error === undefined;
      const mem = first.pid === undefined ? undefined : memoryOf(first.pid);
      if (mem !== undefined) {
        t.set('rss-bulk', `RSS with ${n} keys loaded (VmRSS)`, 'memory', flavor, loaded ? { value: mem.rssMiB } : { error: 'bulk load incomplete' }, 'MiB');
        t.set('anon-bulk', `  of which anonymous memory (RssAnon: heap, caches)`, 'memory', flavor, loaded ? { value: mem.anonMiB } : { error: 'bulk load incomplete' }, 'MiB');
        t.set('file-bulk', `  of which file-backed pages (RssFile)`, 'memory', flavor, loaded ? { value: mem.fileMiB } : { error: 'bulk load incomplete' }, 'MiB');
        t.set('hwm-bulk', `peak RSS during the ${n}-key load (VmHWM)`, 'memory', flavor, loaded ? { value: mem.hwmMiB } : { error: 'bulk load incomplete' }, 'MiB');
      }
      const settled = first.pid === undefined || !loaded ? undefined : await settledMemoryOf(first.pid);
      if (settled !== undefined) {
        t.set('rss-settled', `RSS with ${n} keys 30 s after the load, idle (VmRSS)`, 'memory', flavor, { value: settled.memory.rssMiB }, 'MiB');
      }
    } finally {
      const t0 = performance.now();
      await first.server.stop();
      const stopSec = (performance.now() - t0) / 1000;
      t.set('stop-bulk', `graceful stop (SIGTERM → exit) with ${n} keys`, 'memory', flavor, { value: stopSec, ...(stopSec > 9.9 ? { note: 'hit the 10 s bound: SIGKILLed' } : {}) }, 's');
    }
    if (!loaded) return;
    const t0 = performance.now();
    const again = await start(flavor, { dataDir, readyTimeoutMs: 180_000 });
    const restartSec = (performance.now() - t0) / 1000;
    try {
      t.set('restart', `restart with ${n} keys (spawn → /health ok, polled every 50 ms)`, 'memory', flavor, { value: restartSec }, 's');
      const mem = again.pid === undefined ? undefined : memoryOf(again.pid);
      if (mem !== undefined) t.set('rss-restart', `RSS right after restart with ${n} keys (VmRSS)`, 'memory', flavor, { value: mem.rssMiB }, 'MiB');
      const c = kvClient(again.server.endpoint, { deadlineMs: 60_000 });
      try {
        const r = await c.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), countOnly: true });
        t.set('count-restart', `keys counted after restart (expected ${n})`, 'memory', flavor, { value: Number(r.count) }, 'keys');
      } finally {
        c.close();
      }
    } finally {
      await again.server.stop();
    }
  } catch (err) {
    t.set('restart', `restart with ${n} keys`, 'memory', flavor, { error: String(err).split('\n')[0]?.slice(0, 200) ?? 'failed' }, 's');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function threeMembers(flavor: Flavor, a: Args, s: Sizes, bin: string, t: Table): Promise<void> {
  const scs = threeMemberScenarios(s).filter((sc) => a.only === undefined || a.only.has(sc.id));
  if (scs.length === 0) return;
  log(`${flavor}: starting 3 members`);
  let cluster;
  try {
    cluster = await startCluster(flavor, 3, SERVER_FLAGS);
  } catch (err) {
    const why = `3-member cluster did not start: ${String(err).split('\n')[0]?.slice(0, 160) ?? ''}`;
    log(`  ${why}`);
    for (const sc of scs) t.set(sc.id, sc.label, 'cluster3', flavor, { error: why });
    return;
  }
  try {
    const pid = pidListeningOn(Number(cluster.members[0]?.endpoint.split(':')[1]));
    await putFoo(cluster.endpoints[0] ?? '');
    await warmUp(bin, cluster.endpoints, warmUpScenarios(s, { leaderOnly: true }));
    for (const sc of scs) t.set(sc.id, sc.label, 'cluster3', flavor, await toolRow(bin, cluster.endpoints, sc, pid));
  } finally {
    await cluster.stop();
  }
}

function mdPath(outDir: string | undefined): string {
  return outDir === undefined ? join(repoRoot, 'docs/benchmarks.md') : join(outDir, 'benchmarks.md');
}

/** Everything from this line on in docs/benchmarks.md is hand-written (the optimization log) and kept. */
const KEPT_MARKER = '<!-- hand-written below: kept when the tables are regenerated -->';

/** Writes the rendered tables, keeping the hand-written tail of the existing file. */
function writeMarkdown(path: string, rendered: string): void {
  let tail = '';
  try {
    const old = readFileSync(path, 'utf8');
    const at = old.indexOf(KEPT_MARKER);
    if (at >= 0) tail = `\n${old.slice(at)}`;
  } catch {
    // no previous file
  }
  writeFileSync(path, rendered + tail);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const render = process.argv.find((x) => x.startsWith('--render='))?.slice('--render='.length);
  if (render !== undefined) {
    writeMarkdown(mdPath(a.outDir), renderMarkdown(JSON.parse(readFileSync(render, 'utf8')) as Results));
    log(`rendered ${render} into ${mdPath(a.outDir)}`);
    return;
  }
  const s = sizes(a.mode);
  const etcd = etcdBinary(a.etcd);
  // The compat server helpers (e2e/compat/support/servers.ts) start etcd from $ETCD_BIN.
  process.env['ETCD_BIN'] = etcd.bin;
  const machine = describeMachine(etcd.bin);
  log(`mode ${a.mode}; load average ${machine.loadAvgAtStart.join(' ')}; building/finding the benchmark tool`);
  const bin = benchmarkBinary();
  const services = await berthServices();
  const t = new Table();
  const notes: string[] = [];
  if (!services.has('watch')) notes.push("berth's Watch service is not registered (pkg/server/services.ts): watch scenarios skipped for berth.");
  if (!services.has('lease')) notes.push("berth's Lease service is not registered (pkg/server/services.ts): lease scenarios skipped for berth.");
  const outDir = a.outDir ?? (a.mode === 'smoke' ? join(tmpdir(), 'berth-bench-smoke') : undefined);
  const write = (): void => {
    const res: Results = {
      mode: a.mode,
      machine,
      loadAvgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
      finished: new Date().toISOString(),
      tool: toolName(),
      etcdSource: etcd.source,
      serverFlags: SERVER_FLAGS,
      rows: t.rows,
      notes,
    };
    const json = outDir === undefined ? join(repoRoot, 'e2e/bench/results.json') : join(outDir, 'results.json');
    const md = mdPath(outDir);
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(json, `${JSON.stringify(res, null, 2)}\n`);
    writeMarkdown(md, renderMarkdown(res));
    log(`wrote ${json} and ${md}`);
  };
  const startedAt = Date.now();
  for (const flavor of a.flavors) {
    const step = async (name: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        notes.push(`${flavor} ${name} failed: ${String(err).split('\n')[0]?.slice(0, 200) ?? ''}`);
        log(`${flavor} ${name} failed: ${String(err)}`);
      }
      write();
    };
    await step('1-member scenarios', () => singleMember(flavor, a, s, bin, t, services));
    if (a.bulk && a.only === undefined) await step('bulk load and restart', () => bulkAndRestart(flavor, a, s, bin, t));
    if (a.cluster) await step('3-member scenarios', () => threeMembers(flavor, a, s, bin, t));
  }
  log(`done in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  write();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
