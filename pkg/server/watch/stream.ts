/**
 * One client watch stream (one gRPC bidi call): its watchers by ID, ID allocation, create/cancel,
 * progress requests, and its bounded outbox. The hub does the matching and the catch-up.
 */
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import { WatchCreateRequest_FilterType } from '../../proto/gen/etcdserverpb/rpc.js';
import { encodeResponse, watchIdField } from './encode.js';
import { Outbox, type ResponseSink } from './outbox.js';
import { normalizeRange } from './range.js';
import type { Watcher, WatcherOwner } from './watcher.js';

/** What a stream needs from its hub. */
export interface StreamHost {
  /** The store's current revision (header of created/canceled responses, "from now"). */
  currentRevision(): bigint;
  /** The last revision delivered to synced watchers: what a progress response may claim. */
  progressRevision(): bigint;
  header(revision: bigint): pb.ResponseHeader;
  /** Starts delivering to a new watcher (synced, or unsynced and queued for catch-up). */
  attach(w: Watcher): void;
  /** Stops delivering to a watcher (canceled or its stream closed). */
  detach(w: Watcher): void;
  /** The stream has room again: catch-up may continue. */
  kick(): void;
  /** The stream is gone. */
  closed(s: WatchStream): void;
  /** The stream has a progress request waiting for its watchers to sync. */
  progressDeferred(s: WatchStream): void;
}

/** etcd's watch ID meaning "server assigns one", and the ID of stream-wide responses. */
export const AUTO_WATCH_ID = 0n;
export const INVALID_WATCH_ID = -1n;

export const ERR_DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';
export const ERR_EMPTY_RANGE = 'mvcc: watcher range is empty';
export const ERR_COMPACTED = 'etcdserver: mvcc: required revision has been compacted';

export class WatchStream implements WatcherOwner {
  readonly #host: StreamHost;
  readonly #outbox: Outbox;
  readonly #watchers = new Map<bigint, Watcher>();
  #nextId = 0n;
  #progressPending = false;
  #closed = false;
  #roomWaiters: (() => void)[] = [];

  constructor(host: StreamHost, sink: ResponseSink, opts: { readonly maxPendingBytes: number }) {
    this.#host = host;
    this.#outbox = new Outbox(sink, {
      maxPendingBytes: opts.maxPendingBytes,
      onRoom: () => {
        for (const fn of this.#roomWaiters.splice(0)) fn();
        host.kick();
      },
    });
  }

  get watchers(): ReadonlyMap<bigint, Watcher> {
    return this.#watchers;
  }

  get pendingBytes(): number {
    return this.#outbox.pendingBytes;
  }

  /**
   * etcd's create: a negative start revision or an empty range is refused with a created+canceled
   * response carrying watch_id -1 and the reason; so is a client-chosen ID already in use. Otherwise a
   * `created` response with the ID (server-assigned IDs count up from 0 per stream, skipping IDs in
   * use) and the current revision comes first, then the watcher's events.
   */
  /** A created+canceled response with watch_id -1 and `reason` (a create the auth layer refused). */
  refuse(reason: string): void {
    if (this.#closed) return;
    this.#control({ watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: reason });
  }

  create(req: pb.WatchCreateRequest): void {
    if (this.#closed) return;
    const refuse = (reason: string): void =>
      this.#control({ watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: reason });
    if (req.startRevision < 0n) return refuse(ERR_COMPACTED);
    const range = normalizeRange(req.key, req.rangeEnd);
    if (range === null) return refuse(ERR_EMPTY_RANGE);
    let id = req.watchId;
    if (id === AUTO_WATCH_ID) {
      while (this.#watchers.has(this.#nextId)) this.#nextId++;
      id = this.#nextId++;
    } else if (this.#watchers.has(id)) {
      return refuse(ERR_DUPLICATE_ID);
    }
    const w: Watcher = {
      id,
      idField: watchIdField(id),
      range,
      prevKv: req.prevKv,
      noPut: req.filters.includes(WatchCreateRequest_FilterType.NOPUT),
      noDelete: req.filters.includes(WatchCreateRequest_FilterType.NODELETE),
      progressNotify: req.progressNotify,
      fragment: req.fragment,
      startRevision: req.startRevision,
      owner: this,
      state: 'unsynced',
      minRev: 0n,
      idle: true,
    };
    this.#watchers.set(id, w);
    this.#control({ watchId: id, created: true });
    this.#host.attach(w);
  }

  /** etcd's cancel: a `canceled` response for a known ID; an unknown ID is ignored silently. */
  cancel(id: bigint): void {
    const w = this.#watchers.get(id);
    if (w === undefined || this.#closed) return;
    this.#watchers.delete(id);
    this.#host.detach(w);
    this.#control({ watchId: id, canceled: true });
    this.watcherSynced();
  }

  /**
   * A progress request: ONE response with watch_id -1 and the revision every watcher of the stream
   * has been brought to, sent when all of them are synced (at once, or as soon as they are). Requests
   * made while one is pending are answered by that one. Like etcd, a stream without watchers gets none.
   */
  requestProgress(): void {
    if (this.#closed) return;
    this.#progressPending = true;
    this.watcherSynced();
    if (this.#progressPending) this.#host.progressDeferred(this);
  }

  /** Whether every live watcher is synced and past its start revision (etcd's progressIfSync). */
  allSynced(rev: bigint): boolean {
    for (const w of this.#watchers.values()) {
      if (w.state === 'compacted') continue;
      if (w.state !== 'synced' || rev < w.startRevision) return false;
    }
    return true;
  }

  watcherSynced(): void {
    if (!this.#progressPending || this.#closed) return;
    const rev = this.#host.progressRevision();
    if (!this.allSynced(rev)) return;
    this.#progressPending = false;
    if (this.#watchers.size === 0) return;
    this.#control({ watchId: INVALID_WATCH_ID });
  }

  get progressPending(): boolean {
    return this.#progressPending;
  }

  offer(responses: readonly Buffer[]): boolean {
    return this.#outbox.offer(responses);
  }

  push(responses: readonly Buffer[]): void {
    this.#outbox.push(responses);
  }

  hasRoom(): boolean {
    return this.#outbox.hasRoom();
  }

  /**
   * Runs `fn` now if the outbox is at most half full, else once it has drained to that point. The
   * service stops reading requests meanwhile, so a client that sends but does not read is pushed
   * back through gRPC flow control instead of growing the control responses without bound.
   */
  whenRoom(fn: () => void): void {
    if (this.#closed || this.#outbox.hasRoom()) fn();
    else this.#roomWaiters.push(fn);
  }

  /** The stream ended: every watcher goes, nothing more is sent. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#outbox.close();
    this.#roomWaiters = [];
    for (const w of this.#watchers.values()) this.#host.detach(w);
    this.#watchers.clear();
    this.#host.closed(this);
  }

  #control(r: Partial<pb.WatchResponse>): void {
    const rev = r.watchId === INVALID_WATCH_ID && !r.created ? this.#host.progressRevision() : this.#host.currentRevision();
    this.#outbox.push([encodeResponse({ header: this.#host.header(rev), ...r })]);
  }
}
