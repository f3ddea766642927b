/**
 * Storage kept in memory, for tests and the deterministic simulation. Holds the same things the
 * RocksDB-backed WAL does: a snapshot (metadata + opaque data), the entries after it, the hard state
 * and the conf state the node restarts with.
 */
import { limitSize } from './log.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot, Storage } from './types.js';
import { EntryType, NONE, StorageError } from './types.js';

export type MemoryStorageResult = 'ok' | 'compacted' | 'snapshot-out-of-date';

const EMPTY = new Uint8Array(0);

export function makeConfState(fields: Partial<ConfState>): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...fields };
}

export class MemoryStorage implements Storage {
  #hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  #snapshot: Snapshot;
  #confState: ConfState;
  /** ents[0] is a dummy standing for the snapshot's last entry (index and term only). */
  #ents: Entry[];

  /** A fresh storage; `voters`/`learners` make up the initial configuration of a new cluster. */
  constructor(init: { voters?: readonly NodeId[]; learners?: readonly NodeId[] } = {}) {
    this.#confState = makeConfState({ voters: [...(init.voters ?? [])], learners: [...(init.learners ?? [])] });
    this.#snapshot = { metadata: { index: 0, term: 0, confState: this.#confState }, data: EMPTY };
    this.#ents = [{ index: 0, term: 0, type: EntryType.Normal, data: EMPTY }];
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#confState };
  }

  hardState(): HardState {
    return this.#hardState;
  }

  setHardState(hs: HardState): void {
    this.#hardState = hs;
  }

  /** Records the configuration as of the applied index, for restarts. */
  setConfState(cs: ConfState): void {
    this.#confState = cs;
  }

  #offset(): number {
    return (this.#ents[0] as Entry).index;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.#offset();
    if (lo <= off) throw new StorageError('compacted');
    if (hi > this.lastIndex() + 1) throw new StorageError('unavailable');
    return limitSize(this.#ents.slice(lo - off, hi - off), maxBytes);
  }

  term(i: number): number {
    const off = this.#offset();
    if (i < off) throw new StorageError('compacted');
    const e = this.#ents[i - off];
    if (e === undefined) throw new StorageError('unavailable');
    return e.term;
  }

  firstIndex(): number {
    return this.#offset() + 1;
  }

  lastIndex(): number {
    return this.#offset() + this.#ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /** Replaces everything with the snapshot (a follower installing one from the leader). */
  applySnapshot(snap: Snapshot): MemoryStorageResult {
    if (snap.metadata.index <= this.#snapshot.metadata.index) return 'snapshot-out-of-date';
    this.#snapshot = snap;
    this.#confState = snap.metadata.confState;
    this.#ents = [{ index: snap.metadata.index, term: snap.metadata.term, type: EntryType.Normal, data: EMPTY }];
    return 'ok';
  }

  /** Makes a snapshot at applied index i (the log is not compacted; call compact for that). */
  createSnapshot(i: number, opts: { confState?: ConfState; data?: Uint8Array } = {}): MemoryStorageResult {
    if (i <= this.#snapshot.metadata.index) return 'snapshot-out-of-date';
    if (i > this.lastIndex()) throw new Error(`memory storage: snapshot ${i} beyond last index ${this.lastIndex()}`);
    this.#snapshot = {
      metadata: { index: i, term: this.term(i), confState: opts.confState ?? this.#confState },
      data: opts.data ?? EMPTY,
    };
    return 'ok';
  }

  /** Drops entries before i; entry i becomes the dummy. */
  compact(i: number): MemoryStorageResult {
    const off = this.#offset();
    if (i <= off) return 'compacted';
    if (i > this.lastIndex()) throw new Error(`memory storage: compact ${i} beyond last index ${this.lastIndex()}`);
    const dummy = this.#ents[i - off] as Entry;
    this.#ents = [{ index: dummy.index, term: dummy.term, type: EntryType.Normal, data: EMPTY }, ...this.#ents.slice(i - off + 1)];
    return 'ok';
  }

  /** Appends entries, replacing any conflicting suffix. Entries at or below the snapshot are skipped. */
  append(entries: readonly Entry[]): void {
    const firstNew = entries[0];
    const lastNew = entries[entries.length - 1];
    if (firstNew === undefined || lastNew === undefined) return;
    const first = this.firstIndex();
    if (lastNew.index < first) return;
    const ents = first > firstNew.index ? entries.slice(first - firstNew.index) : entries;
    const head = ents[0] as Entry;
    const at = head.index - this.#offset();
    if (at > this.#ents.length) {
      throw new Error(`memory storage: missing log entries (last ${this.lastIndex()}, appending at ${head.index})`);
    }
    if (at < this.#ents.length) this.#ents = this.#ents.slice(0, at);
    for (const e of ents) this.#ents.push(e);
  }
}
