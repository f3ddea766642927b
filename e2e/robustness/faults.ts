/**
 * Fault injection: one fault at a time, each healed before the next. Every fault is bounded in time
 * and ends with all members running again.
 */
import type { Cluster } from './cluster.js';
import { replaceMember } from './membership.js';
import { snapshotCatchup } from './snapshot-fault.js';
import type { EtcdClient } from './client.js';
import type { Rng } from './rng.js';

export const FAULTS = [
  'kill', 'kill-leader', 'failpoint-kill', 'power-loss', 'disk-full', 'pause', 'pause-leader', 'partition-leader', 'partition-follower', 'one-way', 'delay',
  'membership', 'snapshot-catchup',
] as const;
export type Fault = (typeof FAULTS)[number];
/** Faults that need peers. */
export const MULTI_MEMBER_FAULTS: readonly Fault[] = ['partition-leader', 'partition-follower', 'one-way', 'delay', 'membership', 'snapshot-catchup'];

/** Crash points armed by failpoint-kill (kill@n on a random hit n). */
export const CRASH_POINTS = [
  'wal-before-sync', 'wal-after-sync', 'apply-before-commit', 'apply-after-commit', 'raft-before-send', 'watch-before-send', 'compact-between-batches',
  'snapshot-receive-before', 'snapshot-receive-after', 'snapshot-install-before', 'snapshot-install-mid', 'snapshot-install-after',
] as const;

/**
 * Where power-loss cuts the power (`<point>=powerloss@n`): any engine write, after an apply batch
 * (unsynced: lost unless a synced write followed), before raft messages leave, before a WAL group
 * is written (it and the previous apply batch are lost). The hit number is random in POWER_LOSS_HITS[point].
 */
export const POWER_LOSS_POINTS = ['engine-write', 'apply-after-commit', 'raft-before-send', 'wal-before-sync'] as const;
const POWER_LOSS_HITS: Record<string, readonly [number, number]> = { 'engine-write': [5, 300] };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function leaderOf(cluster: Cluster, clients: readonly EtcdClient[]): Promise<number | undefined> {
  for (let i = 0; i < clients.length; i++) {
    if (!cluster.running(i) || cluster.members[i]?.paused === true) continue;
    try {
      const s = await (clients[i] as EtcdClient).status(1000);
      if (s.leader !== 0n && s.leader === s.header?.memberId) return i;
    } catch {
      // not answering
    }
  }
  return undefined;
}

/** Restarts member i with failpoints armed, waits (bounded) for it to die at one, then restarts it clean. */
async function crashAt(cluster: Cluster, i: number, spec: string, log: (s: string) => void, downMs = 0, powerLoss = false): Promise<boolean> {
  await cluster.kill(i);
  if (downMs > 0) await sleep(downMs);
  cluster.start(i, { BERTH_FAILPOINTS: spec }, { powerLoss });
  const m = cluster.members[i];
  const died = await Promise.race([m?.exited?.then(() => true), sleep(10_000).then(() => false)]);
  if (!died) await cluster.kill(i);
  const report = powerLoss && died ? ` (${m?.powerLossReport ?? 'no power-loss report'})` : '';
  log(`  ${spec} on m${i}: ${died ? 'hit' : 'not hit within 10s, killed'}${report}`);
  cluster.start(i);
  return died === true;
}

/** Injects one fault of kind `f`; resolves once it is healed (members restarted, links restored). */
export interface InjectOptions {
  /** Failpoints failpoint-kill picks from (default CRASH_POINTS). */
  readonly crashPoints?: readonly string[];
  /** Failpoints power-loss picks from (default POWER_LOSS_POINTS). */
  readonly powerLossPoints?: readonly string[];
}

