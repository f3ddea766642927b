/**
 * The outgoing side of one watch stream, bounded in bytes.
 *
 * Every response is handed to the transport at once (order is the transport's order) and counted
 * as pending until the transport reports it taken (for gRPC: written to the HTTP/2 stream, which
 * stops accepting when the client does not read and its flow-control window is full). `offer`
 * refuses a response that would take the pending bytes over the budget, so a client that does not
 * read costs at most the budget plus one response; the hub then moves its watchers to unsynced, to
 * catch up from storage once the stream has drained to half the budget.
 */
import { failpoint } from '../../failpoint/index.js';

export interface ResponseSink {
  /** Sends one encoded WatchResponse; `done` runs once the transport has taken it. */
  write(bytes: Buffer, done: () => void): void;
}

export class Outbox {
  readonly #sink: ResponseSink;
  readonly #budget: number;
  readonly #onRoom: () => void;
  #pending = 0;
  #wantRoom = false;
  #closed = false;

  constructor(sink: ResponseSink, opts: { readonly maxPendingBytes: number; readonly onRoom: () => void }) {
    this.#sink = sink;
    this.#budget = opts.maxPendingBytes;
    this.#onRoom = opts.onRoom;
  }

  get pendingBytes(): number {
    return this.#pending;
  }

  hasRoom(): boolean {
    const room = this.#pending <= this.#budget / 2;
    if (!room) this.#wantRoom = true;
    return room;
  }

  /** Sends unless that would exceed the budget while something is already pending. */
  offer(responses: readonly Buffer[]): boolean {
    if (this.#closed) return true;
    const bytes = responses.reduce((n, b) => n + b.length, 0);
    if (this.#pending > 0 && this.#pending + bytes > this.#budget) {
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
      // The callback keeps the length, not the buffer: grpc-js queues a framed copy, so a queued
      // response need not also hold our encoding.
      this.#sink.write(b, () => this.#taken(n));
    }
  }

  close(): void {
    this.#closed = true;
  }

  #taken(n: number): void {
    this.#pending -= n;
    if (this.#closed || !this.#wantRoom || this.#pending > this.#budget / 2) return;
    this.#wantRoom = false;
    this.#onRoom();
  }
}
