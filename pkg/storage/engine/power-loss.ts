/**
 * PowerLossModel (TEST ONLY): makes an Engine lose, on demand, exactly the writes a power loss would
 * take — every batch written without `sync` since the last synced write — and then die.
 *
 * Why that is the right set: RocksDB appends every batch to its write-ahead log file; without sync
 * the bytes sit in the OS page cache, and a synced write fsyncs the log, which makes every earlier
 * record in it durable too (memtable flushes write and fsync SST files, so flushed data is durable
 * as well — flushed data was always written before some later point, never needs to be lost for the
 * model to be sound). So after a power loss the database is exactly its state at the end of the last
 * synced write. (Engine.clear's garbage deletes are not journaled: losing them is the same as a crash
 * before the clear, which callers already tolerate. Files outside RocksDB — .snap files — are not
 * covered.)
 *
 * How: while a model is attached, the engine's writes run one at a time (issue order is one of the
 * orders concurrent writes may take anyway). Before an unsynced batch is written, the current
 * values of its keys are read and kept (the first time a key is touched since the last sync); a
 * synced write that succeeds empties that undo journal. `lose()` — called by the `powerloss`
 * failpoint action — stops every later write (they never settle: the machine is off), waits for the
 * write in flight, writes the undo journal back with sync (the database is now the last synced
 * state) and SIGKILLs the process.
 *
 * Gating: only startMember with MemberTestHooks.powerLoss creates a model, and only the test entry
 * point e2e/robustness/broken-berth.ts passes that hook; startMember refuses to start when a
 * `powerloss` failpoint is armed without it. cmd/berth cannot enable it.
 */

/** What the model needs from the engine: raw reads and writes, bypassing the model. */
export interface RawAccess {
  read(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  write(ops: readonly RawOp[], sync: boolean): Promise<void>;
}

export type RawOp = { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: Uint8Array };

const hex = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');

const never = new Promise<never>(() => {});
const SKIPPED: unique symbol = Symbol('skipped');

export class PowerLossModel {
  #raw: RawAccess | undefined;
  /** Serializes writes (and the final restore). */
  #chain: Promise<void> = Promise.resolve();
  /** key (hex) → value before the first unsynced write since the last synced one (undefined = absent). */
  readonly #undo = new Map<string, { readonly key: Uint8Array; readonly old: Uint8Array | undefined }>();
  #lost = false;
  /** Unsynced batches written since the last synced write (for the log line). */
  #pendingBatches = 0;
  readonly #die: () => void;

  constructor(opts: { readonly die?: () => void } = {}) {
    this.#die = opts.die ?? (() => process.kill(process.pid, 'SIGKILL'));
  }

  /** Called by Engine.open. */
  attach(raw: RawAccess): void {
    if (this.#raw !== undefined) throw new Error('PowerLossModel: already attached to an engine');
    this.#raw = raw;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** Unsynced keys that a power loss now would restore (for tests). */
  get pendingKeys(): number {
    return this.#undo.size;
  }

  /** One engine write, in turn; never settles once the power is lost. */
  write(ops: readonly RawOp[], sync: boolean): Promise<void> {
    return this.#serialize(async (raw) => {
      if (!sync) {
        const fresh = ops.filter((op) => !this.#undo.has(hex(op.key)));
        const keys = [...new Map(fresh.map((op) => [hex(op.key), op.key])).values()];
        const old = keys.length > 0 ? await raw.read(keys) : [];
        // Recorded before the write: if the write fails half-way nothing is lost by restoring.
        keys.forEach((key, i) => this.#undo.set(hex(key), { key, old: old[i] }));
        await raw.write(ops, false);
        this.#pendingBatches++;
        return;
      }
      await raw.write(ops, true);
      this.#undo.clear();
      this.#pendingBatches = 0;
    });
  }

  /** Any other mutation (Engine.clear): in turn, not journaled. */
  run<T>(f: () => Promise<T>): Promise<T> {
    return this.#serialize(() => f());
  }

  /**
   * The power goes off now: no later write happens; after the one in flight, the database is put
   * back to its state at the end of the last synced write, and the process is killed.
   */
  lose(): void {
    if (this.#lost) return;
    this.#lost = true;
    const raw = this.#raw;
    const restore = async (): Promise<void> => {
      const ops: RawOp[] = [...this.#undo.values()].map(({ key, old }) =>
        old === undefined ? { type: 'del', key } : { type: 'put', key, value: old },
      );
      process.stderr.write(`power loss: dropping ${this.#pendingBatches} unsynced batch(es) (${ops.length} keys restored)\n`);
      if (raw !== undefined && ops.length > 0) await raw.write(ops, true);
      this.#undo.clear();
    };
    // Runs after the write in flight (if any); queued writes behind it see #lost and never run.
    this.#chain = this.#chain.then(restore, restore).then(
      () => this.#die(),
      (err: unknown) => {
        process.stderr.write(`power loss: restoring failed: ${String(err)}\n`);
        this.#die();
      },
    );
  }

  #serialize<T>(f: (raw: RawAccess) => Promise<T>): Promise<T> {
    const raw = this.#raw;
    if (raw === undefined) return Promise.reject(new Error('PowerLossModel: not attached'));
    if (this.#lost) return never;
    // A write queued before the power went off but not started by then is skipped: it passes the
    // turn on at once (so the restore queued by lose() runs) and never settles for its caller.
    const run = this.#chain.then<T | typeof SKIPPED>(() => (this.#lost ? SKIPPED : f(raw)));
    // The chain continues whether this write failed or not; the caller sees the failure.
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run.then((v): Promise<T> | T => (v === SKIPPED ? never : v));
  }
}
