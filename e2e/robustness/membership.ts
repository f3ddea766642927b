/**
 * The membership fault: one member is replaced while traffic runs — removed (MemberRemove; with some
 * probability the leader), its process killed and its data dir wiped, added back as a learner
 * (MemberAdd, isLearner) under the same peer URL, started with `--initial-cluster-state existing`
 * (it catches up, usually by a raft snapshot: the log it needs is compacted), and promoted
 * (MemberPromote, retried while the learner is not yet in sync). The cluster is three voters again
 * at the end. Every step is retried within a bound; an RPC that timed out but took effect is
 * recognised from the member list.
 */
import type { Cluster } from './cluster.js';
import type { EtcdClient } from './client.js';
import type { Rng } from './rng.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Listed {
  readonly id: bigint;
  readonly isLearner: boolean;
}

/** Retries `f` through the members other than `skip` until it succeeds or `done()` says it took effect. */
async function step(what: string, clients: readonly EtcdClient[], skip: number, f: (c: EtcdClient) => Promise<void>, done: (c: EtcdClient) => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const via = clients.filter((_, j) => j !== skip);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let k = 0; Date.now() < deadline; k++) {
    const c = via[k % via.length] as EtcdClient;
    try {
      await f(c);
      return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      if (await done(c).catch(() => false)) return;
    }
    await sleep(300);
  }
  throw new Error(`membership: ${what} did not succeed within ${timeoutMs} ms (last error: ${last})`);
}

async function lookup(c: EtcdClient, peerUrl: string): Promise<Listed | undefined> {
  const r = await c.memberList(3000);
  const m = r.members.find((x) => x.peerURLs.includes(peerUrl));
  return m === undefined ? undefined : { id: m.ID, isLearner: m.isLearner };
}

export async function replaceMember(cluster: Cluster, clients: readonly EtcdClient[], rng: Rng, log: (s: string) => void, leader: number | undefined): Promise<string> {
  const n = cluster.members.length;
  const v = leader !== undefined && rng.chance(0.3) ? leader : rng.int(0, n - 1);
  const url = cluster.peerUrl(v);
  let old: Listed | undefined;
  await step('list', clients, v, async (c) => void (old = await lookup(c, url)), async () => false);
  if (old === undefined) throw new Error(`membership: m${v} (${url}) is not in the member list`);
  const oldId = old.id;
  await step(`remove m${v}`, clients, v, (c) => c.memberRemove(oldId, 5000), async (c) => (await lookup(c, url)) === undefined);
  await cluster.kill(v);
  cluster.wipeForRejoin(v);
  log(`  removed m${v} (${oldId.toString(16)}${v === leader ? ', the leader' : ''})`);

  let added: Listed | undefined;
  await step(
    `add m${v} as a learner`,
    clients,
    v,
    async (c) => {
      const r = await c.memberAdd(url, true, 5000);
      if (r.member !== undefined) added = { id: r.member.ID, isLearner: r.member.isLearner };
    },
    async (c) => (added = await lookup(c, url)) !== undefined,
  );
  const newId = (added as Listed).id;
  cluster.start(v);
  // Waiting (bounded) lets the learner catch up; promotion below is retried until it is in sync anyway.
  const learnerHealthy = await cluster.healthy(v, 30_000);
  await step(`promote m${v}`, clients, v, (c) => c.memberPromote(newId, 5000), async (c) => (await lookup(c, url))?.isLearner === false, 60_000);
  log(`  re-added m${v} as learner ${newId.toString(16)}${learnerHealthy ? '' : ' (not healthy as a learner within 30s)'}, promoted`);
  return `replaced m${v}${v === leader ? ' (leader)' : ''}: remove, add learner, promote`;
}
