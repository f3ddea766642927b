/**
 * Membership changes end to end with real berth processes on loopback, driven by the real etcdctl,
 * under a bounded concurrent write load whose every acknowledged write is recorded:
 *
 *   grow 1 → 3 (add learner, start it with --initial-cluster-state existing, promote; twice)
 *   → remove the leader (it answers, then stops by itself; its old data dir cannot come back)
 *   → grow back to 3 → replace a dead member (SIGKILL, remove while down, restart on the old dir is
 *     refused by the peers, wipe, add again, rejoin, promote)
 *   → grow 3 → 5 by learners → shrink 5 → 3 (remove a follower, then the leader; both stop by themselves)
 *
 * and at the end every acknowledged write is on every member, and HashKV agrees at the same revision.
 * Also: strict reconfig check (unhealthy while a voter is down), promote forwarded by a follower, and
 * a learner refusing writes and a promote sent to its own endpoint (etcd's learner interceptor).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startServer, type ServerProcess } from '../../e2e/compat/support/servers.js';
import { kvClient, type KvClient } from '../support/kv-client.js';
import { etcdctl, postJson, waitFor, type CmdResult } from './ops-fixture.js';

interface Node {
  readonly name: string;
  readonly peer: number;
  readonly client: number;
  proc: ServerProcess;
  /** hex member ID */
  id: string;
  /** Started as a learner and not promoted yet: it refuses writes, so the load skips it. */
  learner?: boolean;
}

const peerUrl = (port: number): string => `http://127.0.0.1:${port}`;

