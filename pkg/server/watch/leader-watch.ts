/**
 * Leader loss for `hasleader=true` watch streams: etcd refuses such a stream when the member knows no
 * leader, and cancels open ones once it has had none for a few election timeouts (Unavailable
 * "etcdserver: no leader"), so clients move to a member that is part of a working cluster.
 */
export class LeaderWatch {
  readonly #timeoutMs: number;
  readonly #listeners = new Set<() => void>();
  #leader: bigint;
  #timer: NodeJS.Timeout | undefined;

  /** `timeoutMs`: how long without a leader before streams are cancelled (etcd: ~3 election timeouts). */
  constructor(leader: bigint, timeoutMs: number) {
    this.#leader = leader;
    this.#timeoutMs = timeoutMs;
    if (leader === 0n) this.#arm();
  }

  hasLeader(): boolean {
    return this.#leader !== 0n;
  }

  /** Feed of leader changes (0n = lost). */
  update(leader: bigint): void {
    this.#leader = leader;
    if (leader !== 0n) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#timer === undefined) {
      this.#arm();
    }
  }

  /** Calls `fn` when the leader has been lost for the timeout; returns the unsubscribe function. */
  onLost(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#leader !== 0n) return;
      for (const fn of [...this.#listeners]) fn();
    }, this.#timeoutMs);
    this.#timer.unref();
  }
}
