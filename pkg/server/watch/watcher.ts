/**
 * One watcher: what it watches, how it wants events, and where it stands in history.
 */
import type { KeyRange } from './range.js';

/**
 * synced: receives live events as they are published. unsynced: behind, catching up from storage.
 * compacted: its start fell below the compaction revision; kept (like etcd) until the client cancels
 * it. canceled: gone.
 */
export type WatcherState = 'synced' | 'unsynced' | 'compacted' | 'canceled';

/** What a watcher's stream offers the hub. */
export interface WatcherOwner {
  /** Queues responses unless the stream is over its byte budget; false = nothing queued. */
  offer(responses: readonly Buffer[]): boolean;
  /** Queues responses regardless of the budget (the caller checked hasRoom or they are tiny). */
  push(responses: readonly Buffer[]): void;
  /** True when the stream has drained enough for more catch-up output. */
  hasRoom(): boolean;
  /** A watcher of this stream became synced (a deferred progress response may now be due). */
  watcherSynced(): void;
}

export interface Watcher {
  readonly id: bigint;
  /** The encoded watch_id field, shared by every response to this watcher. */
  readonly idField: Buffer;
  readonly range: KeyRange;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  /** The requested start revision (0 = from now). */
  readonly startRevision: bigint;
  readonly owner: WatcherOwner;
  state: WatcherState;
  /** The lowest revision this watcher has not been sent yet; live events below it are duplicates. */
  minRev: bigint;
  /** progress_notify bookkeeping: true when no events were sent since the last tick. */
  idle: boolean;
}

/** Whether etcd's filters let event type `deleted` through to `w`. */
export function passes(w: Watcher, deleted: boolean): boolean {
  return deleted ? !w.noDelete : !w.noPut;
}
