// Differential test of etcd's operational commands: the same etcdctl battery (leases, endpoint
// status/health/hashkv, member list, alarms, defrag, snapshot save, lock, elect, watch, compaction,
// move-leader) against a real etcd (Debian etcd-server 3.4.23) and then against berth, started one
// after the other with identical flags and ports, so member and cluster IDs must come out equal.
//
// Only what legitimately differs between two correct servers is normalized, each rule documented at
// `normalize` below. A behavioural difference is never normalized away: such a step expects etcd's output
// and fails visibly.
//
// Not covered: `check perf` (even `--load s` writes for 60 s at 50 clients: too heavy for this suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdctl, etcdctlUntilLines, etcdctlVersion, type EtcdctlResult } from './support/etcdctl.js';
import { freePort, startCluster, type Flavor } from './support/servers.js';

/** What a step may use: the endpoints, the leases granted so far, the scratch dir. */
interface Ctx {
  readonly flavor: Flavor;
  readonly endpoints: readonly string[];
  readonly ep0: string;
  readonly dir: string;
  /** Lease IDs (hex, as etcdctl prints them) in order of appearance in outputs. */
  readonly leases: string[];
  /** Member IDs (hex) by endpoint index, from `endpoint status -w json`. */
  memberIds: string[];
  leaderIndex: number;
}

interface Step {
  readonly name: string;
  /** Only on clusters of at least this size. */
  readonly minMembers?: number;
  run(c: Ctx): Promise<EtcdctlResult>;
  /**
   * Where etcd 3.4.23 itself is wrong against ETCD-COMPAT.md (documented at the step): berth's exact
   * stdout; etcd's output is then not compared.
   */
  readonly berthExpects?: string;
  /** Step-specific normalization of stdout (documented where used). */
  readonly fix?: (stdout: string, c: Ctx) => string;
  /** The same for stderr. */
  readonly fixErr?: (stderr: string) => string;
}

const ctl = (args: readonly string[], stdin?: string): ((c: Ctx) => Promise<EtcdctlResult>) => (c) =>
  etcdctl(c.ep0, args, stdin === undefined ? {} : { stdin });

const lease = (i: number) => (c: Ctx): string => {
  const id = c.leases[i];
  if (id === undefined) throw new Error(`lease #${i + 1} was never granted (got ${c.leases.length})`);
  return id;
};

const step = (args: readonly string[], extra: Partial<Step> = {}): Step => ({ name: args.join(' '), run: ctl(args), ...extra });
const stepL = (name: string, args: (c: Ctx) => readonly string[], extra: Partial<Step> = {}): Step => ({
  name,
  run: (c) => etcdctl(c.ep0, args(c)),
  ...extra,
});

