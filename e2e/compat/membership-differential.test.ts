// Differential test of etcdctl's membership commands (member add/promote/update/remove/list, with
// --learner, and their errors) against a real etcd (Debian etcd-server 3.4.23) and then berth, driven
// identically on the same ports: a one-member cluster grows by a learner that joins with
// --initial-cluster-state existing, is promoted, updated and removed again.
//
// Normalised, each rule being something two correct servers legitimately produce differently:
// - the added member's ID: etcd derives it from the peer URLs and the current time, so it differs
//   between runs; it is replaced by NEW (in hex as etcdctl prints it, also space-padded to 16);
// - etcdctl lists members (and ETCD_INITIAL_CLUSTER entries) in ID order, which then depends on the
//   new ID: member list lines and ETCD_INITIAL_CLUSTER entries are sorted;
// - the Go client's JSON log lines on stderr (timestamps, random target names) are dropped.
// Steps that wait for a condition (the learner catching up, a peer connected for the health interval)
// retry the same command until it succeeds and record the final result; the retries are not compared.
// While m1 is a learner, etcdctl get/put/del/endpoint status/member list/member promote are sent to
// its own endpoint: a learner serves only Status and serializable Range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdctl, etcdctlVersion, type EtcdctlResult } from './support/etcdctl.js';
import { freePort, startServer, type Flavor, type ServerProcess } from './support/servers.js';

interface Observed {
  readonly step: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Run {
  readonly flavor: Flavor;
  readonly ep0: string;
  newId: string;
  /** IDs of members added later, replaced by NEW2, NEW3, ... */
  readonly more: string[];
}

function normalize(text: string, r: Run): string {
  let s = text;
  const ids: [string, string][] = [[r.newId, 'NEW'], ...r.more.map((id, i): [string, string] => [id, `NEW${i + 2}`])];
  // etcdctl prints some IDs with %16x (space-padded when the ID has leading zero nibbles, which random IDs
  // sometimes have): that padding goes with the ID; a single separating space before an ID stays.
  for (const [id, label] of ids) if (id !== '') s = s.replaceAll(` ${id.padStart(16, ' ')}`, ` ${label}`).replaceAll(id, label);
  s = s.replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/g, (_m, v: string) => `ETCD_INITIAL_CLUSTER="${v.split(',').sort().join(',')}"`);
  return s;
}

