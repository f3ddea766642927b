/**
 * One seeded run: N servers (see node.ts) over the simulated network (net.ts), a fault phase of
 * `ticks` ticks with client traffic, membership churn, partitions, loss, crashes and compaction, then a
 * heal phase in which the cluster must elect a leader and commit a proposal on every member within
 * `healTicks` ticks. Safety checkers (checker.ts) run at every observation point; the run stops at the
 * first violation. Between two ticks the simulator performs micro-steps chosen at random among the
 * enabled ones: deliver a due message, take a node's Ready, persist a node's pending Ready, or crash a
 * node that was scheduled to crash at that step.
 */
import type { ConfChange, ConfState, Message, NodeId, ReadState } from '../../../pkg/raft/index.js';
import { leaveJointChange } from '../../../pkg/raft/index.js';
import type { CheckerName, ReadStart } from './checker.js';
import { STRANDED_BY_LEAVING_LEADER, SafetyChecker, Violation } from './checker.js';
import { goneVoters, planChange, strandsSurvivors } from './membership.js';
import { SimNetwork } from './net.js';
import type { NodeEnv } from './node.js';
import { SimNode, describeMessage } from './node.js';
import type { ParamOverrides, ScenarioParams } from './params.js';
import { scenarioParams } from './params.js';
import { Prng } from './prng.js';
import { REGISTERS, SnapshotBlobs, encodeWrite } from './state-machine.js';
import { Trace } from './trace.js';

export interface RunOptions {
  readonly overrides?: ParamOverrides;
  /** Keep the last `traceLimit` events (0: no event log, the fast path). */
  readonly traceLimit?: number;
  /** Echo every event as it happens. */
  readonly echo?: (line: string) => void;
  /** Checkers to switch off. */
  readonly disable?: ReadonlySet<CheckerName>;
}

export interface RunStats {
  ticks: number;
  steps: number;
  messages: number;
  committed: number;
  writesAcked: number;
  reads: number;
  crashes: number;
  confChanges: number;
  compactions: number;
  snapshotsSent: number;
  healTicks: number;
}

export interface RunResult {
  readonly params: ScenarioParams;
  readonly violation: Violation | undefined;
  readonly stats: RunStats;
  /** The last events (empty unless traceLimit > 0). */
  readonly trace: readonly string[];
  /** One line per node at the end (or at the violation). */
  readonly nodes: readonly string[];
}

interface PendingRead {
  readonly node: NodeId;
  readonly register: number;
  readonly start: ReadStart;
  index: number | undefined;
}

const MICRO_STEPS_PER_TICK = 400;

/**
 * Runs scenario `seed` to its end or to the first violation, which is returned (never thrown), as are
 * exceptions from pkg/raft ('raft-invariant') and from the simulator itself ('sim-error').
 * Deterministic: the same seed and options give the same result and event log.
 */
export function runScenario(seed: number, opts: RunOptions = {}): RunResult {
  const sim = new Simulation(scenarioParams(seed, opts.overrides), opts);
  let violation: Violation | undefined;
  try {
    sim.run();
  } catch (e: unknown) {
    if (e instanceof Violation) violation = e;
    else if (e instanceof Error) violation = new Violation(e.message.startsWith('sim:') ? 'sim-error' : 'raft-invariant', `${e.message}\n${e.stack ?? ''}`);
    else throw e;
  }
  return { params: sim.params, violation, stats: sim.stats, trace: sim.traceLines(), nodes: sim.describeNodes() };
}

