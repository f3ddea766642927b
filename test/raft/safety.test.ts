/**
 * A small randomized run (the full simulation is built elsewhere on the same API): 5 nodes, random
 * ticks, message loss and reordering, partitions, and crashes that lose the unpersisted Ready (after
 * possibly sending its immediate messages). Checks election safety and state-machine safety, and that
 * the checkers catch the deliberately broken variants.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RaftKnobs } from '../../pkg/raft/index.js';
import { Cluster, bytes, seededRand } from './network.js';

interface Outcome {
  violation: string | undefined;
  commits: number;
  reads: number;
}

function run(seed: number, steps: number, knobs: RaftKnobs = {}): Outcome {
  const rand = seededRand(seed * 7919 + 1);
  const ids = [1n, 2n, 3n, 4n, 5n];
  const c = new Cluster(ids, { seed, preVote: rand(2) === 0, checkQuorum: rand(2) === 0, knobs, maxSizePerMsg: 1 + rand(300) });
  c.compactEvery = rand(2) === 0 ? 4 : 0;
  const leaderOfTerm = new Map<number, bigint>();
  const appliedAt = new Map<number, string>();
  const seenApplied = new Map<bigint, number>();
  const seenReads = new Map<bigint, number>();
  /** For each read request: the highest index any node knew committed when it was issued. */
  const readFloor = new Map<string, number>();
  let reads = 0;
  let proposals = 0;
  const out = (violation: string | undefined): Outcome => ({
    violation,
    commits: appliedAt.size,
    reads: [...seenReads.values()].reduce((a, b) => a + b, 0),
  });
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;

  /** Highest applied index, and an upper bound on the term in which it was committed. */
  let maxApplied = 0;
  let maxAppliedCommitTermBound = 0;
  const check = (): string | undefined => {
    let maxTerm = 0;
    for (const n of c.nodes.values()) maxTerm = Math.max(maxTerm, n.rn.status().term);
    for (const [id, n] of c.nodes) {
      const s = n.rn.status();
      if (s.role === 'leader') {
        const prev = leaderOfTerm.get(s.term);
        if (prev !== undefined && prev !== id) return `two leaders in term ${s.term}: ${prev} and ${id}`;
        leaderOfTerm.set(s.term, id);
        // Leader completeness (§5.4): a leader of a later term holds every committed entry.
        if (s.term > maxAppliedCommitTermBound && s.lastIndex < maxApplied) {
          return `leader ${id} of term ${s.term} lacks committed index ${maxApplied} (last ${s.lastIndex})`;
        }
      }
      const from = seenApplied.get(id) ?? 0;
      for (let i = from; i < n.appliedAll.length; i++) {
        const e = n.appliedAll[i]!;
        const key = `${e.term}:${e.type === 0 ? new TextDecoder().decode(e.data) : '<conf-change>'}`;
        const other = appliedAt.get(e.index);
        if (other !== undefined && other !== key) return `index ${e.index} applied as ${other} and as ${key} (node ${id})`;
        appliedAt.set(e.index, key);
        if (e.index > maxApplied) {
          maxApplied = e.index;
          maxAppliedCommitTermBound = maxTerm;
        }
      }
      seenApplied.set(id, n.appliedAll.length);
      // ReadIndex linearizability: a read point covers everything committed before the request.
      const rfrom = seenReads.get(id) ?? 0;
      for (let i = rfrom; i < n.readStates.length; i++) {
        const rs = n.readStates[i]!;
        const ctx = new TextDecoder().decode(rs.requestCtx);
        const floor = readFloor.get(ctx);
        if (floor === undefined) return `unknown read ${ctx}`;
        if (rs.index < floor) return `read ${ctx} got index ${rs.index} < ${floor} committed before it was issued`;
      }
      seenReads.set(id, n.readStates.length);
    }
    return undefined;
  };

  for (let step = 0; step < steps; step++) {
    const r = rand(100);
    if (r < 30) {
      c.rn(pick(ids)).tick();
    } else if (r < 60) {
      // deliver a random in-flight message (reordering), sometimes dropping it
      if (c.queue.length > 0) {
        const i = rand(c.queue.length);
        const [m] = c.queue.splice(i, 1);
        if (m !== undefined) {
          if (rand(10) > 0) c.queue.unshift(m);
          else c.drop(m);
        }
        c.deliverOne();
      }
    } else if (r < 80) {
      const id = pick(ids);
      c.processReady(id);
    } else if (r < 84) {
      c.rn(pick(ids)).propose(bytes(`p${proposals++}`));
    } else if (r < 86) {
      const ctx = `r${reads++}`;
      let floor = 0;
      for (const n of c.nodes.values()) floor = Math.max(floor, n.rn.status().commit);
      readFloor.set(ctx, floor);
      c.rn(pick(ids)).readIndex(bytes(ctx));
    } else if (r < 87) {
      c.rn(pick(ids)).transferLeader(pick(ids));
    } else if (r < 88) {
      // membership churn: node 5 or 4 moves between voter and learner (joint or simple)
      const target = pick([4n, 5n]);
      const type = rand(2) === 0 ? 'add-learner' : 'add-node';
      const transition = pick(['auto', 'implicit', 'explicit'] as const);
      const l = c.leader();
      if (l !== undefined) {
        const st = c.rn(l).status().config;
        if (st.votersOutgoing.length > 0) c.rn(l).proposeConfChange({ transition: 'auto', changes: [], context: new Uint8Array(0) });
        else c.rn(l).proposeConfChange({ transition, changes: [{ type, nodeId: target }], context: new Uint8Array(0) });
      }
    } else if (r < 92) {
      c.recover();
      const k = rand(3);
      for (let j = 0; j < k; j++) c.isolate(pick(ids));
    } else if (r < 95) {
      // crash, losing the unpersisted Ready; its immediate messages may already be out
      const id = pick(ids);
      const n = c.node(id);
      if (n.rn.hasReady()) {
        const rd = n.rn.ready();
        if (rand(2) === 0) for (const m of rd.messages) c.queue.push(m);
        if (knobs.unsafeAckBeforePersist) for (const m of rd.messagesAfterPersist) c.queue.push(m);
      }
      c.restart(id);
    } else {
      c.recover();
    }
    const v = check();
    if (v !== undefined) return out(v);
  }
  // heal: the cluster must elect a leader and commit a new proposal everywhere
  c.recover();
  const pump = (): string | undefined => {
    for (let i = 0; i < 5000; i++) {
      let moved = false;
      for (const id of ids) if (c.processReady(id)) moved = true;
      if (c.deliverOne()) moved = true;
      const v = check();
      if (v !== undefined) return v;
      if (!moved) return undefined;
    }
    return 'liveness: messages never quiesce';
  };
  let done = false;
  for (let i = 0; i < 200 && !done; i++) {
    for (const id of ids) c.rn(id).tick();
    const v = pump();
    if (v !== undefined) return out(v);
    const l = c.leader();
    if (l !== undefined && c.rn(l).propose(bytes('final')).ok) {
      const v2 = pump();
      if (v2 !== undefined) return out(v2);
      done = ids.every((id) => c.node(id).applied.some((e) => new TextDecoder().decode(e.data) === 'final'));
    }
  }
  const v = check();
  if (v === undefined && !done) return out('liveness: no commit after healing');
  return out(v);
}

