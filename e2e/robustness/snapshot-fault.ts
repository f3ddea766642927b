/**
 * The snapshot-catchup fault: a follower is stopped while traffic moves the log on by more than
 * SNAPSHOT_COUNT + CATCHUP_ENTRIES entries (so the leader has taken a raft snapshot and compacted
 * its log past everything the follower has), then restarted: the leader must send it a snapshot. One
 * snapshot failpoint, chosen at random, is armed with `kill@1`:
 * - send side (`snapshot-send-before/-after`): both other members are restarted armed (one at a time,
 *   while the follower is still down), so whichever leads when the follower returns dies sending;
 * - receive/install side: the follower itself is restarted armed and dies receiving or installing.
 * Then every member is restarted clean (armed survivors too) and the catch-up completes.
 */
import { CATCHUP_ENTRIES, SNAPSHOT_COUNT, type Cluster } from './cluster.js';
import type { EtcdClient } from './client.js';
import type { Rng } from './rng.js';

export const SNAPSHOT_POINTS = [
  'snapshot-send-before', 'snapshot-send-after', 'snapshot-receive-before', 'snapshot-receive-after',
  'snapshot-install-before', 'snapshot-install-mid', 'snapshot-install-before-commit', 'snapshot-install-after',
] as const;

/** Enough entries that a snapshot has been taken and the log compacted past the stopped member. */
const ADVANCE = SNAPSHOT_COUNT + CATCHUP_ENTRIES + 50;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function raftIndex(clients: readonly EtcdClient[], members: readonly number[]): Promise<number> {
  let best = -1;
  for (const j of members) {
    try {
      best = Math.max(best, Number((await (clients[j] as EtcdClient).status(1000)).raftIndex));
    } catch {
      // not answering
    }
  }
  return best;
}

/** Waits until the first of `members` to die exits (true), or timeoutMs passes (false). */
async function firstExit(cluster: Cluster, members: readonly number[], timeoutMs: number): Promise<boolean> {
  const exits = members.map((j) => cluster.members[j]?.exited?.then(() => true) ?? Promise.resolve(true));
  return Promise.race([...exits, sleep(timeoutMs).then(() => false)]);
}

async function restartClean(cluster: Cluster, j: number): Promise<void> {
  await cluster.kill(j);
  cluster.start(j);
  await cluster.healthy(j, 30_000);
}

export async function snapshotCatchup(cluster: Cluster, clients: readonly EtcdClient[], rng: Rng, log: (s: string) => void, follower: number): Promise<string> {
  const others = cluster.members.map((_, j) => j).filter((j) => j !== follower);
  const point = rng.pick(SNAPSHOT_POINTS);
  const env = { BERTH_FAILPOINTS: `${point}=kill@1` };
  const sendSide = point.startsWith('snapshot-send-');
  await cluster.kill(follower);
  const from = await raftIndex(clients, others);
  const deadline = Date.now() + 45_000;
  let at = from;
  while (at < from + ADVANCE && Date.now() < deadline) {
    await sleep(250);
    at = Math.max(at, await raftIndex(clients, others));
  }
  log(`  m${follower} down while the log moved ${from} -> ${at}${at < from + ADVANCE ? ` (wanted +${ADVANCE}: maybe no snapshot needed)` : ''}`);
  let died: boolean;
  if (sendSide) {
    for (const j of others) {
      await cluster.kill(j);
      cluster.start(j, env);
      await cluster.healthy(j, 30_000);
    }
    cluster.start(follower);
    died = await firstExit(cluster, others, 20_000);
    for (const j of others) await restartClean(cluster, j);
  } else {
    cluster.start(follower, env);
    died = await firstExit(cluster, [follower], 20_000);
    await cluster.kill(follower);
    cluster.start(follower);
  }
  log(`  ${env.BERTH_FAILPOINTS} ${sendSide ? `on m${others.join(',m')}` : `on m${follower}`}: ${died ? 'hit' : 'not hit within 20s'}`);
  return `m${follower} caught up by snapshot, ${point}=kill@1${died ? '' : ' (not reached)'}`;
}
