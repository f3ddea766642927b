/**
 * The outgoing side of one watch stream, bounded in bytes and in responses.
 *
 * Every response is handed to the transport at once (order is the transport's order) and counted
 * as pending until the transport reports it taken (for gRPC: written to the HTTP/2 stream, which
 * stops accepting when the client does not read and its flow-control window is full). `offer`
 * refuses a response that would take the pending bytes or the pending response count over its
 * budget, so a client that does not read costs at most the budget plus one response; the hub then
 * moves its watchers to unsynced, to catch up from storage once the stream has drained to half of
 * both budgets.
 *
 * Why a count as well as bytes: a queued response costs far more than its encoding. grpc-js frames
 * each one into a copy, and node's writable stream and http2 keep per-write objects and callbacks:
 * measured ~600 bytes of JS heap per queued response besides the two ~200-byte buffers of a small
 * event (bench row watch-fanout, 10 streams x 100 watchers). With bytes alone, 4 MiB of small events
 * was ~20,000 queued responses per stream, ~190 MiB of heap and buffers over 10 streams, and as
 * many seconds of queueing latency. Catch-up sends one response per watcher for many revisions.
 */
import { failpoint } from '../../failpoint/index.js';

export interface ResponseSink {
  /** Sends one encoded WatchResponse; `done` runs once the transport has taken it. */
  write(bytes: Buffer, done: () => void): void;
}

export class Outbox {
  readonly #sink: ResponseSink;
  readonly #budget: number;
  readonly #maxResponses: number;
  readonly #onRoom: () => void;
  #pending = 0;
  #pendingResponses = 0;
  #wantRoom = false;
  #closed = false;

  constructor(sink: ResponseSink, opts: { readonly maxPendingBytes: number; readonly maxPendingResponses?: number; readonly onRoom: () => void }) {
    this.#sink = sink;
    this.#budget = opts.maxPendingBytes;
    this.#maxResponses = opts.maxPendingResponses ?? Infinity;
    this.#onRoom = opts.onRoom;
  }

  get pendingBytes(): number {
    return this.#pending;
  }

  get pendingResponses(): number {
    return this.#pendingResponses;
  }

  hasRoom(): boolean {
    const room = this.#halfEmpty();
    if (!room) this.#wantRoom = true;
    return room;
  }

  /** Sends unless that would exceed the budget while something is already pending. */
  offer(responses: readonly Buffer[]): boolean {
    if (this.#closed) return true;
    const bytes = responses.reduce((n, b) => n + b.length, 0);
    const over = this.#pending + bytes > this.#budget || this.#pendingResponses + responses.length > this.#maxResponses;
    if (this.#pendingResponses > 0 && over) {
      this.#wantRoom = true;
      return false;
    }
    this.push(responses);
    return true;
  }

  push(responses: readonly Buffer[]): void {
    if (this.#closed) return;
    failpoint('watch-before-send');
    for (const b of responses) {
      const n = b.length;
      this.#pending += n;
      this.#pendingResponses++;
      // the callback keeps the length, not the buffer (the transport holds its own framed copy)
      this.#sink.write(b, () => this.#taken(n));
    }
  }

  close(): void {
    this.#closed = true;
  }

  #halfEmpty(): boolean {
    return this.#pending <= this.#budget / 2 && this.#pendingResponses <= this.#maxResponses / 2;
  }

  #taken(n: number): void {
    this.#pending -= n;
    this.#pendingResponses--;
    if (this.#closed || !this.#wantRoom || !this.#halfEmpty()) return;
    this.#wantRoom = false;
    this.#onRoom();
  }
}
