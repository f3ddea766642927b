/**
 * Peer metrics need peers: three in-process members on loopback. A follower is stopped while the
 * leader writes past its snapshot threshold, then restarted on its data dir, so the leader sends it
 * a raft snapshot. Every peer metric that is not a failure counter must move on some member, and the
 * labels must name the members as etcd does (IDs in hex).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../pkg/config/index.js';
import { createLogger } from '../../pkg/log/index.js';
import { startMember, type RunningMember } from '../../pkg/server/index.js';
import { kvClient } from '../support/kv-client.js';
import { freePort, removeDir, waitFor } from './ops-fixture.js';
import { etcdFamilies, freshSamples, movedFamilies, PEER_METRICS, samples, type Samples } from './metrics-fixture.js';

interface Node {
  readonly name: string;
  readonly dir: string;
  readonly client: number;
  readonly peer: number;
  member: RunningMember | undefined;
}

const FLAGS = ['--snapshot-count', '20', '--experimental-snapshot-catchup-entries', '5', '--election-timeout', '500', '--heartbeat-interval', '100'];

describe('peer metrics (three members)', { timeout: 180_000 }, () => {
  const nodes: Node[] = [];
  let initialCluster = '';

  const start = async (n: Node): Promise<void> => {
    const parsed = parseConfig({
      argv: [
        '--name', n.name,
        '--data-dir', n.dir,
        '--listen-client-urls', `http://127.0.0.1:${n.client}`,
        '--advertise-client-urls', `http://127.0.0.1:${n.client}`,
        '--listen-peer-urls', `http://127.0.0.1:${n.peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${n.peer}`,
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', 'metrics-cluster',
        ...FLAGS,
      ],
      env: {},
      cwd: n.dir,
    });
    if (!parsed.ok || parsed.kind !== 'config') throw new Error(`bad test config: ${JSON.stringify(parsed)}`);
    const log = createLogger({ level: 'error', outputs: ['stderr'] });
    if (!log.ok) throw new Error(log.message);
    n.member = await startMember(parsed.config, log.logger);
  };
  const url = (n: Node): string => `http://127.0.0.1:${n.client}`;
  const scrape = async (n: Node): Promise<string> => (await fetch(`${url(n)}/metrics`)).text();
  const healthy = async (n: Node): Promise<boolean> => (await fetch(`${url(n)}/health`).catch(() => undefined))?.status === 200;
  const id = (n: Node): string => (n.member?.memberId ?? 0n).toString(16);

  before(async () => {
    for (let i = 0; i < 3; i++) {
      nodes.push({ name: `m${i}`, dir: mkdtempSync(join(tmpdir(), 'berth-metrics-')), client: await freePort(), peer: await freePort(), member: undefined });
    }
    initialCluster = nodes.map((n) => `${n.name}=http://127.0.0.1:${n.peer}`).join(',');
    await Promise.all(nodes.map(start));
    await waitFor(async () => ((await Promise.all(nodes.map(healthy))).every(Boolean) ? true : undefined), 'three healthy members', 200);
  });
  after(async () => {
    for (const n of nodes) await n.member?.stop();
    for (const n of nodes) removeDir(n.dir);
  });

  it('peer traffic, a lost and regained peer and a snapshot move every peer metric', async () => {
    const leader = await waitFor(async () => {
      for (const n of nodes) if (samples(await scrape(n)).get('etcd_server_is_leader') === 1) return n;
      return undefined;
    }, 'a leader');
    const followers = nodes.filter((n) => n !== leader);
    const [lagging, other] = followers as [Node, Node];
    const families = etcdFamilies(await scrape(leader));
    const baseline = new Map<Node, Samples>();
    for (const n of nodes) baseline.set(n, samples(await scrape(n)));

    const put = async (count: number, prefix: string): Promise<void> => {
      const c = kvClient(`127.0.0.1:${leader.client}`);
      try {
        for (let i = 0; i < count; i += 10) {
          await Promise.all(Array.from({ length: 10 }, (_, k) => c.put({ key: Buffer.from(`${prefix}/${i + k}`), value: Buffer.from('x'.repeat(100)) })));
        }
      } finally {
        c.close();
      }
    };

    await put(20, 'before');
    // The lagging follower goes away: the leader loses its stream, writes past two snapshots and
    // compacts its log beyond what the follower has, so the follower needs a snapshot to come back.
    await lagging.member?.stop();
    const lost = `etcd_network_disconnected_peers_total{Local="${id(leader)}",Remote="${id(lagging)}"}`;
    await waitFor(async () => ((samples(await scrape(leader)).get(lost) ?? 0) >= 1 ? true : undefined), 'the leader to see the peer lost');
    await put(100, 'while-down');
    await start(lagging);
    const snapSent = `etcd_network_snapshot_send_success{To="${id(lagging)}"}`;
    await waitFor(async () => ((samples(await scrape(leader)).get(snapSent) ?? 0) >= 1 ? true : undefined), 'a snapshot sent to the restarted member', 200, 100);
    await waitFor(async () => ((await healthy(lagging)) ? true : undefined), 'the restarted member healthy', 200);

    const fresh = await freshSamples();
    const moved = new Set<string>();
    for (const n of nodes) {
      // The restarted member's registry started empty: compare it with a fresh one.
      const before = n === lagging ? fresh : (baseline.get(n) as Samples);
      for (const f of movedFamilies(families, before, samples(await scrape(n)))) moved.add(f);
    }
    assert.deepEqual([...PEER_METRICS].filter((f) => !moved.has(f)), [], 'peer metrics not moved');

    const l = samples(await scrape(leader));
    for (const f of followers) {
      assert.equal(l.get(`etcd_network_active_peers{Local="${id(leader)}",Remote="${id(f)}"}`), 1, `leader active peer ${id(f)}`);
      assert.ok((l.get(`etcd_network_peer_sent_bytes_total{To="${id(f)}"}`) ?? 0) > 0);
      assert.ok((l.get(`etcd_network_peer_received_bytes_total{From="${id(f)}"}`) ?? 0) > 0);
      assert.ok((l.get(`etcd_network_peer_round_trip_time_seconds_count{To="${id(f)}"}`) ?? 0) > 0, `round trips to ${id(f)}`);
    }
    assert.equal(l.get(`etcd_network_disconnected_peers_total{Local="${id(leader)}",Remote="${id(other)}"}`), undefined, 'the other follower never disconnected');
    const r = samples(await scrape(lagging));
    assert.equal(r.get(`etcd_network_snapshot_receive_success{From="${id(leader)}"}`), 1);
    assert.equal(r.get(`etcd_network_snapshot_receive_total_duration_seconds_count{From="${id(leader)}"}`), 1);
    assert.equal(r.get('etcd_server_snapshot_apply_in_progress_total'), 0);
    // The leader read its state for the snapshot (etcd's backend snapshot).
    assert.ok((l.get('etcd_disk_backend_snapshot_duration_seconds_count') ?? 0) >= 1, `backend snapshots: ${String(l.get('etcd_disk_backend_snapshot_duration_seconds_count'))}`);
    // Live keys are recounted after the snapshot install replaced the state (all 120 keys).
    await waitFor(async () => (samples(await scrape(lagging)).get('etcd_debugging_mvcc_keys_total') === 120 ? true : undefined), 'the restarted member to count 120 keys');
    // Every member counts the puts it applied.
    const puts = 120 + (baseline.get(other)?.get('etcd_mvcc_put_total') ?? 0);
    await waitFor(async () => (samples(await scrape(other)).get('etcd_mvcc_put_total') === puts ? true : undefined), `${puts} puts applied by the other follower`);
  });
});
