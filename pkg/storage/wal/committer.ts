/**
 * Committer: group commit of synced engine batches. Batches queued while a write is in flight go out
 * together as ONE synced engine write, in queue order, so a crash leaves a prefix of the queue. The
 * first failed write poisons the committer: that group and everything queued later reject with it.
 */
import type { BatchOp, Engine } from '../engine/index.js';
import { WalError } from './errors.js';
import { failpoint } from './failpoint.js';

/** Soft bound on one group-committed engine batch. */
const MAX_GROUP_BYTES = 32 << 20;

/** One group write: how long the engine write took (with its fsync when `synced`), entries and record bytes. */
export interface WriteInfo {
  readonly seconds: number;
  readonly entries: number;
  readonly bytes: number;
  readonly synced: boolean;
}

interface Queued {
  readonly ops: BatchOp[];
  readonly entries: number;
  readonly bytes: number;
  readonly sync: boolean;
  readonly resolve: () => void;
  readonly reject: (err: WalError) => void;
}

export class Committer {
  readonly #engine: Engine;
  readonly #onWrite: ((info: WriteInfo) => void) | undefined;
  readonly #queue: Queued[] = [];
  /** The running #drain(), or null when the queue is idle. */
  #writer: Promise<void> | null = null;
  #failed: WalError | null = null;

  constructor(engine: Engine, opts: { readonly onWrite?: ((info: WriteInfo) => void) | undefined } = {}) {
    this.#engine = engine;
    this.#onWrite = opts.onWrite;
  }

  /** The error that poisoned the committer, if any. */
  get failed(): WalError | null {
    return this.#failed;
  }

  /**
   * Resolves once `ops` (and everything queued before) is fsynced — or, with `sync: false`, written
   * (a group is fsynced if any of its batches asks for it; an fsync covers every earlier write);
   * `entries`/`bytes` only feed onWrite. An empty `ops` is a barrier. Rejects with WalError 'failed'
   * once any write failed.
   */
  commit(
    ops: BatchOp[],
    info: { readonly entries: number; readonly bytes: number; readonly sync?: boolean } = { entries: 0, bytes: 0 },
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, entries: info.entries, bytes: info.bytes, sync: info.sync ?? true, resolve, reject });
      if (this.#writer === null) this.#writer = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    // Ends when the queue is empty; every round removes at least one queued batch.
    while (this.#queue.length > 0) {
      let take = 0;
      let groupBytes = 0;
      while (take < this.#queue.length && (take === 0 || groupBytes < MAX_GROUP_BYTES)) {
        groupBytes += (this.#queue[take] as Queued).bytes;
        take++;
      }
      const group = this.#queue.splice(0, take);
      const failed = this.#failed ?? (await this.#write(group, groupBytes));
      for (const q of group) {
        if (failed === null) q.resolve();
        else q.reject(failed);
      }
    }
    this.#writer = null;
  }

  /** Writes one group; returns the WalError that poisoned the committer, or null. */
  async #write(group: readonly Queued[], bytes: number): Promise<WalError | null> {
    const ops = group.length === 1 ? (group[0] as Queued).ops : group.flatMap((q) => q.ops);
    if (ops.length === 0) return null;
    const sync = group.some((q) => q.sync);
    const t0 = process.hrtime.bigint();
    try {
      if (!sync) {
        await this.#engine.write(ops);
      } else {
        failpoint('wal-before-sync');
        await this.#engine.write(ops, { sync: true });
        failpoint('wal-after-sync');
      }
    } catch (err) {
      this.#failed = new WalError('failed', err instanceof Error ? err.message : String(err), { cause: err });
      return this.#failed;
    }
    if (this.#onWrite !== undefined) {
      const entries = group.length === 1 ? (group[0] as Queued).entries : group.reduce((n, q) => n + q.entries, 0);
      this.#onWrite({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, entries, bytes, synced: sync });
    }
    return null;
  }
}