class Simulation {
  readonly params: ScenarioParams;
  readonly stats: RunStats = {
    ticks: 0, steps: 0, messages: 0, committed: 0, writesAcked: 0, reads: 0, crashes: 0, confChanges: 0, compactions: 0, snapshotsSent: 0, healTicks: 0,
  };
  readonly #rand: Prng;
  readonly #net: SimNetwork;
  readonly #checker: SafetyChecker;
  readonly #nodes = new Map<NodeId, SimNode>();
  readonly #ids: NodeId[] = [];
  readonly #trace: Trace | undefined;
  readonly #env: NodeEnv;
  #now = 0;
  #writeSeq = 0;
  #readSeq = 0;
  readonly #reads = new Map<number, PendingRead>();
  /** Nodes that have been started at least once. */
  readonly #launched = new Set<NodeId>();
  /** Crashed nodes and the tick at which they come back. */
  readonly #downUntil = new Map<NodeId, number>();
  #crashAt: { id: NodeId; step: number } | undefined = undefined;
  /** Ids that were ever members of an applied configuration. */
  readonly #everMember = new Set<NodeId>();
  /** Ids removed by an applied (hence committed) conf change, with its index; never re-added. */
  readonly #removed = new Map<NodeId, number>();
  /** Ids whose removal was proposed; never re-added either. */
  readonly #tainted = new Set<NodeId>();
  #stopped = new Set<NodeId>();
  #latestConfIndex = 0;
  #latestConf: ConfState | undefined = undefined;

  constructor(params: ScenarioParams, opts: RunOptions) {
    this.params = params;
    this.#rand = new Prng(params.seed, 2);
    this.#net = new SimNetwork(new Prng(params.seed, 3));
    this.#checker = new SafetyChecker(opts.disable);
    const limit = opts.traceLimit ?? 0;
    this.#trace = limit > 0 || opts.echo !== undefined ? new Trace(Math.max(limit, 1), opts.echo) : undefined;
    const voters: NodeId[] = [];
    for (let i = 1; i <= params.nodes; i++) voters.push(BigInt(i));
    const settings = {
      electionTick: params.electionTick,
      heartbeatTick: params.heartbeatTick,
      preVote: params.preVote,
      checkQuorum: params.checkQuorum,
      maxSizePerMsg: params.maxSizePerMsg,
      maxInflightMsgs: params.maxInflightMsgs,
      knobs: params.knobs,
    };
    for (let i = 1; i <= params.nodes + params.spares; i++) {
      const id = BigInt(i);
      this.#ids.push(id);
      this.#nodes.set(id, new SimNode(id, voters, settings, new Prng(params.seed, 100 + i)));
    }
    for (const id of voters) this.#everMember.add(id);
    const blobs = new SnapshotBlobs();
    this.#env = {
      checker: this.#checker,
      blobs,
      applyMode: params.applyMode,
      send: (m) => this.#send(m),
      readStates: (id, rs) => this.#onReadStates(id, rs),
      confApplied: (id, cs, index) => this.#onConfApplied(id, cs, index),
      commitAnnounced: (id, c, t, cs, withEntry) => this.#onCommitAnnounced(id, c, t, cs, withEntry),
      trace: (line) => {
        if (this.#trace !== undefined) this.#trace.add(`[${this.#now}] ${line()}`);
      },
    };
  }

  #log(line: () => string): void {
    if (this.#trace !== undefined) this.#trace.add(`[${this.#now}] ${line()}`);
  }

  traceLines(): string[] {
    return this.#trace?.lines() ?? [];
  }