export async function inject(f: Fault, cluster: Cluster, clients: readonly EtcdClient[], rng: Rng, log: (s: string) => void, io: InjectOptions = {}): Promise<string> {
  const crashPoints = io.crashPoints ?? CRASH_POINTS;
  const n = cluster.members.length;
  const leader = await leaderOf(cluster, clients);
  const any = rng.int(0, n - 1);
  const follower = leader === undefined ? any : n === 1 ? leader : rng.pick([...Array(n).keys()].filter((x) => x !== leader));
  switch (f) {
    case 'kill':
    case 'kill-leader': {
      const v = f === 'kill-leader' ? (leader ?? any) : any;
      await cluster.kill(v);
      await sleep(rng.int(100, 1500));
      cluster.start(v);
      return `SIGKILL m${v}`;
    }
    case 'failpoint-kill': {
      // A lone member sends no raft messages and receives no snapshots.
      const usable = cluster.members.length > 1 ? crashPoints : crashPoints.filter((p) => !p.startsWith('snapshot-') && p !== 'raft-before-send');
      const point = rng.pick(usable.length > 0 ? usable : crashPoints);
      // Snapshot points are hit once per snapshot (the restarted member is behind: it gets one).
      const hitAt = point === 'snapshot-install-mid' || point === 'compact-between-batches' ? rng.int(1, 2) : point.startsWith('snapshot-') ? 1 : rng.int(3, 80);
      // A member down for a few seconds is far enough behind to be sent a snapshot.
      const hit = await crashAt(cluster, any, `${point}=kill@${hitAt}`, log, point.startsWith('snapshot-') ? rng.int(3000, 6000) : 0);
      return `kill at ${point} on m${any}${hit ? '' : ' (not reached)'}`;
    }
    case 'power-loss': {
      // The member runs the storage power-loss model: at the failpoint every write made without
      // fsync since the last synced one is dropped, then the process dies.
      const v = rng.chance(0.5) ? (leader ?? any) : any;
      // A lone member sends no raft messages.
      const points = (io.powerLossPoints ?? POWER_LOSS_POINTS).filter((p) => n > 1 || p !== 'raft-before-send');
      const point = rng.pick(points.length > 0 ? points : POWER_LOSS_POINTS);
      const [lo, hi] = POWER_LOSS_HITS[point] ?? [3, 80];
      const hit = await crashAt(cluster, v, `${point}=powerloss@${rng.int(lo, hi)}`, log, 0, true);
      return `power loss at ${point} on m${v}${hit ? '' : ' (not reached)'}`;
    }
    case 'disk-full': {
      const v = rng.chance(0.5) ? (leader ?? any) : any;
      const hit = await crashAt(cluster, v, `engine-write=enospc@${rng.int(5, 40)}+`, log);
      return `disk full (ENOSPC on engine writes) on m${v}${hit ? ', member stopped' : ' (did not stop within 10s)'}`;
    }
    case 'pause':
    case 'pause-leader': {
      const v = f === 'pause-leader' ? (leader ?? any) : follower;
      cluster.pause(v);
      await sleep(rng.int(500, 3000));
      cluster.resume(v);
      return `SIGSTOP/SIGCONT m${v}`;
    }
    case 'partition-leader':
    case 'partition-follower': {
      const v = f === 'partition-leader' ? (leader ?? any) : follower;
      const links: [number, number][] = [];
      for (let j = 0; j < n; j++) if (j !== v) links.push([v, j], [j, v]);
      cluster.setDrops(links);
      await sleep(rng.int(1500, 4000));
      cluster.heal();
      return `isolate m${v}${v === leader ? ' (leader)' : ''}`;
    }
    case 'one-way': {
      const a = leader ?? any;
      const b = follower === a ? (a + 1) % n : follower;
      const dir: [number, number] = rng.chance(0.5) ? [a, b] : [b, a];
      cluster.setDrops([dir]);
      await sleep(rng.int(1500, 4000));
      cluster.heal();
      return `drop m${dir[0]}->m${dir[1]}`;
    }
    case 'membership':
      return replaceMember(cluster, clients, rng, log, leader);
    case 'snapshot-catchup':
      return snapshotCatchup(cluster, clients, rng, log, follower);
    case 'delay': {
      const ms = rng.int(20, 150);
      cluster.setDelay(ms);
      await sleep(rng.int(1500, 3000));
      cluster.heal();
      return `delay ${ms}ms on every peer link`;
    }
  }
}
