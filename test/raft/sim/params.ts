/**
 * Scenario parameters: everything about a run except the schedule itself, derived from the seed (and
 * optionally overridden, e.g. by the mutation tests). Printed with every failure so a run can be read
 * without re-deriving them.
 */
import type { RaftKnobs } from '../../../pkg/raft/index.js';
import { Prng } from './prng.js';

/** How the world misbehaves during the fault phase. Probabilities are per tick unless noted. */
export interface FaultMix {
  readonly name: string;
  /** Per message. */
  readonly drop: number;
  /** Per message. */
  readonly duplicate: number;
  /** Messages are delivered after 0..maxDelay ticks (in random order among the due ones). */
  readonly maxDelay: number;
  /** Split the nodes into random groups (or isolate one node). */
  readonly partition: number;
  /** Remove all partitions. */
  readonly heal: number;
  readonly crash: number;
  /** A crashed node comes back after this many ticks (inclusive range). */
  readonly downTicks: readonly [number, number];
  /** A live node misses a tick (clock skew). */
  readonly skew: number;
  /** A node snapshots its state machine and compacts its log. */
  readonly compact: number;
}

export interface ClientMix {
  readonly propose: number;
  readonly read: number;
  readonly confChange: number;
  readonly transfer: number;
}

export interface ScenarioParams {
  readonly seed: number;
  readonly nodes: number;
  /** Extra member ids that may join later (as learners first, or directly). */
  readonly spares: number;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  /**
   * durable-apply: the applied index is durable with each applied batch (berth's model, invariant 3);
   * a restart resumes after it. replay: the state machine is durable only at snapshots; a restart
   * reloads the last snapshot and raft re-delivers the committed entries after it.
   */
  readonly applyMode: 'durable-apply' | 'replay';
  /**
   * transfer-first: the simulated server never lets a leaving voter lead when a change that leaves no
   * majority of the old voters behind is applied (it transfers leadership first, makes such changes
   * explicit joint ones and leaves them under an incoming voter; see simulation.ts). direct: no such
   * care (exposes the stranded-survivors liveness bug of regressions.test.ts).
   */
  readonly leaderRemoval: 'transfer-first' | 'direct';
  /** Ticks of the fault phase. */
  readonly ticks: number;
  /** Ticks the healed cluster gets to elect a leader and commit a proposal everywhere. */
  readonly healTicks: number;
  readonly faults: FaultMix;
  readonly client: ClientMix;
  readonly knobs: RaftKnobs;
}

export const FAULT_MIXES: readonly FaultMix[] = [
  { name: 'calm', drop: 0, duplicate: 0, maxDelay: 0, partition: 0, heal: 0, crash: 0, downTicks: [1, 1], skew: 0, compact: 0.05 },
  { name: 'lossy', drop: 0.15, duplicate: 0.05, maxDelay: 2, partition: 0, heal: 0, crash: 0, downTicks: [1, 1], skew: 0.05, compact: 0.1 },
  { name: 'partitions', drop: 0.02, duplicate: 0.02, maxDelay: 1, partition: 0.08, heal: 0.1, crash: 0, downTicks: [1, 1], skew: 0.02, compact: 0.1 },
  { name: 'crashes', drop: 0.02, duplicate: 0.02, maxDelay: 1, partition: 0, heal: 0, crash: 0.06, downTicks: [0, 8], skew: 0.02, compact: 0.1 },
  { name: 'chaos', drop: 0.1, duplicate: 0.05, maxDelay: 3, partition: 0.06, heal: 0.08, crash: 0.05, downTicks: [0, 10], skew: 0.05, compact: 0.15 },
  // Leaders die young: many terms with unreplicated tails (the raw material of Raft's Figure 8).
  { name: 'crash-storm', drop: 0.3, duplicate: 0, maxDelay: 2, partition: 0.1, heal: 0.2, crash: 0.4, downTicks: [0, 6], skew: 0, compact: 0.05 },
];

const NODE_COUNTS: readonly number[] = [1, 3, 3, 3, 5, 5, 5, 7, 7, 3];

export type ParamOverrides = Partial<Omit<ScenarioParams, 'seed'>> & { mix?: string };

/** The parameters of run `seed`; a pure function of its arguments. */
export function scenarioParams(seed: number, o: ParamOverrides = {}): ScenarioParams {
  const r = new Prng(seed, 1);
  const nodes = o.nodes ?? NODE_COUNTS[seed % NODE_COUNTS.length] ?? 3;
  const electionTick = o.electionTick ?? r.range(3, 8);
  const mixByName = o.mix === undefined ? undefined : FAULT_MIXES.find((m) => m.name === o.mix);
  if (o.mix !== undefined && mixByName === undefined) throw new Error(`sim: unknown fault mix ${o.mix}`);
  const faults = o.faults ?? mixByName ?? r.pick(FAULT_MIXES);
  const checkQuorum = o.checkQuorum ?? r.chance(0.5);
  return {
    seed,
    nodes,
    spares: o.spares ?? (nodes === 7 ? 1 : r.range(0, 2)),
    electionTick,
    heartbeatTick: o.heartbeatTick ?? 1,
    preVote: o.preVote ?? r.chance(0.5),
    checkQuorum,
    maxSizePerMsg: o.maxSizePerMsg ?? r.pick([1, 1, 64, 1024 * 1024]),
    maxInflightMsgs: o.maxInflightMsgs ?? r.pick([1, 2, 4, 256]),
    applyMode: o.applyMode ?? (r.chance(0.5) ? 'durable-apply' : 'replay'),
    // Half the runs let a leader remove or demote itself directly (what a careless server would do).
    leaderRemoval: o.leaderRemoval ?? (r.chance(0.5) ? 'direct' : 'transfer-first'),
    ticks: o.ticks ?? r.range(20, 40),
    // Elections are randomized: with electionTick 3 and two voters a round succeeds only about one
    // time in three, so the bound leaves room for ~40 rounds (false alarms below one in 10^5 runs).
    healTicks: o.healTicks ?? 40 * electionTick,
    faults,
    client: o.client ?? {
      propose: r.pick([0.3, 0.6, 1.2]),
      read: r.pick([0.1, 0.3, 0.6]),
      confChange: r.pick([0, 0.05, 0.15]),
      transfer: r.pick([0, 0.03, 0.08]),
    },
    knobs: o.knobs ?? {},
  };
}

export function describeParams(p: ScenarioParams): string {
  const knobs = Object.entries(p.knobs).filter(([, v]) => v === true).map(([k]) => k);
  return [
    `seed=${p.seed} nodes=${p.nodes} spares=${p.spares} electionTick=${p.electionTick} heartbeatTick=${p.heartbeatTick}`,
    `preVote=${p.preVote} checkQuorum=${p.checkQuorum} maxSizePerMsg=${p.maxSizePerMsg} maxInflightMsgs=${p.maxInflightMsgs}`,
    `applyMode=${p.applyMode} leaderRemoval=${p.leaderRemoval} ticks=${p.ticks} healTicks=${p.healTicks} faults=${JSON.stringify(p.faults)}`,
    `client=${JSON.stringify(p.client)} knobs=[${knobs.join(',')}]`,
  ].join('\n');
}
