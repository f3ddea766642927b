/**
 * The raft log as the state machine sees it: the durable prefix in Storage followed by the Unstable
 * tail, plus the commit/applying/applied cursors. Invariant: applied <= applying <= committed <= last.
 */
import { Unstable } from './unstable.js';
import type { Entry, Snapshot, Storage, StorageErrorKind } from './types.js';
import { StorageError, entrySize } from './types.js';

/** Returns the longest prefix of ents whose total size is <= maxBytes, but at least one entry. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0] as Entry);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n] as Entry);
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export function payloadSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.byteLength;
  return s;
}

function storageCall<T>(f: () => T): T | StorageErrorKind {
  try {
    return f();
  } catch (e: unknown) {
    if (e instanceof StorageError) return e.kind;
    throw e;
  }
}

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  committed: number;
  /** Highest index handed out for applying (in an outstanding Ready). */
  applying: number;
  /** Highest index the caller reported applied (via advance()). */
  applied: number;
  readonly maxApplyingBytes: number;

  constructor(storage: Storage, applied: number, maxApplyingBytes: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
    this.maxApplyingBytes = maxApplyingBytes;
    if (applied > 0) {
      this.applied = applied;
      this.applying = applied;
    }
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i, or why it is not known. Valid range is [firstIndex-1, lastIndex]. */
  term(i: number): number | StorageErrorKind {
    const u = this.unstable.maybeTerm(i);
    if (u !== undefined) return u;
    if (i < this.firstIndex() - 1) return 'compacted';
    if (i > this.lastIndex()) return 'unavailable';
    return storageCall(() => this.storage.term(i));
  }

  termOrZero(i: number): number {
    const t = this.term(i);
    return typeof t === 'number' ? t : 0;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (typeof t !== 'number') throw new Error(`raft: unexpected error getting the last term: ${t}`);
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  isUpToDate(lastIndex: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lastIndex >= this.lastIndex());
  }

  /** Index of the first entry of ents that conflicts with (or extends) the log; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index <= index whose term is <= term, with that term: the leader and follower logs
   * cannot match above it, which lets a rejected append skip a whole term at a time.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i >= 0; i--) {
      const t = this.term(i);
      if (typeof t !== 'number') return [i, 0];
      if (t <= term) return [i, t];
    }
    return [0, 0];
  }

  /**
   * Appends ents after (index, logTerm) if the log matches there, truncating conflicting entries.
   * Returns the index of the last new entry, or undefined if the log does not match.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`raft: entry ${ci} conflicts with committed entry ${this.committed}`);
      this.append(ents.slice(ci - index - 1));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new Error(`raft: append at ${first.index} is below committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  commitTo(c: number): void {
    if (c > this.committed) {
      if (c > this.lastIndex()) throw new Error(`raft: commit ${c} is beyond last index ${this.lastIndex()}`);
      this.committed = c;
    }
  }

  /** Commits maxIndex if it is in `term` (Raft §5.4.2: only current-term entries commit by counting). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) {
      throw new Error(`raft: applied ${i} out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
  }

  acceptApplying(i: number): void {
    this.applying = i;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** Committed entries not yet handed out for applying, limited by maxApplyingBytes. */
  nextCommittedEnts(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    const r = this.slice(lo, hi, this.maxApplyingBytes);
    if (typeof r === 'string') throw new Error(`raft: committed entries [${lo},${hi}) unavailable: ${r}`);
    return r;
  }

  hasNextCommittedEnts(): boolean {
    return !this.hasPendingSnapshot() && this.applying < this.committed;
  }

  /** Entries in [lo, hi) up to maxBytes (at least one), or why they cannot be read. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | StorageErrorKind {
    if (lo > hi) throw new Error(`raft: invalid slice ${lo} > ${hi}`);
    if (lo < this.firstIndex()) return 'compacted';
    if (hi > this.lastIndex() + 1) throw new Error(`raft: slice [${lo},${hi}) out of bound, last ${this.lastIndex()}`);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      const stop = Math.min(hi, off);
      const stored = storageCall(() => this.storage.entries(lo, stop, maxBytes));
      if (typeof stored === 'string') return stored;
      if (stored.length < stop - lo) return stored;
      ents = stored;
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxBytes);
  }

  snapshot(): Snapshot | StorageErrorKind {
    if (this.unstable.snapshot !== undefined) return this.unstable.snapshot;
    return storageCall(() => this.storage.snapshot());
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Last index known durable (below the unstable tail). */
  persistedLastIndex(): number {
    return this.unstable.offset - 1;
  }
}
