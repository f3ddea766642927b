/**
 * Cursor: an explicitly driven RocksDB iterator over one implicit snapshot, with seek. For access
 * patterns that jump around a consistent view, e.g. MVCC's "one seek per key" reads of the key index
 * at a revision. Engine.iterate/iterateChunks are built on it.
 */
import { native, type NativeIterator } from './binding.js';
import { EngineError, fromNative } from './errors.js';

export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export class Cursor {
  readonly #it: NativeIterator;
  readonly #engineOpen: () => boolean;
  readonly #values: boolean;
  #busy = false;
  #finished = false;
  #closed = false;

  /** @internal Created by Engine.cursor. */
  constructor(it: NativeIterator, opts: { readonly engineOpen: () => boolean; readonly values: boolean }) {
    this.#it = it;
    this.#engineOpen = opts.engineOpen;
    this.#values = opts.values;
  }

  /**
   * The next entries in iteration order: up to 1000, or about the cursor's chunkBytes; right after
   * open or seek() exactly one. An empty array means the end of the range (a later seek() may move
   * back into it). Rejects with 'closed' if the cursor or the engine was closed.
   */
  async next(): Promise<KeyValue[]> {
    if (this.#closed || !this.#engineOpen()) throw new EngineError('closed');
    if (this.#busy) throw new Error('engine: cursor.next() called while another next() is pending');
    if (this.#finished) return [];
    this.#busy = true;
    try {
      const { entries, finished } = await new Promise<{ entries: Buffer[]; finished: boolean }>((resolve, reject) => {
        native.iterator_next(this.#it, (err, entries, finished) => {
          if (err !== null) reject(this.#engineOpen() ? fromNative(err) : new EngineError('closed', err.message));
          else resolve({ entries: entries ?? [], finished });
        });
      });
      this.#finished = finished;
      const chunk: KeyValue[] = new Array<KeyValue>(entries.length >> 1);
      // The binding returns [v_n, k_n, ..., v_1, k_1].
      for (let i = entries.length - 1, j = 0; i > 0; i -= 2, j++) {
        chunk[j] = { key: entries[i] as Buffer, value: this.#values ? (entries[i - 1] as Buffer) : EMPTY };
      }
      return chunk;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Repositions at the first key >= target (reverse cursors: the last key <= target), clamped to the
   * cursor's bounds; the next next() starts there. Synchronous: RocksDB seeks on the calling thread,
   * usually from the block cache, but a miss reads the disk on the event loop. Throws if a next() is
   * pending (the binding would race with itself).
   */
  seek(target: Uint8Array): void {
    if (this.#closed || !this.#engineOpen()) throw new EngineError('closed');
    if (this.#busy) throw new Error('engine: cursor.seek() called while next() is pending');
    if (target.byteLength === 0) throw new RangeError('engine: empty seek target');
    native.iterator_seek(this.#it, target);
    this.#finished = false;
  }

  /** Releases the snapshot. Idempotent; a no-op once the engine closed (that ended it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#engineOpen()) return;
    await new Promise<void>((resolve) => native.iterator_end(this.#it, () => resolve()));
  }
}