/** A long-running etcdctl (an elect candidate) that the test stops itself. */
function background(endpoint: string, args: readonly string[]): { lines(n: number): Promise<string>; stop(): Promise<void> } {
  const child = spawn(process.env['ETCDCTL_BIN'] ?? 'etcdctl', ['--endpoints', endpoint, '--dial-timeout', '5s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: (() => void)[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.resume();
  const closed = once(child, 'close');
  return {
    lines: async (n) => {
      const deadline = Date.now() + 10_000;
      while (out.split('\n').length - 1 < n) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`etcdctl ${args.join(' ')}: wanted ${n} lines, got:\n${out}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), closed, new Promise((r) => setTimeout(r, 1000))]);
      }
      return out;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await closed;
      }
    },
  };
}

/**
 * A command that never ends by itself (watch), stopped by the test once it printed `lines` lines
 * (counting the blank line etcdctl prints after each watch response). How it then ends (the signal, or
 * exit 3 "Error reading watch request line: EOF" when interactive stdin closes first) is an artefact of
 * the stopping, so the exit code is recorded as null and that line dropped.
 */
async function untilLines(endpoint: string, args: readonly string[], lines: number, stdin?: string, stderrLines = 0): Promise<EtcdctlResult> {
  const r = await etcdctlUntilLines(endpoint, args, lines, { ...(stdin === undefined ? {} : { stdin }), stderrLines });
  return { ...r, code: null, stderr: r.stderr.replace(/^Error: Error reading watch request line: EOF\n?/m, '') };
}

const txnOps = (n: number): string => ['', ...Array.from({ length: n }, (_, i) => `put t${i} v`), '', '', ''].join('\n');

const BATTERY: readonly Step[] = [
  // --- leases
  step(['lease', 'grant', '60']),
  step(['lease', 'grant', '120']),
  step(['lease', 'grant', '1']), // raised to the minimum TTL
  step(['lease', 'grant', '9000000001']),
  stepL('put k1 --lease=L1', (c) => ['put', 'k1', 'v1', `--lease=${lease(0)(c)}`]),
  stepL('put k2 --lease=L1', (c) => ['put', 'k2', 'v2', `--lease=${lease(0)(c)}`]),
  stepL('put k3 --lease=L2 -w json', (c) => ['put', 'k3', 'v3', `--lease=${lease(1)(c)}`, '-w', 'json']),
  stepL('get k1 -w json', () => ['get', 'k1', '-w', 'json']),
  stepL('lease timetolive L1', (c) => ['lease', 'timetolive', lease(0)(c)]),
  stepL('lease timetolive L1 --keys', (c) => ['lease', 'timetolive', lease(0)(c), '--keys']),
  stepL('lease timetolive L1 --keys -w json', (c) => ['lease', 'timetolive', lease(0)(c), '--keys', '-w', 'json']),
  step(['lease', 'list']),
  step(['lease', 'list', '-w', 'json']),
  stepL('lease keep-alive --once L1', (c) => ['lease', 'keep-alive', '--once', lease(0)(c)]),
  stepL('lease keep-alive --once L2 -w json', (c) => ['lease', 'keep-alive', '--once', lease(1)(c), '-w', 'json']),
  stepL('lease revoke L1', (c) => ['lease', 'revoke', lease(0)(c)]),
  step(['get', 'k', '--prefix']),
  stepL('lease timetolive L1 (revoked)', (c) => ['lease', 'timetolive', lease(0)(c)]),
  stepL('lease timetolive L1 -w json (revoked)', (c) => ['lease', 'timetolive', lease(0)(c), '-w', 'json']),
  stepL('lease revoke L1 (revoked)', (c) => ['lease', 'revoke', lease(0)(c)]),
  stepL('lease keep-alive --once L1 (revoked)', (c) => ['lease', 'keep-alive', '--once', lease(0)(c)]),
  step(['put', 'k4', 'v', '--lease=1234']),
  step(['lease', 'revoke', '1234']),
  step(['lease', 'timetolive', '1234']),
  step(['lease', 'keep-alive', '--once', '1234']),
  // --- endpoint, member, maintenance
  step(['endpoint', 'health']),
  // etcdctl prints health to stderr.
  { name: 'endpoint health --cluster', run: ctl(['endpoint', 'health', '--cluster']), fixErr: sortLines },
  step(['endpoint', 'status']),
  step(['endpoint', 'status', '-w', 'table']),
  step(['endpoint', 'status', '-w', 'json']),
  { name: 'endpoint status --cluster -w table', run: ctl(['endpoint', 'status', '--cluster', '-w', 'table']) },
  { name: 'endpoint hashkv --cluster', run: ctl(['endpoint', 'hashkv', '--cluster']), fix: hashAgree },
  { name: 'endpoint hashkv --cluster -w table', run: ctl(['endpoint', 'hashkv', '--cluster', '-w', 'table']), fix: hashAgree },
  step(['member', 'list', '-w', 'table']),
  step(['member', 'list', '-w', 'fields']),
  step(['member', 'list', '--hex', '-w', 'json']),
  step(['alarm', 'list']),
  step(['alarm', 'disarm']),
  step(['defrag']),
  { name: 'defrag --cluster', run: ctl(['defrag', '--cluster']), fix: sortLines },
  {
    name: 'snapshot save',
    run: (c) => {
      rmSync(join(c.dir, 'snap.db'), { force: true });
      return etcdctl(c.ep0, ['snapshot', 'save', join(c.dir, 'snap.db')]);
    },
  },
  // --- lock and elect
  step(['lock', 'l', '--', 'echo', 'held']),
  step(['lock', 'l', '--', 'sh', '-c', 'echo "$ETCD_LOCK_KEY" "$ETCD_LOCK_REV"']),
  {
    name: 'elect e p1 + elect -l e',
    run: async (c) => {
      const cand = background(c.ep0, ['elect', 'e', 'p1']);
      try {
        const said = await cand.lines(2);
        const r = await untilLines(c.ep0, ['elect', '-l', 'e'], 2);
        return { ...r, stdout: `candidate:\n${said}listener:\n${r.stdout}`, code: 0, signal: null };
      } finally {
        await cand.stop();
      }
    },
  },
  // --- watch
  step(['put', 'w/a', '1']),
  step(['put', 'w/b', '2']),
  step(['put', 'w/a', '3']),
  step(['del', 'w/b']),
  { name: 'watch w/ --prefix --rev 2 (history)', run: (c) => untilLines(c.ep0, ['watch', 'w/', '--prefix', '--rev', '2'], 12) },
  { name: 'watch w/a --rev 2 --prev-kv', run: (c) => untilLines(c.ep0, ['watch', 'w/a', '--rev', '2', '--prev-kv'], 9) },
  { name: 'watch w/ --prefix --rev 2 -w json', run: (c) => untilLines(c.ep0, ['watch', 'w/', '--prefix', '--rev', '2', '-w', 'json'], 1) },
  {
    name: 'watch w/c at a future revision, then put',
    run: async (c) => {
      const head = await etcdctl(c.ep0, ['get', 'w/', '--prefix', '-w', 'json']);
      const rev = Number((JSON.parse(head.stdout) as { header: { revision: number } }).header.revision);
      const w = untilLines(c.ep0, ['watch', 'w/c', '--rev', String(rev + 2), '--prev-kv'], 6);
      await etcdctl(c.ep0, ['put', 'w/c', 'first']);
      await etcdctl(c.ep0, ['put', 'w/c', 'second']);
      return w;
    },
  },
  {
    // A progress request on a stream whose watchers are all synced: answered with the current revision.
    name: 'watch -i (watch w/a from now + progress)',
    run: (c) => untilLines(c.ep0, ['watch', '-i'], 1, 'watch w/a\nprogress\n'),
  },
  {
    // A progress request while the watcher still replays history. etcd 3.4.23 answers it at once, ahead of
    // the replayed events ("progress notify: <rev>" first), which tells a client it has seen everything up
    // to <rev> when it has not; later etcd releases, and ETCD-COMPAT.md, answer only once the watchers are
    // synced, which is what berth does. So this step checks berth against the contract, not against 3.4.23.
    name: 'watch -i (watch w/a --rev 2 + progress: not ahead of events)',
    run: (c) => untilLines(c.ep0, ['watch', '-i'], 7, 'watch w/a --rev 2\nprogress\n'),
    berthExpects: 'PUT\nw/a\n1\nPUT\nw/a\n3\nprogress notify: 17\n',
  },
  // --- compaction, reads and watches at compacted and future revisions
  step(['compaction', '4']),
  step(['compaction', '4']),
  step(['compaction', '--physical', '5']),
  step(['get', 'w/a', '--rev', '4']),
  step(['get', 'w/a', '--rev', '5', '-w', 'json']),
  step(['get', 'w/a', '--rev', '100000']),
  { name: 'watch w/a --rev 2 (compacted)', run: ctl(['watch', 'w/a', '--rev', '2']) },
  {
    // The compacted watcher is cancelled (stderr); the stream goes on serving a second watcher.
    name: 'watch -i (compacted, then a retained revision)',
    run: (c) => untilLines(c.ep0, ['watch', '-i'], 6, 'watch w/a --rev 3\nwatch w/c --rev 5\n', 1),
  },
  { name: 'txn with 129 ops', run: ctl(['txn'], txnOps(129)) },
  { name: 'txn with 128 ops', run: ctl(['txn'], txnOps(128)) },
  // --- leadership
  {
    name: 'move-leader to a follower',
    minMembers: 3,
    run: async (c) => {
      const leaderEp = c.endpoints[c.leaderIndex] as string;
      const target = c.memberIds[(c.leaderIndex + 1) % c.memberIds.length] as string;
      const r = await etcdctl(leaderEp, ['move-leader', target]);
      const after = await etcdctl(c.endpoints.join(','), ['endpoint', 'status', '-w', 'json']);
      const leaders = new Set(statusOf(after.stdout).map((s) => s.leader));
      return { ...r, stdout: `${r.stdout}leaders after: ${[...leaders].map((l) => (l === target ? 'TARGET' : l)).join(',')}\n` };
    },
    fix: (s, c) => s.replaceAll(c.memberIds[c.leaderIndex] as string, 'LEADER').replaceAll(c.memberIds[(c.leaderIndex + 1) % c.memberIds.length] as string, 'TARGET'),
  },
  { name: 'move-leader to a non-member', minMembers: 3, run: (c) => etcdctl(c.endpoints.join(','), ['move-leader', '1234']) },
  { name: 'move-leader with no leader among the endpoints', minMembers: 3, run: ctl(['move-leader', '1234']) },
];

/** `endpoint health --cluster` and `defrag --cluster` print one line per member in completion order. */
function sortLines(s: string): string {
  return s.split('\n').filter((l) => l !== '').sort().join('\n');
}

/**
 * HashKV values differ between etcd and berth by design (different storage encodings). What must hold:
 * every member reports the same hash. The value is replaced by HASH once that is checked.
 */
function hashAgree(s: string): string {
  const hashes = new Set<string>();
  const out = s
    .replace(/^(\S+, )(\d+)$/gm, (_m, a: string, h: string) => {
      hashes.add(h);
      return `${a}HASH`;
    })
    .replace(/^(\| \S+ +\| +)(\d+)( \|)$/gm, (_m, a: string, h: string, b: string) => {
      hashes.add(h);
      return `${a}HASH${b}`;
    })
    // The table's column widths follow the hash's digit count.
    .replace(/ {2,}/g, ' ')
    .replace(/-{2,}/g, '-');
  return hashes.size === 1 ? out : `${out}MEMBERS DISAGREE OR NO HASH: ${[...hashes].join(' ')}\n`;
}

/**
 * Rules, each for a value that two correct servers legitimately produce differently:
 * - lease IDs: chosen by the server (etcd: member ID bits + time); mapped to L1, L2… in order of
 *   appearance, in hex (etcdctl simple output, lock/elect keys) and decimal (-w json) forms;
 * - `took = …`: latency of the command;
 * - DB SIZE / dbSize / dbSizeInUse: storage engine sizes (bbolt vs berth's engine);
 * - raft index and raft applied index: both servers append different internal entries (etcd writes
 *   membership attributes and version entries at start-up);
 * - TTL remaining (`remaining(59s)`, `"TTL":59`, timetolive's `"ttl":59`): depends on when the command ran within the second;
 * - the order of a lease's attached keys (timetolive --keys): etcd lists them in Go map iteration order,
 *   which is random; they are sorted;
 * - `Snapshot saved at …`: unchanged; the JSON progress log lines (timestamps, sizes) are dropped along
 *   with the Go client's other JSON logs.
 */
function normalize(text: string, c: Ctx): string {
  let s = text;
  const found = [
    ...[...s.matchAll(/\blease ([0-9a-f]+) (?:granted|keepalived|revoked|already)/g)].map((m) => m[1] as string),
    ...[...s.matchAll(/\b[le]\/([0-9a-f]{8,16})\b/g)].map((m) => m[1] as string),
    ...(/^found \d+ leases\n/.test(s) ? s.split('\n').slice(1).filter((l) => /^[0-9a-f]+$/.test(l)) : []),
  ];
  for (const id of found) if (!c.leases.includes(id)) c.leases.push(id);
  c.leases.forEach((id, i) => {
    s = s.replaceAll(id, `L${i + 1}`).replace(new RegExp(`\\b${BigInt(`0x${id}`).toString(10)}\\b`, 'g'), `L${i + 1}`);
  });
  return s
    .replace(/took = [0-9.]+[µnm]?s/g, 'took = T')
    .replace(/"(dbSize|dbSizeInUse|raftIndex|raftAppliedIndex)":\d+/g, '"$1":N')
    .replace(/remaining\(\d+s\)/g, 'remaining(Ns)')
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, k: string) => `attached keys([${k.split(' ').sort().join(' ')}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_m, k: string) => `"keys":[${k.split(',').sort().join(',')}]`)
    .replace(/"TTL":(\d+)/g, (m, v: string) => (Number(v) > 100 ? m : '"TTL":N'))
    .replace(/"ttl":(\d+)/g, (m, v: string) => (Number(v) > 100 ? m : '"ttl":N'))
    .replace(/^(\| [^|]+\| [^|]+\| [^|]+\| )[^|]+(\|[^|]+\|[^|]+\|[^|]+\| )\s*\d+ \|\s*\d+ \|/gm, '$1DBSIZE $2RAFTINDEX | APPLIED |')
    .replace(/^(127\.0\.0\.1:\d+, [0-9a-f]+, [0-9.]+, )[^,]+(, [a-z]+, [a-z]+, \d+, )\d+, \d+/gm, '$1DBSIZE$2RAFTINDEX, APPLIED');
}

function normalizeStderr(s: string): string {
  return s
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{"level":'))
    .join('\n');
}

interface Observed {
  readonly step: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly berthOnly?: true;
}

interface StatusJson {
  Endpoint: string;
  Status: { header: { member_id: number }; leader: number };
}

/** etcdctl -w json prints 64-bit IDs as JSON numbers; they are read exactly from the text. */
function statusOf(stdout: string): { endpoint: string; id: string; leader: string }[] {
  const exact = stdout.replace(/"(member_id|leader)":(\d+)/g, '"$1":"$2"');
  return (JSON.parse(exact) as StatusJson[]).map((s) => ({
    endpoint: s.Endpoint,
    id: BigInt(s.Status.header.member_id).toString(16),
    leader: BigInt(s.Status.leader).toString(16),
  }));
}

async function memberIds(endpoints: readonly string[]): Promise<string[]> {
  const r = await etcdctl(endpoints.join(','), ['endpoint', 'status', '-w', 'json']);
  const st = statusOf(r.stdout);
  return endpoints.map((ep) => st.find((s) => s.endpoint === ep)?.id ?? 'unknown');
}

async function leaderIndex(endpoints: readonly string[], ids: readonly string[]): Promise<number> {
  const r = await etcdctl(endpoints.join(','), ['endpoint', 'status', '-w', 'json']);
  const leaders = new Set(statusOf(r.stdout).map((s) => s.leader));
  assert.equal(leaders.size, 1, `members disagree on the leader: ${r.stdout}${r.stderr}`);
  return ids.indexOf([...leaders][0] as string);
}

/**
 * Which member wins the first election is random, and it shows (IS LEADER, `leader`, which endpoint
 * answers move-leader). So leadership is moved to member 0 with exactly two transfers whatever the
 * winner was (via another member), which also makes the raft term the same (2 + 2) in both runs.
 */
async function leadershipTo0(endpoints: readonly string[], ids: readonly string[]): Promise<void> {
  const first = await leaderIndex(endpoints, ids);
  const via = first === 0 ? 1 : first === 1 ? 2 : 1;
  for (const [from, to] of [[first, via], [via, 0]] as const) {
    const r = await etcdctl(endpoints[from] as string, ['move-leader', ids[to] as string]);
    assert.equal(r.code, 0, `move-leader ${from} -> ${to}: ${r.stdout}${r.stderr}`);
  }
  assert.equal(await leaderIndex(endpoints, ids), 0);
}

type Ports = readonly { client: number; peer: number }[];

async function runBattery(flavor: Flavor, ports: Ports, dir: string): Promise<Observed[]> {
  // berth reports a configurable etcd version; make it the one it is compared with.
  const extra = flavor === 'berth' ? ['--emulated-etcd-version', '3.4.23'] : [];
  const cluster = await startCluster(flavor, ports.length, extra, ports);
  try {
    const ids = await memberIds(cluster.endpoints);
    if (ports.length > 1) await leadershipTo0(cluster.endpoints, ids);
    const c: Ctx = { flavor, endpoints: cluster.endpoints, ep0: cluster.endpoints[0] as string, dir, leases: [], memberIds: ids, leaderIndex: 0 };
    const seen: Observed[] = [];
    for (const s of BATTERY) {
      if ((s.minMembers ?? 1) > ports.length) continue;
      // A step that throws (a bounded wait ran out) is recorded, so the battery goes on.
      const r = await s.run(c).catch((e: unknown): EtcdctlResult => ({ code: -1, signal: null, stdout: '', stderr: String(e) }));
      let stdout = normalize(r.stdout, c);
      if (s.fix) stdout = s.fix(stdout, c);
      let stderr = normalize(normalizeStderr(r.stderr), c);
      if (s.fixErr) stderr = s.fixErr(stderr);
      seen.push({ step: s.name, code: r.code, stdout, stderr, ...(s.berthExpects === undefined ? {} : { berthOnly: true }) });
    }
    return seen;
  } finally {
    await cluster.stop();
  }
}

for (const size of (process.env['OPS_SIZES'] ?? '1,3').split(',').map(Number)) {
  test(`etcdctl operations battery gives identical output against etcd and berth (${size} member${size > 1 ? 's' : ''})`, async (t) => {
    const version = etcdctlVersion();
    assert.ok(!(version instanceof Error), version instanceof Error ? version.message : '');
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const dir = mkdtempSync(join(tmpdir(), 'ops-diff-'));
    try {
      const etcd = await runBattery('etcd', ports, dir);
      const berth = await runBattery('berth', ports, dir);
      if (process.env['OPS_DUMP'] !== undefined) {
        writeFileSync(`/tmp/ops-etcd-${size}.json`, JSON.stringify(etcd, null, 1));
        writeFileSync(`/tmp/ops-berth-${size}.json`, JSON.stringify(berth, null, 1));
      }
      assert.equal(berth.length, etcd.length);
      for (let i = 0; i < etcd.length; i++) {
        const e = etcd[i] as Observed;
        const b = berth[i] as Observed;
        const expected = BATTERY.find((s) => s.name === e.step)?.berthExpects;
        await t.test(`etcdctl ${e.step}`, () => {
          if (expected === undefined) assert.deepEqual(b, e);
          else assert.deepEqual({ code: b.code, stdout: b.stdout }, { code: null, stdout: expected }, `etcd 3.4.23 printed: ${e.stdout}`);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