  describeNodes(): string[] {
    return this.#ids.filter((id) => this.#launched.has(id)).map((id) => {
      const n = this.#node(id);
      const flags = `${this.#removed.has(id) ? ' removed' : ''}${this.#stopped.has(id) ? ' stopped' : ''}`;
      if (n.rn === undefined) return `n${id}: down${flags} durable term ${n.storage.hardState().term} last ${n.storage.lastIndex()}`;
      const s = n.rn.status();
      const cs = s.config;
      return `n${id}: ${s.role} term ${s.term} lead ${s.lead} commit ${s.commit} applied ${s.applied} last ${s.lastIndex}${flags} ` +
        `voters [${cs.voters.join(',')}]${cs.votersOutgoing.length > 0 ? ` outgoing [${cs.votersOutgoing.join(',')}]` : ''} learners [${cs.learners.join(',')}]`;
    });
  }

  #node(id: NodeId): SimNode {
    const n = this.#nodes.get(id);
    if (n === undefined) throw new Error(`sim: no node ${id}`);
    return n;
  }

  #upNodes(): SimNode[] {
    const out: SimNode[] = [];
    for (const id of this.#ids) {
      const n = this.#nodes.get(id) as SimNode;
      if (n.up) out.push(n);
    }
    return out;
  }

  // ---- the run -----------------------------------------------------------------------------

  run(): void {
    const p = this.params;
    for (let i = 1; i <= p.nodes; i++) this.#launch(BigInt(i));
    this.#net.cfg = { drop: p.faults.drop, duplicate: p.faults.duplicate, maxDelay: p.faults.maxDelay };
    for (let t = 0; t < p.ticks; t++) {
      this.#faults();
      this.#clients();
      this.#tick(p.faults.skew);
      this.#pump();
    }
    this.#heal();
  }

  #launch(id: NodeId): void {
    const n = this.#node(id);
    this.#launched.add(id);
    n.start();
    this.#log(() => `n${id} starts (applied ${n.durableSm.applied}, durable term ${n.storage.hardState().term} vote ${n.storage.hardState().vote} last ${n.storage.lastIndex()})`);
  }

  #tick(skew: number): void {
    this.#now++;
    this.stats.ticks++;
    this.#log(() => `-- tick`);
    for (const n of this.#upNodes()) {
      if (this.#rand.chance(skew)) continue;
      n.rn?.tick();
    }
  }

  /** Micro-steps until nothing is enabled or the per-tick budget is spent. */
  #pump(): void {
    for (let i = 0; i < MICRO_STEPS_PER_TICK; i++) if (!this.#microStep()) return;
  }

  readonly #actions: (SimNode | undefined)[] = [];

  #microStep(): boolean {
    this.stats.steps++;
    const c = this.#crashAt;
    if (c !== undefined && this.stats.steps >= c.step) {
      this.#crashAt = undefined;
      const v = this.#node(c.id);
      // Half the time a node with a pending Ready dies in the middle of handling it: after the fsync,
      // with only some of its messagesAfterPersist sent and nothing applied.
      if (v.pending !== undefined && this.#rand.chance(0.5)) {
        const k = this.#rand.int(v.pending.messagesAfterPersist.length + 1);
        this.#log(() => `n${v.id} persists its Ready, sends ${k} of ${v.pending?.messagesAfterPersist.length} acks and dies before applying`);
        v.persist(this.#env, k);
      }
      this.#crash(c.id);
      return true;
    }
    const actions = this.#actions;
    actions.length = 0;
    if (this.#net.hasDue(this.#now)) actions.push(undefined);
    for (const id of this.#ids) {
      const n = this.#nodes.get(id) as SimNode;
      if (n.rn === undefined) continue;
      if (n.pending !== undefined || n.rn.hasReady()) actions.push(n);
    }
    if (actions.length === 0) return false;
    const a = actions[this.#rand.int(actions.length)];
    if (a === undefined) {
      this.#deliver();
    } else if (a.pending !== undefined) {
      this.#log(() => `n${a.id} persists`);
      a.persist(this.#env);
      this.#serveReads(a);
      this.#checkLeader(a);
    } else {
      a.take(this.#env);
    }
    return true;
  }

  #checkLeader(n: SimNode): void {
    const rn = n.rn;
    if (rn === undefined || n.pending !== undefined || n.role !== 'leader' || rn.hasReady()) return;
    const term = n.storage.hardState().term;
    if (!this.#checker.leaderNeedsCheck(n.id, term)) return;
    const st = n.storage;
    const offset = st.firstIndex() - 1;
    const last = st.lastIndex();
    this.#checker.leaderLog(n.id, term, (i) => (i < offset ? null : i > last ? undefined : st.term(i)));
  }

  #send(m: Message): void {
    this.stats.messages++;
    if (m.type === 'snap') this.stats.snapshotsSent++;
    this.#net.send(m, this.#now);
  }

  #deliver(): void {
    const d = this.#net.takeDue(this.#now);
    if (d === undefined) return;
    const m = d.m;
    const to = this.#nodes.get(m.to);
    const from = this.#nodes.get(m.from);
    if (d.lost || to?.rn === undefined || !this.#net.connected(m.from, m.to)) {
      this.#log(() => `drop ${describeMessage(m)}`);
      // A transport learns that a snapshot stream failed (and sometimes that a peer is unreachable).
      if (from?.rn !== undefined) {
        if (m.type === 'snap') from.rn.reportSnapshot(m.to, false);
        else if (!d.lost && this.#rand.chance(0.2)) from.rn.reportUnreachable(m.to);
      }
      return;
    }
    this.#log(() => `deliver ${describeMessage(m)}`);
    to.rn.step(m);
    if (m.type === 'snap') from?.rn?.reportSnapshot(m.to, true);
  }

  #crash(id: NodeId): void {
    const n = this.#node(id);
    if (!n.up) return;
    this.stats.crashes++;
    const [lo, hi] = this.params.faults.downTicks;
    const until = this.#now + this.#rand.range(lo, hi);
    this.#log(() => `n${id} CRASHES${n.pending !== undefined ? ' losing its pending Ready' : ''}; back at tick ${until}`);
    n.crash();
    this.#downUntil.set(id, until);
    for (const [k, r] of this.#reads) if (r.node === id) this.#reads.delete(k);
  }

  // ---- faults ------------------------------------------------------------------------------

  #faults(): void {
    const f = this.params.faults;
    for (const [id, until] of this.#downUntil) {
      if (until <= this.#now && !this.#stopped.has(id)) {
        this.#downUntil.delete(id);
        this.#launch(id);
      }
    }
    if (this.#rand.chance(f.partition)) this.#partition();
    else if (this.#rand.chance(f.heal)) {
      this.#net.healPartitions();
      this.#log(() => 'partitions healed');
    }
    if (this.#rand.chance(f.crash) && this.#crashAt === undefined) {
      const up = this.#upNodes();
      if (up.length > 0) {
        const victim = this.#rand.pick(up).id;
        this.#crashAt = { id: victim, step: this.stats.steps + this.#rand.int(40) };
      }
    }
    if (this.#rand.chance(f.compact)) {
      const up = this.#upNodes();
      if (up.length > 0) {
        const n = this.#rand.pick(up);
        const keep = this.#rand.int(4);
        if (n.compact(this.#env, keep)) {
          this.stats.compactions++;
          this.#log(() => `n${n.id} snapshots at ${n.storage.snapshot().metadata.index} and compacts to ${n.storage.firstIndex() - 1}`);
        }
      }
    }
  }

  #partition(): void {
    const groups = new Map<NodeId, number>();
    const ids = [...this.#launched];
    if (this.#rand.chance(0.4)) {
      const lonely = this.#rand.pick(ids);
      for (const id of ids) groups.set(id, id === lonely ? 1 : 0);
    } else {
      const k = this.#rand.range(2, 3);
      for (const id of ids) groups.set(id, this.#rand.int(k));
    }
    this.#net.partition(groups);
    this.#log(() => `partition ${this.#net.describePartition()}`);
  }

  // ---- clients -----------------------------------------------------------------------------

  #count(rate: number): number {
    const whole = Math.floor(rate);
    return whole + (this.#rand.chance(rate - whole) ? 1 : 0);
  }

  #clients(): void {
    const c = this.params.client;
    for (let i = this.#count(c.propose); i > 0; i--) this.#propose();
    for (let i = this.#count(c.read); i > 0; i--) this.#read();
    if (this.#rand.chance(c.confChange)) this.#confChange();
    this.#guardLeadership();
    if (this.#rand.chance(c.transfer)) this.#transfer();
  }

  #randomUp(): SimNode | undefined {
    const up = this.#upNodes();
    return up.length === 0 ? undefined : this.#rand.pick(up);
  }

  #propose(on?: SimNode): number | undefined {
    const n = on ?? this.#randomUp();
    if (n?.rn === undefined) return undefined;
    const id = ++this.#writeSeq;
    const register = this.#rand.int(REGISTERS);
    const r = n.rn.propose(encodeWrite(id, register));
    this.#log(() => `client: write w${id} r${register} on n${n.id}: ${r.ok ? 'accepted' : r.reason}`);
    return r.ok ? id : undefined;
  }

  #read(): void {
    const n = this.#randomUp();
    if (n?.rn === undefined) return;
    const id = ++this.#readSeq;
    const register = this.#rand.int(REGISTERS);
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setUint32(0, id);
    const start = this.#checker.readStart(register);
    const r = n.rn.readIndex(ctx);
    this.#log(() => `client: read q${id} r${register} on n${n.id} (acked up to ${start.ackedIndex}): ${r.ok ? 'accepted' : r.reason}`);
    if (r.ok) this.#reads.set(id, { node: n.id, register, start, index: undefined });
  }

  #onReadStates(id: NodeId, rs: readonly ReadState[]): void {
    for (const s of rs) {
      if (s.requestCtx.byteLength !== 4) continue;
      const q = new DataView(s.requestCtx.buffer, s.requestCtx.byteOffset, 4).getUint32(0);
      const r = this.#reads.get(q);
      if (r === undefined || r.node !== id || r.index !== undefined) continue;
      r.index = s.index;
      this.#log(() => `n${id} read q${q} gets read index ${s.index}`);
    }
  }

  #serveReads(n: SimNode): void {
    for (const [q, r] of this.#reads) {
      if (r.node !== n.id || r.index === undefined || n.sm.applied < r.index) continue;
      this.#reads.delete(q);
      this.#log(() => `n${n.id} serves read q${q} at applied ${n.sm.applied}: r${r.register} = w${n.sm.kv.get(r.register)?.id ?? 0}`);
      this.#checker.readServed(n.id, r.start, r.index, n.sm, r.register);
      this.stats.reads++;
    }
  }

  #transfer(): void {
    const n = this.#randomUp();
    if (n?.rn === undefined) return;
    const to = this.#rand.pick(this.#ids);
    this.#log(() => `client: transfer leadership to n${to} via n${n.id}`);
    n.rn.transferLeader(to);
  }

  /** The live node that believes it leads, with the highest term. */
  #leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.#upNodes()) {
      if (n.role !== 'leader' || n.rn === undefined) continue;
      const s = n.rn.status();
      if (s.role === 'leader' && s.term > bestTerm) {
        best = n;
        bestTerm = s.term;
      }
    }
    return best;
  }

  /**
   * Invariant 2 on the leader's side: what it counts as committed is durable on a quorum. One
   * exception, by design: a sole replica (one voter, no learners) commits an entry in the Ready that
   * appends it. Nobody else can see that commit index, the entry and the hard state are persisted in
   * one write and the entry is applied only after it, so the entry counts as held by the leader.
   */
  #onCommitAnnounced(id: NodeId, c: number, t: number, cs: ConfState, withEntry: boolean): void {
    const sole = cs.voters.length === 1 && cs.voters[0] === id && cs.votersOutgoing.length === 0 && cs.learners.length === 0 && cs.learnersNext.length === 0;
    const holds = (v: NodeId): boolean => {
      if (sole && withEntry && v === id) return true;
      const st = this.#node(v).storage;
      if (c <= st.firstIndex() - 1) return true; // in its snapshot
      return c <= st.lastIndex() && st.term(c) === t;
    };
    const quorum = (vs: readonly NodeId[]): boolean => vs.filter(holds).length > vs.length / 2;
    const ok = quorum(cs.voters) && (cs.votersOutgoing.length === 0 || quorum(cs.votersOutgoing));
    this.#checker.leaderCommitDurable(id, c, t, ok, () =>
      [...new Set([...cs.voters, ...cs.votersOutgoing])].map((v) => `n${v}:${holds(v) ? 'yes' : 'no'}`).join(' '),
    );
  }

  /**
   * Tracks removals from the newest applied configuration: a node that was a member of some applied
   * configuration and is absent from the newest one is removed for good (ids are never reused).
   */
  #onConfApplied(id: NodeId, cs: ConfState, index: number): void {
    if (index <= this.#latestConfIndex) return;
    this.#latestConfIndex = index;
    this.#latestConf = cs;
    const members = new Set<NodeId>([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
    for (const m of members) this.#everMember.add(m);
    for (const m of this.#everMember) {
      if (!members.has(m) && !this.#removed.has(m)) {
        this.#removed.set(m, index);
        this.#log(() => `n${m} is removed (conf change ${index} applied on n${id})`);
      }
    }
  }

  #confChange(): void {
    const l = this.#leader();
    if (l?.rn === undefined) return;
    const cs = l.rn.status().config;
    const careful = this.params.leaderRemoval === 'transfer-first';
    let cc: ConfChange | undefined;
    if (cs.votersOutgoing.length > 0) {
      // An explicit joint config is left by the client, and (carefully) only by an incoming voter.
      if (!cs.autoLeave && (!careful || cs.voters.includes(l.id))) cc = leaveJointChange();
    } else {
      const fresh = this.#ids.filter(
        (id) => !cs.voters.includes(id) && !cs.learners.includes(id) && !this.#tainted.has(id) && !this.#removed.has(id),
      );
      cc = planChange(this.#rand, l.id, cs, fresh);
    }
    if (cc === undefined) return;
    if (careful && cc.changes.length > 0 && strandsSurvivors(cs, cc)) {
      // Never let a leaving voter lead when the change applies (membership.ts): move leadership away
      // first, and leave the joint config by hand once an incoming voter leads (#guardLeadership).
      const gone = goneVoters(cc);
      if (gone.has(l.id)) {
        const to = cs.voters.find((v) => !gone.has(v));
        this.#log(() => `client: conf change would remove leader n${l.id} unsafely; transferring leadership to n${to ?? 'none'} first`);
        if (to !== undefined) l.rn.transferLeader(to);
        return;
      }
      cc = { ...cc, transition: 'explicit' };
    }
    for (const ch of cc.changes) {
      if (ch.type === 'remove-node') this.#tainted.add(ch.nodeId);
      else if (!this.#launched.has(ch.nodeId)) this.#launch(ch.nodeId);
    }
    const r = l.rn.proposeConfChange(cc);
    if (r.ok) this.stats.confChanges++;
    const desc = cc.changes.length === 0 ? 'leave joint' : cc.changes.map((c) => `${c.type} ${c.nodeId}`).join(', ');
    this.#log(() => `client: conf change (${cc.transition}) [${desc}] on leader n${l.id}: ${r.ok ? 'accepted' : `${r.reason} ${r.detail}`}`);
  }

  /** The careful server's policy: a leader that is not an incoming voter hands leadership over. */
  #guardLeadership(): void {
    if (this.params.leaderRemoval !== 'transfer-first') return;
    const l = this.#leader();
    if (l?.rn === undefined) return;
    const cs = l.rn.status().config;
    if (cs.votersOutgoing.length === 0 || cs.voters.includes(l.id) || l.rn.status().leadTransferee !== 0n) return;
    const to = cs.voters.filter((v) => this.#node(v).up);
    if (to.length === 0) return;
    const target = this.#rand.pick(to);
    this.#log(() => `server: leader n${l.id} is leaving the configuration; transferring leadership to n${target}`);
    l.rn.transferLeader(target);
  }

  // ---- heal and liveness -------------------------------------------------------------------

  /**
   * Shuts down removed members, but only once every other member has applied the removal: until then
   * the remaining voters may still need the removed one (e.g. its vote in the joint configuration
   * whose leave entry they do not yet know is committed; a removed leader steps down at once).
   * A real server likewise stops a removed member with a delay (etcd: stopWithDelay).
   */
  #stopRemoved(): void {
    for (const [id, at] of this.#removed) {
      if (this.#stopped.has(id)) continue;
      let others = true;
      for (const n of this.#nodes.values()) {
        if (n.id === id || this.#removed.has(n.id) || !this.#everMember.has(n.id) || !this.#launched.has(n.id)) continue;
        if (!n.up || n.sm.applied < at) others = false;
      }
      if (!others) continue;
      this.#stopped.add(id);
      this.#downUntil.delete(id);
      if (this.#node(id).up) this.#node(id).crash();
      for (const [k, r] of this.#reads) if (r.node === id) this.#reads.delete(k);
      this.#log(() => `n${id} is shut down (removed from the cluster)`);
    }
  }

  #heal(): void {
    const p = this.params;
    this.#log(() => '== heal: partitions removed, no loss, every member up, removed members shut down');
    this.#crashAt = undefined;
    this.#net.healPartitions();
    this.#net.cfg = { drop: 0, duplicate: p.faults.duplicate, maxDelay: Math.min(p.faults.maxDelay, 1) };
    this.#stopRemoved();
    for (const id of [...this.#downUntil.keys()]) {
      this.#downUntil.delete(id);
      if (!this.#stopped.has(id)) this.#launch(id);
    }
    const finals: number[] = [];
    let proposedAt = -Infinity;
    for (let t = 0; t < p.healTicks; t++) {
      this.stats.healTicks++;
      this.#tick(0);
      this.#pump();
      this.#stopRemoved();
      this.#guardLeadership();
      const l = this.#leader();
      if (l === undefined) continue;
      if (this.#finalApplied(l, finals)) {
        this.#finish();
        return;
      }
      // (Re)propose when the previous attempt did not commit within a few election timeouts.
      if (this.stats.ticks - proposedAt > 3 * p.electionTick) {
        const w = this.#propose(l);
        if (w !== undefined) {
          finals.push(w);
          proposedAt = this.stats.ticks;
        }
      }
    }
    throw new Violation(
      'liveness',
      `no leader committed a proposal on every member within ${p.healTicks} ticks of healing (finals ${finals.map((w) => `w${w}`).join(',') || 'none'}, leader ${this.#leader()?.id ?? 'none'})`,
      this.#stranded(),
    );
  }

  /**
   * Recognizes the pkg/raft liveness bug fixed in regressions.test.ts: a node that is no
   * longer a voter of the newest applied configuration still counts as a voter for some voter of it
   * that does not know the change committed, and refuses it its vote because its log is longer.
   */
  #stranded(): string | undefined {
    const latest = this.#latestConf;
    if (latest === undefined) return undefined;
    const lastOf = (n: SimNode): [number, number] => {
      const i = n.storage.lastIndex();
      return [n.storage.term(i), i];
    };
    for (const sid of latest.voters) {
      const sNode = this.#node(sid);
      if (sNode.rn === undefined) continue;
      const cs = sNode.rn.status().config;
      for (const rid of new Set([...cs.voters, ...cs.votersOutgoing])) {
        const r = this.#node(rid);
        if (latest.voters.includes(rid) || r.rn === undefined) continue;
        const [rt, ri] = lastOf(r);
        const [st, si] = lastOf(sNode);
        if (rt > st || (rt === st && ri > si)) return `${STRANDED_BY_LEAVING_LEADER}: n${sid} still needs n${rid}, which left the configuration with a longer log`;
      }
    }
    return undefined;
  }

  /** Whether one of the final writes is applied on every member of the leader's configuration. */
  #finalApplied(l: SimNode, finals: readonly number[]): boolean {
    if (l.rn === undefined) return false;
    const cs = l.rn.status().config;
    const members = new Set<NodeId>([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
    for (const w of finals) {
      const idx = this.#checker.writeIndex.get(w);
      if (idx === undefined) continue;
      let all = true;
      for (const m of members) {
        if (this.#removed.has(m)) continue;
        const n = this.#node(m);
        if (!n.up || n.sm.applied < idx) all = false;
      }
      if (all) return true;
    }
    return false;
  }

  #finish(): void {
    this.stats.committed = this.#checker.knownCommitted;
    this.stats.writesAcked = this.#checker.writeIndex.size;
    this.#log(() => `== done: committed ${this.stats.committed}, writes acked ${this.stats.writesAcked}, reads ${this.stats.reads}`);
  }
}
