/**
 * A member that falls behind the leader's compacted log catches up by a raft snapshot (real
 * processes on loopback): with --snapshot-count 50 and 10 catch-up entries, a follower killed with
 * SIGKILL misses a few hundred writes, restarts on its data dir, receives the state archive, installs
 * it and continues from the log. A second round kills the follower in the middle of the install
 * (failpoint) and proves the install is redone on restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startCluster, startServer, freePort, type Cluster, type ServerProcess } from '../../e2e/compat/support/servers.js';
import { b64, etcdctl, postJson, waitFor } from './ops-fixture.js';

const FLAGS = ['--snapshot-count', '50', '--experimental-snapshot-catchup-entries', '10'];

interface Node {
  proc: ServerProcess;
  readonly name: string;
  readonly client: number;
  readonly peer: number;
}

describe('catch-up by raft snapshot (3 real members)', { timeout: 240_000 }, () => {
  let cluster: Cluster;
  const nodes: Node[] = [];
  let initialCluster = '';

  before(async () => {
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
    initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
    cluster = await startCluster('berth', 3, FLAGS, ports);
    cluster.members.forEach((proc, i) => nodes.push({ proc, name: `m${i}`, client: ports[i]!.client, peer: ports[i]!.peer }));
  });
  after(async () => {
    if (process.env['SNAPSHOT_TEST_DUMP'] !== undefined) for (const n of nodes) (await import('node:fs')).writeFileSync(`${process.env['SNAPSHOT_TEST_DUMP']}-${n.name}.log`, n.proc.output());
    await Promise.all(nodes.map((n) => n.proc.stop()));
  });

  const status = async (n: Node): Promise<{ leader: string; self: string } | undefined> => {
    const r = await postJson(`${n.proc.clientUrl}/v3/maintenance/status`, {}).catch(() => undefined);
    if (r === undefined || r.status !== 200) return undefined;
    const leader = String(r.json.leader ?? '0');
    const self = String((r.json.header as Record<string, unknown> | undefined)?.member_id ?? '');
    return leader === '0' ? undefined : { leader, self };
  };

  /** The current leader and one follower. */
  const roles = async (): Promise<{ leader: Node; follower: Node }> =>
    waitFor(async () => {
      const sts = await Promise.all(nodes.map(status));
      const leaderId = sts.find((s) => s !== undefined)?.leader;
      const leader = nodes.find((_, i) => sts[i]?.self === leaderId);
      const follower = nodes.find((_, i) => sts[i] !== undefined && sts[i]?.self !== leaderId);
      return leader !== undefined && follower !== undefined ? { leader, follower } : undefined;
    }, 'a leader and a follower', 200, 50);

  const putMany = async (n: Node, prefix: string, count: number, concurrency = 20): Promise<void> => {
    for (let i = 0; i < count; i += concurrency) {
      await Promise.all(
        Array.from({ length: Math.min(concurrency, count - i) }, async (_, j) => {
          const r = await postJson(`${n.proc.clientUrl}/v3/kv/put`, { key: b64(`${prefix}${String(i + j).padStart(4, '0')}`), value: b64(`v${i + j}`) });
          assert.equal(r.status, 200, JSON.stringify(r.json));
        }),
      );
    }
  };

  const serializableCount = async (n: Node, prefix: string): Promise<number> => {
    const end = Buffer.from(prefix);
    end[end.length - 1] = (end[end.length - 1] ?? 0) + 1;
    const r = await postJson(`${n.proc.clientUrl}/v3/kv/range`, { key: b64(prefix), range_end: end.toString('base64'), serializable: true, count_only: true });
    return r.status === 200 ? Number(r.json.count ?? 0) : -1;
  };

  const revisionOf = async (n: Node): Promise<number> => {
    const r = await postJson(`${n.proc.clientUrl}/v3/kv/range`, { key: b64('\0'), serializable: true });
    return Number((r.json.header as Record<string, unknown> | undefined)?.revision ?? 0);
  };

  const restart = (n: Node, env?: Record<string, string>): Promise<ServerProcess> =>
    startServer('berth', { clientPort: n.client, peerPort: n.peer, name: n.name, dataDir: n.proc.dataDir, initialCluster, extraArgs: FLAGS, ...(env ? { env } : {}) });

  /** Every member serves every key of `prefix` (serializable reads) and HashKV agrees at one revision. */
  const assertConverged = async (prefix: string, count: number): Promise<void> => {
    for (const n of nodes) await waitFor(async () => ((await serializableCount(n, prefix)) === count ? true : undefined), `${n.name} serving ${count} keys`, 400, 50);
    const rev = await revisionOf(nodes[0]!);
    for (const n of nodes) await waitFor(async () => ((await revisionOf(n)) >= rev ? true : undefined), `${n.name} at revision ${rev}`, 400, 50);
    const r = await etcdctl(nodes.map((n) => n.proc.endpoint).join(','), ['endpoint', 'hashkv', '--rev', String(rev), '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
    // etcdctl 3.4 prints hash and compact_revision (no hash_revision); --rev fixes the revision.
    const hashes = (JSON.parse(r.stdout) as { HashKV: { hash: number } }[]).map((h) => h.HashKV);
    assert.equal(hashes.length, 3);
    for (const h of hashes) {
      assert.equal(typeof h.hash, 'number');
      assert.equal(h.hash, hashes[0]!.hash, `HashKV at ${rev}: ${JSON.stringify(hashes)}`);
    }
  };

  it('a follower offline past the compacted log receives a snapshot and catches up', async () => {
    const { leader, follower } = await roles();
    await putMany(leader, 'a/', 20);
    const snapshots = (): number => (leader.proc.output().match(/"saved snapshot"/g) ?? []).length;
    await follower.proc.kill('SIGKILL');
    const snapshotsBefore = snapshots();
    await putMany(leader, 'b/', 300);
    const leaderLog = leader.proc.output();
    assert.match(leaderLog, /compacted raft logs/, 'the leader compacted its log');
    // Offline for more than two snapshot intervals (300 entries at --snapshot-count 50).
    assert.ok(snapshots() - snapshotsBefore >= 2, `only ${snapshots() - snapshotsBefore} snapshots while the follower was down`);
    follower.proc = await restart(follower);
    await assertConverged('b/', 300);
    await assertConverged('a/', 20);
    assert.match(follower.proc.output(), /applied snapshot/, 'the follower installed a snapshot');
    assert.match(leader.proc.output(), /sent database snapshot/);
    // It continues from the log afterwards.
    await putMany(leader, 'c/', 30);
    await assertConverged('c/', 30);
  });

  it('a watcher on a stalled follower sees every event across the snapshot install', async () => {
    const { leader, follower } = await roles();
    // etcdctl watch on the follower, one JSON response per line.
    const from = (await revisionOf(follower)) + 1;
    const watch = spawn('etcdctl', ['--endpoints', follower.proc.endpoint, 'watch', '--prefix', 'w/', '--rev', String(from), '-w', 'json'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    watch.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const keysSeen = (): string[] =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => ((JSON.parse(l) as { Events?: { kv: { key: string } }[] }).Events ?? []).map((e) => Buffer.from(e.kv.key, 'base64').toString()));
    try {
      await putMany(leader, 'w/', 5);
      await waitFor(async () => (keysSeen().length === 5 ? true : undefined), `the first 5 watch events (got: ${out})`, 200, 50);
      const installs = (): number => (follower.proc.output().match(/"applied snapshot"/g) ?? []).length;
      const installsBefore = installs();
      process.kill(follower.proc.pid as number, 'SIGSTOP');
      // One entry per append message: more than raft's 512 in-flight appends, so the leader stops
      // sending to the stalled follower and compacts past it (fewer would all sit in the socket and
      // be delivered after SIGCONT, no snapshot needed).
      await putMany(leader, 'w/', 700, 1);
      process.kill(follower.proc.pid as number, 'SIGCONT');
      await waitFor(async () => (keysSeen().length >= 705 ? true : undefined), 'every watch event after the install', 600, 50);
      const seen = keysSeen();
      const want = [...Array.from({ length: 5 }, (_, i) => `w/${String(i).padStart(4, '0')}`), ...Array.from({ length: 700 }, (_, i) => `w/${String(i).padStart(4, '0')}`)];
      assert.deepEqual(seen, want, 'no event lost, duplicated or reordered');
      // The log line may arrive on the pipe a little after the watch events.
      await waitFor(async () => (installs() > installsBefore ? true : undefined), 'the follower catching up by snapshot (without restarting)', 200, 50);
    } finally {
      watch.kill('SIGTERM');
    }
  });

  it('a follower killed in the middle of the install redoes it on restart', async () => {
    const { leader, follower } = await roles();
    await follower.proc.kill('SIGKILL');
    await putMany(leader, 'd/', 300);
    // The first start installs until the failpoint kills it (possibly before it reports healthy).
    let out = '';
    try {
      const p = await restart(follower, { BERTH_FAILPOINTS: 'snapshot-install-mid=kill' });
      follower.proc = p;
      await p.exited;
      out = p.output();
    } catch (err) {
      out = String(err);
    }
    assert.match(out, /applying snapshot/, 'the install started');
    assert.doesNotMatch(out, /applied snapshot/, 'and did not finish');
    follower.proc = await restart(follower);
    assert.match(follower.proc.output(), /finished an interrupted snapshot install/);
    await assertConverged('d/', 300);
    await assertConverged('b/', 300);
    await putMany(leader, 'e/', 30);
    await assertConverged('e/', 30);
  });
});