describe('randomized safety (Raft Figure 3 properties)', () => {
  const seeds = Number(process.env['RAFT_SAFETY_SEEDS'] ?? 60);
  it(`election safety, state machine safety and liveness after healing hold over ${seeds} seeds`, () => {
    let commits = 0;
    let reads = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const o = run(seed, 1500);
      assert.equal(o.violation, undefined, `seed ${seed}: ${o.violation}`);
      commits += o.commits;
      reads += o.reads;
    }
    if (process.env['RAFT_DEBUG']) console.log('commits', commits, 'reads', reads);
    assert.ok(commits > 120, `the runs made progress (${commits} committed entries)`);
    assert.ok(reads > 20, `reads were served and checked (${reads})`);
  });

  // Figure 8 needs a precise schedule that random runs this short rarely hit; replication.test.ts
  // covers unsafeCommitOldTermByCounting with the exact scenario.
  for (const knob of ['unsafeSkipVoteLogCheck', 'unsafeAckBeforePersist'] as const) {
    it(`the checkers catch the broken variant ${knob}`, () => {
      // Broken variants may also livelock; keep searching until a safety property is violated.
      let caught: string | undefined;
      for (let seed = 1; seed <= 400 && caught === undefined; seed++) {
        try {
          const v = run(seed, 1500, { [knob]: true }).violation;
          if (v !== undefined && !v.startsWith('liveness')) caught = `seed ${seed}: ${v}`;
        } catch (e: unknown) {
          // raft's own invariant checks (e.g. a conflict below the commit index) also count as caught
          caught = `seed ${seed}: invariant: ${(e as Error).message}`;
        }
      }
      assert.ok(caught !== undefined, `${knob} went unnoticed`);
      if (process.env['RAFT_DEBUG']) console.log(knob, caught);
    });
  }
});
