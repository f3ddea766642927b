/**
 * Test helper: an in-process cluster of RawNodes over MemoryStorage, with a message-pumping network
 * that can cut links, isolate nodes and drop messages by predicate. No sleeps, no timers: stabilize()
 * pumps Readies and messages until nothing moves (bounded). Deterministic for a given seed.
 */
import type { ConfState, Entry, Message, RaftConfig, ReadState, Snapshot } from '../../pkg/raft/index.js';
import { EntryType, MemoryStorage, RawNode, decodeConfChange } from '../../pkg/raft/index.js';

/** Small deterministic PRNG (mulberry32) returning integers in [0, n). */
export function seededRand(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(r * n);
  };
}

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'rand'>>;

export interface TestNode {
  readonly id: bigint;
  rn: RawNode;
  readonly storage: MemoryStorage;
  /** Normal entries applied, in order (data only, empty no-ops skipped). */
  readonly applied: Entry[];
  /** Every entry applied (no-ops and conf changes included), in order; survives restarts like a state machine. */
  readonly appliedAll: Entry[];
  readonly readStates: ReadState[];
  readonly snapshotsInstalled: Snapshot[];
  confState: ConfState | undefined;
  appliedIndex: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

export class Cluster {
  readonly nodes = new Map<bigint, TestNode>();
  /** Messages sent and not yet delivered, FIFO. */
  queue: Message[] = [];
  /** Every message handed out, for assertions. */
  readonly sent: Message[] = [];
  /** Drop a message when this returns true (set by tests for fine-grained faults). */
  dropIf: (m: Message) => boolean = () => false;
  readonly #cut = new Set<string>();
  readonly #opts: NodeOptions;
  readonly #rand: (n: number) => number;
  /** Automatically compact storage below applied when the log grows past this many entries (0 = never). */
  compactEvery = 0;

  constructor(voters: readonly bigint[], opts: NodeOptions & { learners?: readonly bigint[]; seed?: number } = {}) {
    const { learners = [], seed = 1, ...nodeOpts } = opts;
    this.#opts = nodeOpts;
    this.#rand = seededRand(seed);
    for (const id of [...voters, ...learners]) {
      this.addNode(id, new MemoryStorage({ voters, learners }));
    }
  }

  /** Adds a node over the given storage (use an empty MemoryStorage for a member joining later). */
  addNode(id: bigint, storage: MemoryStorage, opts: NodeOptions = {}): TestNode {
    const rn = new RawNode({ electionTick: 10, heartbeatTick: 1, ...this.#opts, ...opts, id, storage, rand: this.#rand });
    const n: TestNode = { id, rn, storage, applied: [], appliedAll: [], readStates: [], snapshotsInstalled: [], confState: undefined, appliedIndex: 0 };
    this.nodes.set(id, n);
    return n;
  }

  /** Simulates a crash and restart: unpersisted state is lost, storage survives. */
  restart(id: bigint, opts: NodeOptions = {}): void {
    const n = this.node(id);
    n.rn = new RawNode({
      electionTick: 10, heartbeatTick: 1, ...this.#opts, ...opts, id, storage: n.storage, rand: this.#rand, applied: n.appliedIndex,
    });
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  node(id: bigint): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  rn(id: bigint): RawNode {
    return this.node(id).rn;
  }

  cut(a: bigint, b: bigint): void {
    this.#cut.add(`${a}-${b}`);
    this.#cut.add(`${b}-${a}`);
  }

  isolate(id: bigint): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  recover(): void {
    this.#cut.clear();
    this.dropIf = () => false;
  }

  /** Handles one Ready of a node the way a server would: persist, send, apply, advance. */
  processReady(id: bigint): boolean {
    const n = this.node(id);
    if (!n.rn.hasReady()) return false;
    const rd = n.rn.ready();
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.snapshotsInstalled.push(rd.snapshot);
      n.confState = rd.snapshot.metadata.confState;
      n.appliedIndex = rd.snapshot.metadata.index;
    }
    n.storage.append(rd.entries);
    if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.#send(m);
    for (const m of rd.messagesAfterPersist) this.#send(m);
    for (const e of rd.committedEntries) {
      n.appliedAll.push(e);
      if (e.type === EntryType.ConfChangeV2) {
        const cc = decodeConfChange(e.data);
        if (cc === undefined) throw new Error('bad conf change entry');
        n.confState = n.rn.applyConfChange(cc);
        n.storage.setConfState(n.confState);
      } else if (e.data.byteLength > 0) {
        n.applied.push(e);
      }
      n.appliedIndex = e.index;
    }
    for (const rs of rd.readStates) n.readStates.push(rs);
    n.rn.advance();
    if (this.compactEvery > 0 && n.appliedIndex - n.storage.firstIndex() > this.compactEvery) {
      n.storage.createSnapshot(n.appliedIndex, n.confState === undefined ? {} : { confState: n.confState });
      n.storage.compact(n.appliedIndex);
    }
    return true;
  }

  #send(m: Message): void {
    this.sent.push(m);
    this.queue.push(m);
  }

  /** Delivers one queued message (dropping it if the link is cut). Returns false if the queue is empty. */
  deliverOne(): boolean {
    const m = this.queue.shift();
    if (m === undefined) return false;
    if (this.#cut.has(`${m.from}-${m.to}`) || this.dropIf(m)) {
      this.drop(m);
      return true;
    }
    const n = this.nodes.get(m.to);
    if (n !== undefined) n.rn.step(m);
    // Like a real transport, report the outcome of a snapshot stream to the sender.
    if (m.type === 'snap') this.nodes.get(m.from)?.rn.reportSnapshot(m.to, n !== undefined);
    return true;
  }

  /** Loses a message; a lost snapshot is reported to its sender as failed, as a transport would. */
  drop(m: Message): void {
    if (m.type === 'snap') this.nodes.get(m.from)?.rn.reportSnapshot(m.to, false);
  }

  /** Pumps Readies and messages until quiet. Throws if it does not settle within maxSteps. */
  stabilize(maxSteps = 100_000): void {
    for (let i = 0; i < maxSteps; i++) {
      let moved = false;
      for (const id of this.nodes.keys()) while (this.processReady(id)) moved = true;
      if (this.deliverOne()) moved = true;
      if (!moved) return;
    }
    throw new Error('network did not stabilize');
  }

  /** Ticks every node n times, stabilizing after each tick. */
  tick(n = 1, only?: readonly bigint[]): void {
    for (let i = 0; i < n; i++) {
      for (const [id, node] of this.nodes) if (only === undefined || only.includes(id)) node.rn.tick();
      this.stabilize();
    }
  }

  campaign(id: bigint): void {
    this.rn(id).campaign();
    this.stabilize();
  }

  /** The ID of the leader with the highest term, if any. */
  leader(): bigint | undefined {
    let best: bigint | undefined;
    let bestTerm = -1;
    for (const [id, n] of this.nodes) {
      const s = n.rn.status();
      if (s.role === 'leader' && s.term > bestTerm) {
        best = id;
        bestTerm = s.term;
      }
    }
    return best;
  }

  leaders(): bigint[] {
    return [...this.nodes.entries()].filter(([, n]) => n.rn.status().role === 'leader').map(([id]) => id);
  }

  appliedText(id: bigint): string[] {
    return this.node(id).applied.map((e) => text(e.data));
  }
}
