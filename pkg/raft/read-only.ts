/**
 * Linearizable reads without log writes (Raft thesis §6.4). The leader records its commit index for
 * each read request, confirms it is still leader by a heartbeat round acked by a quorum, and then
 * releases every request queued up to the acked one (requests are batched behind one heartbeat).
 */
import type { Message } from './message.js';
import type { NodeId } from './types.js';

/** A read may be served once the applied index reaches `index`. */
export interface ReadState {
  readonly index: number;
  /** The caller's request id, as given to readIndex(). */
  readonly requestCtx: Uint8Array;
}

/**
 * safe: confirm leadership with a heartbeat quorum per batch (default).
 * lease-based: trust the check-quorum lease (needs checkQuorum; unsafe under unbounded clock drift).
 */
export type ReadOnlyOption = 'safe' | 'lease-based';

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** Map key for a request context (bytes compared by value). */
export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.byteLength; i++) s += String.fromCharCode(ctx[i] ?? 0);
  return s;
}

export class ReadOnly {
  readonly option: ReadOnlyOption;
  #pending = new Map<string, ReadIndexStatus>();
  #queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Queues a request at the given commit index; a duplicate context is ignored. */
  addRequest(index: number, m: Message): void {
    const k = ctxKey(m.context);
    if (this.#pending.has(k)) return;
    this.#pending.set(k, { req: m, index, acks: new Set() });
    this.#queue.push(k);
  }

  /** Records a heartbeat ack carrying ctx; returns the acks so far, or undefined if ctx is unknown. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const rs = this.#pending.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Releases the request with ctx and every request queued before it. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const k = ctxKey(ctx);
    const at = this.#queue.indexOf(k);
    if (at < 0) return [];
    const done = this.#queue.splice(0, at + 1);
    const out: ReadIndexStatus[] = [];
    for (const d of done) {
      const rs = this.#pending.get(d);
      if (rs === undefined) throw new Error('raft: read-only queue and map disagree');
      this.#pending.delete(d);
      out.push(rs);
    }
    return out;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const k = this.#queue[this.#queue.length - 1];
    return k === undefined ? undefined : this.#pending.get(k)?.req.context;
  }

  pendingCount(): number {
    return this.#queue.length;
  }
}
