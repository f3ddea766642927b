/**
 * The leader's window of in-flight append messages to one follower: bounded both by message count and
 * by bytes, so a slow follower cannot make the leader buffer without limit. A ring buffer of the last
 * index of each message and its payload size.
 */
export class Inflights {
  readonly #cap: number;
  readonly #maxBytes: number;
  #start = 0;
  #count = 0;
  #bytes = 0;
  readonly #index: number[];
  readonly #size: number[];

  /** maxBytes = 0 means no byte limit. */
  constructor(cap: number, maxBytes: number) {
    if (cap < 1) throw new Error('raft: inflights capacity must be >= 1');
    this.#cap = cap;
    this.#maxBytes = maxBytes;
    this.#index = new Array<number>(cap).fill(0);
    this.#size = new Array<number>(cap).fill(0);
  }

  clone(): Inflights {
    const c = new Inflights(this.#cap, this.#maxBytes);
    for (let i = 0; i < this.#count; i++) {
      const j = (this.#start + i) % this.#cap;
      c.add(this.#index[j] ?? 0, this.#size[j] ?? 0);
    }
    return c;
  }

  /** Records a message whose last entry is `index`. Throws if full: callers check full() first. */
  add(index: number, bytes: number): void {
    if (this.#count === this.#cap) throw new Error('raft: inflights overflow');
    const j = (this.#start + this.#count) % this.#cap;
    this.#index[j] = index;
    this.#size[j] = bytes;
    this.#count++;
    this.#bytes += bytes;
  }

  /** Frees every message whose last index is <= index (they were acknowledged). */
  freeLE(index: number): void {
    while (this.#count > 0 && (this.#index[this.#start] ?? 0) <= index) this.#popFront();
  }

  freeFirstOne(): void {
    if (this.#count > 0) this.#popFront();
  }

  #popFront(): void {
    this.#bytes -= this.#size[this.#start] ?? 0;
    this.#start = (this.#start + 1) % this.#cap;
    this.#count--;
    if (this.#count === 0) this.#start = 0;
  }

  full(): boolean {
    return this.#count === this.#cap || (this.#maxBytes > 0 && this.#bytes >= this.#maxBytes);
  }

  count(): number {
    return this.#count;
  }

  bytes(): number {
    return this.#bytes;
  }

  reset(): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
  }
}
