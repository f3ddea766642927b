/**
 * The node loop: drives one RawNode. Inputs (ticks, peer messages, proposals, read requests) are fed
 * synchronously; a single async worker takes each Ready and handles it in raft's order:
 *
 *   send Ready.messages (the leader's appends may leave before its own fsync)
 *   → install a received snapshot (state machine first, then the log)
 *   → persist entries + hard state in ONE synced WAL batch (group commit: whatever queued meanwhile);
 *     meanwhile the state machine prefetches what the committed entries will read. A Ready that only
 *     moves the commit index (raft's mustSync false) writes nothing: see the comment in #work
 *   → send Ready.messagesAfterPersist (votes and append responses only after fsync)
 *   → apply committed entries (effects + applied index in one engine batch; consecutive KV writes share one)
 *   (when no message waits for the persist — a sole member, a leader — the log batch and the first
 *   apply batch are ONE synced engine write instead: see #work)
 *   → hand read states to the ReadIndex batcher → advance.
 *
 * While one Ready is being handled, new inputs accumulate inside raft and form the next Ready, which is
 * how many proposals share one fsync. The worker never runs twice at once.
 */
import {
  RawNode,
  type ConfChange,
  type Entry,
  type Message,
  type RaftConfig,
  type ReadState,
  type Snapshot,
  type SoftState,
  type StepResult,
  type Status,
} from '../raft/index.js';
import type { Wal } from '../storage/wal/index.js';
import type { BatchOp } from '../storage/engine/index.js';
import type { Logger } from '../log/index.js';
import { failpoint } from '../failpoint/index.js';

export interface Transport {
  /** Best effort, non-blocking; failures are reported back through reportUnreachable. */
  send(msgs: readonly Message[]): void;
}

export interface StateMachine {
  /** Applies committed entries in order; resolves once their effects are durable in the engine batch. */
  apply(entries: readonly Entry[], node: RaftNode): Promise<void>;
  /** Replaces the state with the snapshot's (received from the leader). */
  installSnapshot(snap: Snapshot): Promise<void>;
  /**
   * Optional read-only warm-up for entries about to be applied (e.g. looking up their keys), run
   * while their WAL batch is fsynced. Must not change state and must not reject.
   */
  prefetch?(entries: readonly Entry[]): Promise<void>;
  /**
   * Optional: apply() where the first engine write also carries the Ready's log batch (`logWrite`
   * writes the log's ops plus the given ones in one synced batch; called once, at the latest before
   * this resolves). Used when nothing needs to leave between persisting and applying.
   */
  applyJoined?(entries: readonly Entry[], node: RaftNode, logWrite: (ops: readonly BatchOp[]) => Promise<void>): Promise<void>;
}

export interface RaftNodeOptions {
  readonly raft: Omit<RaftConfig, 'storage'>;
  readonly wal: Wal;
  readonly transport: Transport;
  readonly stateMachine: StateMachine;
  readonly tickMs: number;
  readonly logger: Logger;
  readonly onSoftState?: (s: SoftState, term: number) => void;
  readonly onReadState?: (rs: ReadState) => void;
  /** Called after each batch of entries is applied, with the new applied index. */
  readonly onApplied?: (applied: number) => void;
  /** Called when the worker fails irrecoverably (a WAL or apply error): the process must stop. */
  readonly onFatal: (err: unknown) => void;
  /** DEFECT for the robustness mutation tests only (MemberTestHooks.ackBeforeFsync): never fsync the log. */
  readonly unsyncedLog?: boolean;
}

export class RaftNode {
  readonly #rn: RawNode;
  readonly #o: RaftNodeOptions;
  #ticker: NodeJS.Timeout | undefined;
  #working = false;
  #scheduled = false;
  #stopped = false;
  #failed = false;
  #idle: (() => void)[] = [];
  /** Callers of exclusive() waiting for, or holding, the loop (one at a time). */
  #exclusive: Promise<void> = Promise.resolve();
  #held = false;
  #wantHold = 0;

  constructor(opts: RaftNodeOptions) {
    this.#o = opts;
    this.#rn = new RawNode({ ...opts.raft, storage: opts.wal });
  }

  get id(): bigint {
    return this.#rn.id;
  }

