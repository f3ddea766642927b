/**
 * Log compaction policy (etcd's --snapshot-count): every `snapshotCount` applied entries, record a
 * raft snapshot at the applied index with raft's current ConfState, then compact the log keeping
 * `catchupEntries` entries for slow followers. The retained log is also mirrored in memory (see
 * wal.ts), so it is bounded in bytes too, which etcd does not do: once it holds more than
 * `maxLogBytes`, a snapshot is taken early, and the kept catch-up tail is cut to `catchupBytes`
 * (large Txns would otherwise keep hundreds of MB of log in memory for --snapshot-count entries). The snapshot's data is a small descriptor only: the
 * state itself is streamed on demand (see snapshot/source.ts), so taking a snapshot costs one synced
 * WAL write.
 *
 * Called from the node loop right after a batch of entries is applied (before advance), when raft's
 * configuration is exactly the one at `applied`; the WAL's in-memory view changes synchronously, the
 * writes are queued in order behind the Ready that carried the entries. Applying batches are not
 * synced, but they resolved before this runs, and the synced snapshot write that follows makes them
 * durable (one RocksDB WAL): the log is compacted only below a durable applied index.
 */
import type { ConfState } from '../../raft/index.js';
import type { Wal } from '../../storage/wal/index.js';
import type { Logger } from '../../log/index.js';

export interface SnapshotterOptions {
  readonly wal: Wal;
  readonly snapshotCount: number;
  readonly catchupEntries: number;
  /** Take a snapshot early once the retained log holds more than this (raft entry bytes). */
  readonly maxLogBytes?: number;
  /** The catch-up tail kept after compaction holds at most this many bytes. */
  readonly catchupBytes?: number;
  /** Raft's configuration now (= at the applied index, see above). */
  readonly confState: () => ConfState;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

export const SNAPSHOT_DESCRIPTOR = Buffer.from('berth-state-on-demand/1');
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CATCHUP_BYTES = 16 * 1024 * 1024;

export class Snapshotter {
  readonly #o: SnapshotterOptions;
  #last: number;
  #busy = false;

  constructor(o: SnapshotterOptions) {
    this.#o = o;
    this.#last = o.wal.snapshot().metadata.index;
  }

  /** The node loop applied entries up to `applied`. */
  onApplied(applied: number): void {
    if (this.#busy) return;
    const wal = this.#o.wal;
    const byCount = applied - this.#last >= Math.max(1, this.#o.snapshotCount);
    if (!byCount && wal.stats().cachedBytes <= (this.#o.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES)) return;
    if (applied <= wal.snapshot().metadata.index || applied > wal.lastIndex()) return;
    this.#busy = true;
    this.#last = applied;
    const confState = this.#o.confState();
    const created = wal.createSnapshot(applied, { confState, data: SNAPSHOT_DESCRIPTOR });
    void created
      .then(async (snap) => {
        this.#o.logger.info({ index: snap.metadata.index, term: snap.metadata.term }, 'saved snapshot');
        const byBytes = wal.tailStart(this.#o.catchupBytes ?? DEFAULT_CATCHUP_BYTES) - 1;
        const to = Math.min(applied, Math.max(applied - this.#o.catchupEntries, byBytes));
        if (to >= wal.firstIndex() && to <= wal.snapshot().metadata.index) {
          await wal.compact(to);
          this.#o.logger.info({ 'compact-index': to }, 'compacted raft logs');
        }
      })
      .catch((err: unknown) => this.#o.logger.warn({ err, index: applied }, 'failed to create or compact a raft snapshot'))
      .finally(() => {
        this.#busy = false;
      });
  }

  /** A snapshot received from the leader was installed at `index`. */
  onInstalled(index: number): void {
    if (index > this.#last) this.#last = index;
  }
}