const sortLines = (s: string): string => s.split('\n').filter((l) => l !== '').sort().join('\n');
const dropLogs = (s: string): string =>
  s
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{"level":'))
    .join('\n');

/** Repeats an etcdctl command while it fails with `transient` (bounded), returning the last result. */
async function until(ep: string, args: readonly string[], transient: RegExp, deadlineMs = 40_000): Promise<EtcdctlResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const r = await etcdctl(ep, args);
    if (r.code === 0 || !transient.test(r.stderr) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Repeats an etcdctl command until its stdout matches `want` (bounded), returning the last result. */
async function untilOut(ep: string, args: readonly string[], want: RegExp, deadlineMs = 20_000): Promise<EtcdctlResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const r = await etcdctl(ep, args);
    if (want.test(r.stdout) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

type Ports = readonly { client: number; peer: number }[];

async function runScenario(flavor: Flavor, ports: Ports): Promise<Observed[]> {
  const extra = flavor === 'berth' ? ['--emulated-etcd-version', '3.4.23'] : [];
  const [p0, p1] = ports as [{ client: number; peer: number }, { client: number; peer: number }];
  const peer = (p: { peer: number }): string => `http://127.0.0.1:${p.peer}`;
  const procs: ServerProcess[] = [];
  const seen: Observed[] = [];
  try {
    const m0 = await startServer(flavor, { clientPort: p0.client, peerPort: p0.peer, name: 'm0', extraArgs: extra });
    procs.push(m0);
    const r: Run = { flavor, ep0: m0.endpoint, newId: '', more: [] };
    const record = (name: string, res: EtcdctlResult, fix?: (s: string) => string): void => {
      let stdout = normalize(res.stdout, r);
      if (fix !== undefined) stdout = fix(stdout);
      seen.push({ step: normalize(name, r), code: res.code, stdout, stderr: normalize(dropLogs(res.stderr), r) });
    };
    const step = async (args: readonly string[], fix?: (s: string) => string, ep = r.ep0): Promise<EtcdctlResult> => {
      const res = await etcdctl(ep, args);
      record(args.join(' '), res, fix);
      return res;
    };

    await step(['member', 'list']);
    await step(['put', 'foo', 'bar']);
    const add = await etcdctl(r.ep0, ['member', 'add', 'm1', '--learner', '--peer-urls', peer(p1)]);
    r.newId = /Member\s+([0-9a-f]+) added/.exec(add.stdout)?.[1] ?? '';
    record('member add m1 --learner', add);
    await step(['member', 'list'], sortLines);
    // Members come in ID order, and the new member's ID is random: compare them sorted.
    await step(['member', 'list', '-w', 'json'], (s) =>
      s
        .replace(/"ID":\d+/g, 'ID')
        .replace(/"member_id":\d+|"raft_term":\d+/g, 'X')
        .replace(/"members":\[\{(.*)\}\]/, (_m, body: string) => `"members":[{${body.split('},{').sort().join('},{')}}]`),
    );
    await step(['member', 'add', 'm2', '--learner', '--peer-urls', 'http://127.0.0.1:1']);
    await step(['member', 'promote', r.newId]);
    await step(['member', 'add', 'm9', '--peer-urls', peer(p0)]);
    await step(['member', 'promote', 'ffff']);
    await step(['member', 'remove', 'ffff']);
    await step(['member', 'update', 'ffff', '--peer-urls', 'http://127.0.0.1:2']);
    await step(['member', 'promote', (await etcdctl(r.ep0, ['member', 'list'])).stdout.split('\n').find((l) => l.includes(peer(p0)))?.split(',')[0] ?? '']);

    const m1 = await startServer(flavor, {
      clientPort: p1.client,
      peerPort: p1.peer,
      name: 'm1',
      initialCluster: `m0=${peer(p0)},m1=${peer(p1)}`,
      extraArgs: [...extra, '--initial-cluster-state', 'existing'],
      readyTimeoutMs: 40_000,
    });
    procs.push(m1);
    // The learner refuses every client call but Status and serializable Range (etcd's interceptor).
    // Its state may lag a moment: the serializable read is repeated until it shows the key (bounded).
    const learnerRead = await untilOut(m1.endpoint, ['get', 'foo', '--consistency=s'], /^foo\nbar\n$/);
    record('get foo --consistency=s (learner)', learnerRead);
    await step(['get', 'foo'], undefined, m1.endpoint);
    await step(['put', 'foo', 'baz'], undefined, m1.endpoint);
    await step(['del', 'foo'], undefined, m1.endpoint);
    // endpoint status: endpoint, ID, version, is leader, is learner (DB size and raft indexes differ).
    await step(['endpoint', 'status'], (out) => out.split('\n').map((l) => l.split(', ').filter((_c, i) => [0, 1, 2, 4, 5].includes(i)).join(', ')).join('\n'), m1.endpoint);
    await step(['member', 'list'], undefined, m1.endpoint);
    await step(['member', 'promote', r.newId], undefined, m1.endpoint);
    record('member promote NEW (once in sync)', await until(r.ep0, ['member', 'promote', r.newId], /in sync with leader/));
    // The new member publishes its name once it knows the leader.
    const deadline = Date.now() + 20_000;
    while (!(await etcdctl(r.ep0, ['member', 'list'])).stdout.includes(', started, m1,') && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    await step(['member', 'list'], sortLines);
    await step(['member', 'list'], sortLines, m1.endpoint);
    await step(['member', 'update', r.newId, '--peer-urls', peer(p1)]);
    await step(['member', 'update', r.newId, '--peer-urls', peer(p0)]);
    record(
      'member remove NEW (once connected for the health interval)',
      await until(r.ep0, ['member', 'remove', r.newId], /unhealthy cluster/),
    );
    await step(['member', 'remove', r.newId]);
    await step(['member', 'promote', r.newId]);
    await step(['member', 'list'], sortLines);

    // Adding a voter to a one-member cluster is allowed (etcd's restore case); the cluster then waits
    // for it (no quorum without it), and a further voter is refused: not enough started members.
    const v1 = await etcdctl(r.ep0, ['member', 'add', 'v1', '--peer-urls', 'http://127.0.0.1:3']);
    const v1Id = /Member\s+([0-9a-f]+) added/.exec(v1.stdout)?.[1];
    if (v1Id !== undefined) r.more.push(v1Id);
    record('member add v1 (voter, never started)', v1);
    await step(['member', 'add', 'v2', '--peer-urls', 'http://127.0.0.1:4']);
    await step(['member', 'list'], sortLines);
    return seen;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

test('etcdctl member commands give identical output against etcd and berth', { timeout: 300_000 }, async (t) => {
  const version = etcdctlVersion();
  assert.ok(!(version instanceof Error), version instanceof Error ? version.message : '');
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < 2; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const etcd = await runScenario('etcd', ports);
  const berth = await runScenario('berth', ports);
  assert.equal(berth.length, etcd.length);
  for (let i = 0; i < etcd.length; i++) {
    const e = etcd[i] as Observed;
    const b = berth[i] as Observed;
    await t.test(`etcdctl ${e.step}`, () => assert.deepEqual(b, e));
  }
});
