/**
 * Linearizable reads by ReadIndex, batched: every read that arrives while no request is being sent
 * joins the next round; one raft ReadIndex request serves the whole round. A round is answered once
 * raft returns its read index and the local state machine has applied up to it.
 *
 * Safety of answering earlier rounds with a later round's index: every waiter of round M arrived
 * before round M was sent, hence before any later round N was sent, and N's index is fixed by the
 * leader only after it received N. So N's index covers all of M's waiters.
 *
 * A round whose answer does not come (leader lost, message dropped) is re-sent every `retryMs`;
 * each waiter fails with 'timeout' at its own deadline.
 *
 * A request context is this process's random incarnation (8 bytes) then the round's sequence
 * number (8 bytes). Answers to another incarnation's requests are ignored: after a restart the
 * leader can still deliver read states it computed for the previous process (queued in its
 * transport or its read-only queue), with that process's sequence numbers and an old index; taken
 * as answers they would release new reads at a stale index (found by e2e/robustness).
 */
import { randomBytes } from 'node:crypto';
import { berthError } from '../errors/index.js';
import type { Outcome } from './wait.js';

export interface ReadIndexDeps {
  /** Asks raft for a read index with this context; false when raft dropped it (no leader known). */
  request(ctx: Uint8Array): boolean;
  appliedIndex(): number;
  readonly timeoutMs: number;
  readonly retryMs: number;
  /** 8 bytes naming this process's requests; random by default. */
  readonly incarnation?: Uint8Array;
  /**
   * etcd_server_slow_read_indexes_total: an answer that belongs to an earlier incarnation arrived,
   * or waiters timed out still waiting for their round's answer (once per such round).
   */
  readonly onSlow?: () => void;
  /** etcd_server_read_indexes_failed_total: raft refused a ReadIndex request (no leader known). */
  readonly onFailed?: () => void;
}

interface Waiter {
  readonly resolve: (o: Outcome<void>) => void;
  readonly deadline: number;
  done: boolean;
}

interface Round {
  readonly seq: bigint;
  readonly ctx: Uint8Array;
  readonly waiters: Waiter[];
  sentAt: number;
}

export class ReadIndexBatcher {
  readonly #deps: ReadIndexDeps;
  #pending: Waiter[] = [];
  #rounds: Round[] = [];
  /** Waiters whose read index is known, waiting for apply, in index order. */
  #ready: { index: number; waiters: Waiter[] }[] = [];
  #seq = 0n;
  #flushScheduled = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #incarnation: Buffer;

  constructor(deps: ReadIndexDeps) {
    this.#deps = deps;
    this.#incarnation = Buffer.from(deps.incarnation ?? randomBytes(8));
    if (this.#incarnation.byteLength !== 8) throw new Error('read index incarnation must be 8 bytes');
  }

  /** Resolves once the local state reflects every write acknowledged before the call. Never rejects. */
  wait(): Promise<Outcome<void>> {
    return new Promise((resolve) => {
      this.#pending.push({ resolve, deadline: Date.now() + this.#deps.timeoutMs, done: false });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
      this.#arm();
    });
  }

  /**
   * Resolves once the state machine has applied `index` (etcd's waitAppliedIndex when given the
   * commit index): no quorum round, so it proves nothing about leadership. Never rejects.
   */
  waitApplied(index: number): Promise<Outcome<void>> {
    if (this.#deps.appliedIndex() >= index) return Promise.resolve({ ok: true, value: undefined });
    return new Promise((resolve) => {
      this.#waitFor(index, [{ resolve, deadline: Date.now() + this.#deps.timeoutMs, done: false }]);
      this.#arm();
    });
  }

  /** Feed every ReadState of a Ready. */
  onReadState(ctx: Uint8Array, index: number): void {
    if (ctx.byteLength !== 16) return;
    const b = Buffer.from(ctx.buffer, ctx.byteOffset, 16);
    if (!b.subarray(0, 8).equals(this.#incarnation)) {
      this.#deps.onSlow?.();
      return;
    }
    const seq = b.readBigUInt64BE(8);
    const answered: Waiter[] = [];
    this.#rounds = this.#rounds.filter((r) => {
      if (r.seq > seq) return true;
      answered.push(...r.waiters);
      return false;
    });
    if (answered.length === 0) return;
    this.#waitFor(index, answered);
    this.onApplied(this.#deps.appliedIndex());
  }

  /** Queues `waiters` until `index` is applied; #ready stays in index order. */
  #waitFor(index: number, waiters: Waiter[]): void {
    const at = this.#ready.findIndex((r) => r.index >= index);
    this.#ready.splice(at < 0 ? this.#ready.length : at, 0, { index, waiters });
  }

  /** Call after each apply step. */
  onApplied(applied: number): void {
    while (this.#ready.length > 0 && (this.#ready[0] as { index: number }).index <= applied) {
      const r = this.#ready.shift() as { waiters: Waiter[] };
      for (const w of r.waiters) this.#finish(w, { ok: true, value: undefined });
    }
  }

  /** Fails everything (shutdown). */
  failAll(kind: 'stopped'): void {
    const all = [...this.#pending, ...this.#rounds.flatMap((r) => r.waiters), ...this.#ready.flatMap((r) => r.waiters)];
    this.#pending = [];
    this.#rounds = [];
    this.#ready = [];
    for (const w of all) this.#finish(w, { ok: false, error: berthError(kind) });
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    const ctx = Buffer.alloc(16);
    this.#incarnation.copy(ctx, 0);
    const seq = ++this.#seq;
    ctx.writeBigUInt64BE(seq, 8);
    const round: Round = { seq, ctx, waiters: this.#pending, sentAt: Date.now() };
    this.#pending = [];
    this.#rounds.push(round);
    this.#request(ctx);
  }

  #request(ctx: Uint8Array): void {
    if (!this.#deps.request(ctx)) this.#deps.onFailed?.();
  }

  #finish(w: Waiter, o: Outcome<void>): void {
    if (w.done) return;
    w.done = true;
    w.resolve(o);
  }

  /** One timer drives retries and deadlines while anything is outstanding. */
  #arm(): void {
    if (this.#timer !== undefined) return;
    const period = Math.max(10, Math.min(this.#deps.retryMs, this.#deps.timeoutMs) / 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sweep();
    }, period);
    this.#timer.unref();
  }

  #sweep(): void {
    const now = Date.now();
    let timedOut = false;
    const expire = (ws: Waiter[]): Waiter[] =>
      ws.filter((w) => {
        if (w.done) return false;
        if (w.deadline > now) return true;
        timedOut = true;
        this.#finish(w, { ok: false, error: berthError('timeout') });
        return false;
      });
    this.#pending = expire(this.#pending);
    for (const r of this.#rounds) {
      timedOut = false;
      const live = expire(r.waiters);
      if (timedOut) this.#deps.onSlow?.();
      r.waiters.length = 0;
      r.waiters.push(...live);
    }
    this.#rounds = this.#rounds.filter((r) => r.waiters.length > 0);
    for (const r of this.#ready) {
      const live = expire(r.waiters);
      r.waiters.length = 0;
      r.waiters.push(...live);
    }
    this.#ready = this.#ready.filter((r) => r.waiters.length > 0);
    // Re-send the newest unanswered round; answering it answers all older ones too.
    const newest = this.#rounds[this.#rounds.length - 1];
    if (newest !== undefined && now - newest.sentAt >= this.#deps.retryMs) {
      newest.sentAt = now;
      this.#request(newest.ctx);
    }
    if (this.#pending.length > 0 || this.#rounds.length > 0 || this.#ready.length > 0) this.#arm();
  }
}
