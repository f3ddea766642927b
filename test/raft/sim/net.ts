/**
 * The simulated network: a delivery queue where each message waits a random number of ticks, due
 * messages are delivered in random order (reordering), and a message may be dropped or duplicated on
 * send. Partitions are a group number per node; a message crosses only within one group, judged at
 * delivery time (a link may break while a message is in flight).
 */
import type { Message, NodeId } from '../../../pkg/raft/index.js';
import type { Prng } from './prng.js';

interface InFlight {
  readonly m: Message;
  readonly due: number;
  /** Lost on the way: it is "delivered" as a drop, so the sender's transport can report it. */
  readonly lost: boolean;
}

export interface Delivery {
  readonly m: Message;
  readonly lost: boolean;
}

export interface NetConfig {
  drop: number;
  duplicate: number;
  maxDelay: number;
}

export class SimNetwork {
  readonly #rand: Prng;
  #queue: InFlight[] = [];
  #group = new Map<NodeId, number>();
  cfg: NetConfig = { drop: 0, duplicate: 0, maxDelay: 0 };
  /** Messages handed to the network, for statistics. */
  sent = 0;

  constructor(rand: Prng) {
    this.#rand = rand;
  }

  /** Queues m (maybe dropping or duplicating it) for delivery at now + a random delay. */
  send(m: Message, now: number): void {
    this.sent++;
    const copies = this.#rand.chance(this.cfg.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const lost = this.#rand.chance(this.cfg.drop);
      this.#queue.push({ m, due: now + this.#rand.int(this.cfg.maxDelay + 1), lost });
    }
  }

  /** Removes and returns a random message due at `now`, or undefined if none is due. */
  takeDue(now: number): Delivery | undefined {
    let n = 0;
    for (const f of this.#queue) if (f.due <= now) n++;
    if (n === 0) return undefined;
    let k = this.#rand.int(n);
    for (let i = 0; i < this.#queue.length; i++) {
      const f = this.#queue[i] as InFlight;
      if (f.due > now) continue;
      if (k-- === 0) {
        this.#queue.splice(i, 1);
        return f;
      }
    }
    return undefined;
  }

  hasDue(now: number): boolean {
    return this.#queue.some((f) => f.due <= now);
  }

  get inFlight(): number {
    return this.#queue.length;
  }

  connected(a: NodeId, b: NodeId): boolean {
    return (this.#group.get(a) ?? 0) === (this.#group.get(b) ?? 0);
  }

  /** Puts each node in the given group (nodes not listed stay in group 0). */
  partition(groups: ReadonlyMap<NodeId, number>): void {
    this.#group = new Map(groups);
  }

  healPartitions(): void {
    this.#group.clear();
  }

  describePartition(): string {
    if (this.#group.size === 0) return 'none';
    const byGroup = new Map<number, NodeId[]>();
    for (const [id, g] of this.#group) byGroup.set(g, [...(byGroup.get(g) ?? []), id]);
    return [...byGroup.entries()].sort((a, b) => a[0] - b[0]).map(([g, ids]) => `g${g}:{${ids.join(',')}}`).join(' ');
  }
}
