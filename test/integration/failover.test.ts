// Failure behaviour of a 3-member berth cluster (real processes on loopback):
//  - SIGKILL of the leader under write load: a new leader takes over, writes continue through the
//    survivors, and no acknowledged write is missing on any survivor, whose revisions and HashKV agree;
//  - a member left without quorum refuses linearizable reads with an error within the request
//    timeout instead of serving stale data, while serializable reads still answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { startCluster, type ServerProcess } from '../../e2e/compat/support/servers.js';
import { etcdctl } from '../../e2e/compat/support/etcdctl.js';
import { kvClient, type KvClient } from '../support/kv-client.js';

const TIMING = ['--heartbeat-interval', '50', '--election-timeout', '500'];

interface EndpointStatus {
  Endpoint: string;
  Status: { header: { member_id: string | number }; leader: string | number; raft_index: number };
}

async function leaderOf(members: readonly ServerProcess[]): Promise<ServerProcess> {
  const r = await etcdctl(members.map((m) => m.endpoint).join(','), ['endpoint', 'status', '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const statuses = JSON.parse(r.stdout) as EndpointStatus[];
  const leaderId = BigInt(statuses[0]?.Status.leader ?? 0);
  const idx = statuses.findIndex((s) => BigInt(s.Status.header.member_id) === leaderId);
  const leader = members.find((m) => m.endpoint === statuses[idx]?.Endpoint);
  assert.ok(leader !== undefined, `no member is the leader: ${r.stdout}`);
  return leader;
}

test('leader SIGKILL under write load loses no acknowledged write; a minority refuses linearizable reads', async () => {
  const cluster = await startCluster('berth', 3, TIMING);
  const clients: KvClient[] = [];
  try {
    const leader = await leaderOf(cluster.members);
    const survivors = cluster.members.filter((m) => m !== leader);
    for (const m of cluster.members) clients.push(kvClient(m.endpoint, { deadlineMs: 8000 }));

    const acked = new Map<string, string>();
    let killedAt = 0;
    let firstAckAfterKill = 0;
    let stop = false;
    let seq = 0;
    let reached: () => void = () => {};
    const enough = new Promise<void>((r) => (reached = r));
    let warmedUp: () => void = () => {};
    const before = new Promise<void>((r) => (warmedUp = r));
    // The load is bounded even if the cluster never gets going (or dies under the test).
    const deadline = Date.now() + 90_000;
    const writer = async (w: number): Promise<void> => {
      // Round-robin over all endpoints, like a client configured with every member.
      let target = w;
      while (!stop && Date.now() < deadline) {
        const key = `w${w}/${seq++}`;
        const c = clients[target % clients.length] as KvClient;
        try {
          await c.put({ key: Buffer.from(key), value: Buffer.from(key) });
          acked.set(key, key);
          if (acked.size >= 300) warmedUp();
          if (killedAt > 0 && firstAckAfterKill === 0) firstAckAfterKill = Date.now();
          if (killedAt > 0 && acked.size >= 600) reached();
        } catch {
          target++; // unknown outcome; move to the next endpoint, after a short back-off
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      warmedUp(); // the deadline passed: let the assertions below report it
      reached();
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await before;
    assert.ok(acked.size >= 300, `the cluster acknowledged only ${acked.size} writes before the deadline`);
    await leader.kill('SIGKILL');
    killedAt = Date.now();
    const bound = setTimeout(() => reached(), 30_000);
    await enough;
    clearTimeout(bound);
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.size >= 600, `writes did not continue after the leader died (${acked.size} acknowledged)`);
    assert.ok(firstAckAfterKill - killedAt < 10_000, `no write for ${firstAckAfterKill - killedAt} ms after the kill`);

    // Every acknowledged write is on every survivor (linearizable read first, then local reads).
    const live = survivors.map((m) => kvClient(m.endpoint, { deadlineMs: 8000 }));
    clients.push(...live);
    await (live[0] as KvClient).range({ key: Buffer.from('w'), rangeEnd: Buffer.from('x'), countOnly: true });
    for (const c of live) {
      const r = await c.range({ key: Buffer.from('w'), rangeEnd: Buffer.from('x') });
      const have = new Set(r.kvs.map((kv) => Buffer.from(kv.key).toString()));
      const missing = [...acked.keys()].filter((k) => !have.has(k));
      assert.deepEqual(missing, [], 'acknowledged writes missing on a survivor');
    }
    const hashes = await etcdctl(survivors.map((m) => m.endpoint).join(','), ['endpoint', 'hashkv', '-w', 'json']);
    assert.equal(hashes.code, 0, hashes.stderr);
    const hk = JSON.parse(hashes.stdout) as { HashKV: { hash: number; header: { revision: number } } }[];
    assert.equal(hk.length, 2);
    assert.equal(hk[0]?.HashKV.header.revision, hk[1]?.HashKV.header.revision, 'survivors disagree on the revision');
    assert.equal(hk[0]?.HashKV.hash, hk[1]?.HashKV.hash, 'survivors disagree on HashKV');

    // Now leave one member alone: it must not serve linearizable reads, but serializable ones.
    const [alone, other] = survivors as [ServerProcess, ServerProcess];
    await other.kill('SIGKILL');
    const c = kvClient(alone.endpoint, { deadlineMs: 15_000 });
    clients.push(c);
    const started = Date.now();
    await assert.rejects(
      c.range({ key: Buffer.from('w0/0') }),
      (err: ServiceError) => {
        assert.equal(err.code, 14, `expected Unavailable, got ${err.code} ${err.details}`);
        assert.match(err.details, /^etcdserver: (request timed out|no leader)/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 15_000);
    const stale = await c.range({ key: Buffer.from('w'), rangeEnd: Buffer.from('x'), serializable: true, countOnly: true });
    assert.ok(stale.count >= BigInt(acked.size));
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
});

test('a leader stopped with SIGTERM hands leadership over first', async () => {
  const cluster = await startCluster('berth', 3, TIMING);
  try {
    const leader = await leaderOf(cluster.members);
    await leader.kill('SIGTERM');
    assert.match(leader.output(), /"msg":"transferring leadership before stopping"/);
    const survivors = cluster.members.filter((m) => m !== leader);
    const next = await leaderOf(survivors);
    assert.ok(next !== leader);
    const r = await etcdctl(survivors.map((m) => m.endpoint).join(','), ['put', 'after-handoff', 'ok']);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await cluster.stop();
  }
});