  start(): void {
    this.#ticker = setInterval(() => {
      this.#rn.tick();
      this.#kick();
    }, this.#o.tickMs);
    this.#kick();
  }

  /** Stops ticking and waits for the Ready being handled to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    if (this.#working) await new Promise<void>((r) => this.#idle.push(r));
  }

  status(): Status {
    return this.#rn.status();
  }

  commitIndex(): number {
    return this.#rn.commitIndex();
  }

  step(m: Message): StepResult {
    const r = this.#rn.step(m);
    this.#kick();
    return r;
  }

  propose(data: Uint8Array): StepResult {
    const r = this.#rn.propose(data);
    this.#kick();
    return r;
  }

  proposeConfChange(cc: ConfChange): StepResult {
    const r = this.#rn.proposeConfChange(cc);
    this.#kick();
    return r;
  }

  readIndex(ctx: Uint8Array): StepResult {
    const r = this.#rn.readIndex(ctx);
    this.#kick();
    return r;
  }

  campaign(): void {
    this.#rn.campaign();
    this.#kick();
  }

  transferLeader(to: bigint): void {
    this.#rn.transferLeader(to);
    this.#kick();
  }

  applyConfChange(cc: ConfChange): ReturnType<RawNode['applyConfChange']> {
    return this.#rn.applyConfChange(cc);
  }

  reportUnreachable(id: bigint): void {
    this.#rn.reportUnreachable(id);
    this.#kick();
  }

  reportSnapshot(id: bigint, ok: boolean): void {
    this.#rn.reportSnapshot(id, ok);
    this.#kick();
  }

  /**
   * Runs `fn` between two Readies: no Ready is being handled while it runs (the last one was applied
   * and advanced), so the state machine is exactly at raft's applied index and nothing of the loop
   * writes. Used to take a consistent view of the state for a snapshot, and to install one. Inputs
   * (step, propose, ...) stay accepted meanwhile; they form the next Ready.
   */
  async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    this.#wantHold++;
    const prev = this.#exclusive;
    let release: () => void = () => {};
    this.#exclusive = new Promise<void>((r) => (release = r));
    try {
      await prev;
      while (this.#working) await new Promise<void>((r) => this.#idle.push(r));
      this.#held = true;
      return await fn();
    } finally {
      this.#held = false;
      this.#wantHold--;
      release();
      this.#kick();
    }
  }

  /**
   * Starts the worker once the current callback has finished (process.nextTick): inputs fed by the
   * same callback (every proposal of one socket read) share one Ready, and an idle member starts
   * persisting a lone proposal before the rest of the event-loop turn (other sockets' reads, socket
   * writes) instead of after it. While the worker runs, inputs accumulate into the next Ready.
   */
  #kick(): void {
    if (this.#working || this.#scheduled || this.#stopped || this.#failed || this.#held) return;
    this.#scheduled = true;
    process.nextTick(() => {
      this.#scheduled = false;
      void this.#work();
    });
  }

  async #work(): Promise<void> {
    if (this.#working || this.#failed || this.#held) return;
    this.#working = true;
    try {
      while (!this.#stopped && this.#wantHold === 0 && this.#rn.hasReady()) {
        const rd = this.#rn.ready();
        if (rd.softState !== undefined) this.#o.onSoftState?.(rd.softState, this.#rn.status().term);
        if (rd.messages.length > 0) {
          failpoint('raft-before-send');
          this.#o.transport.send(rd.messages);
        }
        if (rd.snapshot !== undefined) await this.#o.stateMachine.installSnapshot(rd.snapshot);
        // Reads for the committed entries overlap the fsync below (the previous Ready is fully applied).
        // With nothing to apply (a lone proposal on an idle member), the entries being persisted are
        // warmed instead: they are applied next, and the lookup would otherwise sit between their
        // commit and their apply. (The MVCC cache drops a warm-up that an apply overtook.)
        const warm =
          rd.committedEntries.length > 0
            ? this.#o.stateMachine.prefetch?.(rd.committedEntries)
            : rd.entries.length > 0
              ? this.#o.stateMachine.prefetch?.(rd.entries)
              : undefined;
        // A Ready whose only durable change is the commit index (raft's mustSync false) writes nothing:
        // the commit index is volatile in raft and reaches the WAL with the next entries or vote; a
        // restart starts it at the durable applied index (pkg/raft/raft.ts). etcd writes it unsynced,
        // a buffered file write for etcd but a RocksDB write through the thread pool for berth, on
        // every member for every commit, queued in front of the apply batch that answers the client.
        const update = {
          entries: rd.entries,
          ...(rd.hardState !== undefined ? { hardState: rd.hardState } : {}),
          ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot } : {}),
          sync: this.#o.unsyncedLog !== true,
        };
        // One engine write for the log and the apply when nothing must leave in between (a sole
        // member, whose entries commit as they are persisted; a leader, whose acks arrive later): the
        // apply's effects ride in the log's synced batch instead of a second write after it. Atomic,
        // so the effects are never durable without their entries.
        const sm = this.#o.stateMachine;
        if (rd.mustSync && rd.snapshot === undefined && rd.messagesAfterPersist.length === 0 && rd.committedEntries.length > 0 && sm.applyJoined !== undefined) {
          const staged = this.#o.wal.stage(update);
          await warm;
          await sm.applyJoined(rd.committedEntries, this, (ops) => this.#o.wal.write(staged, ops));
          if (!staged.written) await this.#o.wal.write(staged);
          const last = rd.committedEntries[rd.committedEntries.length - 1] as Entry;
          this.#o.onApplied?.(last.index);
          for (const rs of rd.readStates) this.#o.onReadState?.(rs);
          this.#rn.advance();
          continue;
        }
        if (rd.mustSync) await this.#o.wal.save(update);
        if (rd.messagesAfterPersist.length > 0) this.#o.transport.send(rd.messagesAfterPersist);
        if (rd.committedEntries.length > 0) {
          await warm;
          await this.#o.stateMachine.apply(rd.committedEntries, this);
          const last = rd.committedEntries[rd.committedEntries.length - 1] as Entry;
          this.#o.onApplied?.(last.index);
        }
        for (const rs of rd.readStates) this.#o.onReadState?.(rs);
        this.#rn.advance();
      }
    } catch (err) {
      this.#failed = true;
      this.#o.logger.error({ err }, 'raft node loop failed');
      this.#o.onFatal(err);
    } finally {
      this.#working = false;
      for (const r of this.#idle.splice(0)) r();
    }
    if (!this.#stopped && !this.#failed && this.#wantHold === 0 && this.#rn.hasReady()) this.#kick();
  }
}