/** Retries `args` against `endpoint` while it fails with one of the `transient` messages (bounded). */
async function ctlUntil(endpoint: () => string, args: readonly string[], transient: RegExp, deadlineMs = 40_000): Promise<CmdResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const r = await etcdctl(endpoint(), args);
    if (r.code === 0 || !transient.test(r.stderr) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** Writers that put unique keys to whichever live member answers, recording every acknowledged write. */
class Load {
  readonly acked = new Map<string, string>();
  #stop = false;
  #running: Promise<void>[] = [];
  errors = 0;
  constructor(private readonly endpoints: () => string[]) {}

  start(writers: number, maxPerWriter: number): void {
    for (let w = 0; w < writers; w++) this.#running.push(this.#writer(w, maxPerWriter));
  }

  async #writer(w: number, max: number): Promise<void> {
    const clients = new Map<string, KvClient>();
    let turn = w;
    for (let i = 0; i < max && !this.#stop; i++) {
      const eps = this.endpoints();
      const ep = eps[turn % eps.length];
      if (ep === undefined) break;
      let c = clients.get(ep);
      if (c === undefined) {
        c = kvClient(ep, { deadlineMs: 3000 });
        clients.set(ep, c);
      }
      const key = `load/${w}/${String(i).padStart(6, '0')}`;
      const value = `v${w}-${i}-${Date.now()}`;
      try {
        await c.put({ key: Buffer.from(key), value: Buffer.from(value) });
        this.acked.set(key, value);
        // Paced (about 100 writes/s per writer): the load must last through every step of the test.
        await new Promise((res) => setTimeout(res, 10));
      } catch {
        // Unknown outcome (member going away, no leader for a moment): not recorded, try another member.
        this.errors++;
        turn++;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    for (const c of clients.values()) c.close();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#running);
  }
}

describe('membership changes with real processes under load', { timeout: 600_000 }, () => {
  const nodes: Node[] = [];
  const dead: ServerProcess[] = [];
  let clusterUrls = '';

  const live = (): Node[] => nodes.filter((n) => n.id !== '');
  const endpointOf = (n: Node): string => n.proc.endpoint;

  const initialCluster = (ns: readonly Node[]): string => ns.map((n) => `${n.name}=${peerUrl(n.peer)}`).join(',');

  const memberList = async (n: Node): Promise<{ id: string; name: string; learner: boolean; peer: string }[]> => {
    const r = await etcdctl(endpointOf(n), ['member', 'list']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(', '))
      .map(([id, , name, peer, , learner]) => ({ id: id ?? '', name: name ?? '', peer: peer ?? '', learner: learner === 'true' }));
  };

  const status = async (n: Node): Promise<{ leader: string; self: string; raftIndex: number } | undefined> => {
    const r = await postJson(`${n.proc.clientUrl}/v3/maintenance/status`, {}).catch(() => undefined);
    if (r === undefined || r.status !== 200) return undefined;
    const leader = BigInt(String(r.json.leader ?? '0')).toString(16);
    const self = BigInt(String((r.json.header as Record<string, unknown> | undefined)?.member_id ?? '0')).toString(16);
    return leader === '0' ? undefined : { leader, self, raftIndex: Number(r.json.raftIndex ?? 0) };
  };

  const leaderOf = async (): Promise<Node> =>
    waitFor(async () => {
      const sts = await Promise.all(live().map(status));
      const l = sts.find((s) => s !== undefined)?.leader;
      const agreed = l !== undefined && sts.every((s) => s?.leader === l);
      return agreed ? live().find((n) => n.id === l) : undefined;
    }, 'one leader every live member agrees on', 400, 50);

  /** member add --learner, start it joining the cluster, promote it (through a voter) once it caught up. */
  const grow = async (n: Node, via: () => Node): Promise<void> => {
    const add = await ctlUntil(() => endpointOf(via()), ['member', 'add', n.name, '--learner', '--peer-urls', peerUrl(n.peer)], /unhealthy cluster/);
    assert.equal(add.code, 0, add.stderr);
    const id = /Member\s+([0-9a-f]+) added to cluster\s+([0-9a-f]+)/.exec(add.stdout);
    assert.ok(id !== null, add.stdout);
    assert.equal(id[2], clusterUrls, 'the same cluster ID');
    // etcdctl prints the environment the new member needs: it lists the current members + the new one.
    const envCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(add.stdout)?.[1] ?? '';
    assert.ok(envCluster.includes(`${n.name}=${peerUrl(n.peer)}`), add.stdout);
    n.proc = await startServer('berth', {
      clientPort: n.client,
      peerPort: n.peer,
      name: n.name,
      initialCluster: initialCluster([...live(), n]),
      extraArgs: ['--initial-cluster-state', 'existing'],
      readyTimeoutMs: 40_000,
    });
    n.learner = true;
    n.id = id[1] ?? '';
    const learners = (await memberList(via())).filter((m) => m.learner).map((m) => m.id);
    assert.deepEqual(learners, [n.id]);
    // The learner serves only Status and serializable Range (etcd): a write and a promote sent to it
    // are refused with etcd's error (the promote is not forwarded), a serializable read is served.
    const refusedPut = await etcdctl(endpointOf(n), ['put', 'learner-probe', 'x']);
    assert.equal(refusedPut.code, 1);
    assert.match(refusedPut.stderr, /Error: etcdserver: rpc not supported for learner/);
    const refusedPromote = await etcdctl(endpointOf(n), ['member', 'promote', n.id]);
    assert.equal(refusedPromote.code, 1);
    assert.match(refusedPromote.stderr, /code = Unavailable desc = etcdserver: rpc not supported for learner/);
    // The JSON gateway answers the same (etcd's gateway goes through its gRPC server): 503, code 14.
    const gw = await postJson(`${n.proc.clientUrl}/v3/kv/put`, { key: Buffer.from('learner-probe').toString('base64'), value: '' });
    assert.equal(gw.status, 503, JSON.stringify(gw.json));
    assert.equal(gw.json.code, 14);
    assert.equal(gw.json.error, 'etcdserver: rpc not supported for learner');
    const read = await etcdctl(endpointOf(n), ['get', 'load/', '--prefix', '--keys-only', '--limit', '1', '--consistency=s']);
    assert.equal(read.code, 0, read.stderr);
    // Promote through a voter other than the leader when there is one: it forwards to the leader,
    // which checks that the learner caught up.
    const leader = await leaderOf();
    const voter = (): Node => live().find((m) => !m.learner && m !== leader) ?? via();
    const promote = await ctlUntil(() => endpointOf(voter()), ['member', 'promote', n.id], /in sync with leader|unhealthy cluster|not enough started/);
    assert.equal(promote.code, 0, promote.stderr);
    assert.match(promote.stdout, new RegExp(`Member\\s+${n.id} promoted in cluster\\s+${clusterUrls}`));
    n.learner = false;
    const after = await memberList(via());
    assert.equal(after.find((m) => m.id === n.id)?.learner, false);
    assert.equal(after.find((m) => m.id === n.id)?.name, n.name, 'the new member published its name');
  };

  const newNode = async (name: string): Promise<Node> => ({
    name,
    peer: await freePort(),
    client: await freePort(),
    proc: undefined as unknown as ServerProcess,
    id: '',
  });

  let load: Load;

  before(async () => {
    const first = await newNode('m0');
    first.proc = await startServer('berth', { clientPort: first.client, peerPort: first.peer, name: first.name });
    nodes.push(first);
    const st = await waitFor(() => status(first), 'a leader');
    first.id = st.self;
    const hdr = await postJson(`${first.proc.clientUrl}/v3/cluster/member/list`, {});
    clusterUrls = BigInt(String((hdr.json.header as Record<string, unknown>).cluster_id)).toString(16);
    load = new Load(() => live().filter((n) => n.learner !== true).map(endpointOf));
    load.start(4, 20_000);
  });

  after(async () => {
    await load.stop().catch(() => {});
    await Promise.all([...nodes.filter((n) => n.proc !== undefined).map((n) => n.proc.stop()), ...dead.map((p) => p.stop())]);
  });

  it('grows 1 → 3 by learners joining with --initial-cluster-state existing and being promoted', async () => {
    const m1 = await newNode('m1');
    // Joining before `member add`: the cluster does not know this member; it refuses to start.
    await assert.rejects(
      startServer('berth', { clientPort: m1.client, peerPort: m1.peer, name: 'm1', initialCluster: initialCluster([...live(), m1]), extraArgs: ['--initial-cluster-state', 'existing'] }),
      /member count is unequal/,
    );
    nodes.push(m1);
    await grow(m1, () => nodes[0] as Node);
    const m2 = await newNode('m2');
    nodes.push(m2);
    await grow(m2, () => nodes[0] as Node);
    const ms = await memberList(nodes[0] as Node);
    assert.equal(ms.length, 3);
    assert.ok(ms.every((m) => !m.learner));
    assert.ok(load.acked.size > 0, 'writes were acknowledged during the changes');
  });

  it('strict reconfig check: adding a member while a voter is down is refused as unhealthy', async () => {
    const leader = await leaderOf();
    const victim = live().find((n) => n !== leader) as Node;
    const victimDir = victim.proc.dataDir;
    await victim.proc.kill('SIGKILL');
    const probe = ['member', 'add', 'zz', '--learner', '--peer-urls', 'http://127.0.0.1:1'];
    // Until the leader's stream to the victim breaks the add may still pass: undo it and ask again.
    const refused = await waitFor(async () => {
      const x = await etcdctl(endpointOf(leader), probe);
      if (x.code !== 0) return x;
      const zz = (await memberList(leader)).find((m) => m.peer === 'http://127.0.0.1:1');
      if (zz !== undefined) assert.equal((await etcdctl(endpointOf(leader), ['member', 'remove', zz.id])).code, 0);
      return undefined;
    }, 'an unhealthy refusal', 40, 250);
    assert.match(refused.stderr, /code = Unavailable desc = etcdserver: unhealthy cluster/);
    assert.equal((await memberList(leader)).length, 3, 'nothing was added');
    dead.push(victim.proc);
    victim.proc = await startServer('berth', { clientPort: victim.client, peerPort: victim.peer, name: victim.name, dataDir: victimDir, initialCluster: initialCluster(live()) });
    await leaderOf();
  });

  it('removes the leader: it answers, steps down and stops; its old data dir cannot come back', async () => {
    const leader = await leaderOf();
    const r = await ctlUntil(() => endpointOf(leader), ['member', 'remove', leader.id], /unhealthy cluster/);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Member\\s+${leader.id} removed from cluster\\s+${clusterUrls}`));
    leader.id = '';
    const exited = await Promise.race([leader.proc.exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 20_000).unref())]);
    assert.ok(exited, 'the removed member stops by itself');
    assert.match(leader.proc.output(), /the member has been permanently removed from the cluster/);
    const ms = await memberList(live()[0] as Node);
    assert.equal(ms.length, 2);
    await leaderOf();
    await assert.rejects(
      startServer('berth', { clientPort: leader.client, peerPort: leader.peer, name: leader.name, dataDir: leader.proc.dataDir, initialCluster: initialCluster(nodes) }),
      /permanently removed from the cluster/,
    );
    dead.push(leader.proc);
  });

  it('replaces a dead member: remove while down, old data dir refused by the peers, wipe, add, rejoin', async () => {
    const m3 = await newNode('m3');
    nodes.push(m3);
    await grow(m3, () => live()[0] as Node);
    assert.equal((await memberList(m3)).length, 3);

    // The dead member is a follower (a dead leader's followers would first forward to it and time out).
    if ((await leaderOf()) === m3) {
      const to = live().find((n) => n !== m3) as Node;
      assert.equal((await etcdctl(endpointOf(m3), ['move-leader', to.id])).code, 0);
      assert.notEqual(await leaderOf(), m3);
    }
    await m3.proc.kill('SIGKILL');
    const oldId = m3.id;
    m3.id = '';
    const survivor = live()[0] as Node;
    // A member that is down is not part of the active quorum: removing it passes the strict check.
    const rm = await ctlUntil(() => endpointOf(survivor), ['member', 'remove', oldId], /unhealthy cluster/);
    assert.equal(rm.code, 0, rm.stderr);
    // Restarted on its old data dir, it never applied its removal; the peers refuse it and it stops.
    await assert.rejects(
      startServer('berth', { clientPort: m3.client, peerPort: m3.peer, name: m3.name, dataDir: m3.proc.dataDir, initialCluster: initialCluster([...live(), m3]), readyTimeoutMs: 30_000 }),
      /permanently removed from the cluster/,
    );
    dead.push(m3.proc);
    // Wiped (a fresh data dir), added again with the same peer URL, it rejoins under a new ID.
    await grow(m3, () => live()[0] as Node);
    assert.notEqual(m3.id, oldId);
    assert.equal((await memberList(m3)).length, 3);
  });

  it('grows 3 → 5 by learners, then shrinks 5 → 3 removing a follower and then the leader', async () => {
    const before = load.acked.size;
    const m4 = await newNode('m4');
    nodes.push(m4);
    await grow(m4, () => live()[0] as Node);
    const m5 = await newNode('m5');
    nodes.push(m5);
    await grow(m5, () => live()[0] as Node);
    const five = await memberList(m5);
    assert.equal(five.length, 5);
    assert.ok(five.every((m) => !m.learner && m.name !== ''), JSON.stringify(five));

    /** etcdctl member remove through a member other than the removed one; it stops by itself. */
    const removeAndWait = async (victim: Node): Promise<void> => {
      const via = live().find((n) => n !== victim) as Node;
      const r = await ctlUntil(() => endpointOf(via), ['member', 'remove', victim.id], /unhealthy cluster/);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Member\\s+${victim.id} removed from cluster\\s+${clusterUrls}`));
      victim.id = '';
      const exited = await Promise.race([victim.proc.exited.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 20_000).unref())]);
      assert.ok(exited, `${victim.name} stops by itself once removed`);
      dead.push(victim.proc);
    };
    const leader = await leaderOf();
    await removeAndWait(live().find((n) => n !== leader) as Node);
    assert.equal((await memberList(leader)).length, 4);
    await removeAndWait(leader);
    const newLeader = await leaderOf();
    assert.notEqual(newLeader, leader);
    const three = await memberList(newLeader);
    assert.equal(three.length, 3);
    assert.deepEqual(three.map((m) => m.id).sort(), live().map((n) => n.id).sort());
    // The write load kept being acknowledged through the changes (it is bounded; see Load.start).
    await waitFor(async () => (load.acked.size > before + 100 ? true : undefined), 'writes acknowledged after the shrink', 100, 100);
  });

  it('every acknowledged write is on every member; HashKV agrees at the same revision', async (t) => {
    await load.stop();
    t.diagnostic(`${load.acked.size} writes acknowledged, ${load.errors} failed or unknown`);
    assert.ok(load.acked.size > 100, `only ${load.acked.size} writes acknowledged (${load.errors} errors)`);
    const members = live();
    assert.equal(members.length, 3);
    // Converge: the same revision everywhere.
    const rev = await waitFor(async () => {
      const revs = await Promise.all(
        members.map(async (n) => {
          const r = await postJson(`${n.proc.clientUrl}/v3/kv/range`, { key: Buffer.from('\0').toString('base64'), serializable: true });
          return String((r.json.header as Record<string, unknown> | undefined)?.revision ?? '');
        }),
      );
      return revs.every((r) => r === revs[0] && r !== '') ? revs[0] : undefined;
    }, 'the same revision on every member', 200, 100);
    const hashes = await Promise.all(
      members.map(async (n) => {
        const r = await postJson(`${n.proc.clientUrl}/v3/maintenance/hashkv`, { revision: rev });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        return String(r.json.hash);
      }),
    );
    assert.ok(hashes.every((h) => h === hashes[0]), `hashes differ: ${hashes.join(' ')}`);
    for (const n of members) {
      const c = kvClient(n.proc.endpoint, { deadlineMs: 20_000 });
      try {
        const r = await c.range({ key: Buffer.from('load/'), rangeEnd: Buffer.from('load0'), serializable: true });
        const got = new Map(r.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString()]));
        let missing = 0;
        for (const [k, v] of load.acked) if (got.get(k) !== v) missing++;
        assert.equal(missing, 0, `${n.name}: ${missing} of ${load.acked.size} acknowledged writes missing`);
      } finally {
        c.close();
      }
    }
  });
});
