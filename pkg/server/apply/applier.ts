/**
 * Applies committed raft entries to the state machine, one entry at a time, in log order.
 *
 * Per entry, ONE engine batch carries the entry's effects (MVCC write, lease/auth/membership records)
 * and the applied index. Entries at or below the durable applied index are replays after a restart:
 * their state effects are skipped, but conf changes are still fed to raft, which rebuilds its
 * configuration from the WAL snapshot onwards. Entries without state effects (the leader's no-op, a
 * rejected request) write nothing: replaying them is harmless.
 *
 * Commands are dispatched by their `request` case to a handler; handlers are plain functions that
 * compute effects without writing (see CommandHandler).
 */
import { decodeConfChange, EntryType, type ConfChange, type Entry, type Snapshot } from '../../raft/index.js';
import { Command } from '../../proto/gen/berthpb/command.js';
import type { BatchOp, Engine } from '../../storage/engine/index.js';
import type { MvccStore, Prepared } from '../../storage/mvcc/index.js';
import { berthError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { RaftNode, StateMachine } from '../raft-node.js';
import type { Outcome, WaitRegistry } from '../wait.js';
import { appliedIndexOp, type AppliedIndex } from './applied-index.js';

export type CommandCase = NonNullable<Command['request']>['$case'];

export interface ApplyContext {
  readonly index: number;
  readonly term: number;
}

/** What applying one command does; nothing is written until the applier commits it. */
export interface CommandEffect {
  readonly outcome: Outcome<unknown>;
  /** An MVCC write prepared by the handler (at most one per entry). */
  readonly mvcc?: Prepared<unknown>;
  /** Other engine ops of the entry (lease, auth, alarm records). */
  readonly ops?: readonly BatchOp[];
  /** In-memory effects to publish once the batch is durable (watch events, lessor state). */
  readonly after?: () => void;
}

export type CommandHandler = (cmd: Command, ctx: ApplyContext) => Promise<CommandEffect>;

/** Applies a conf change's member-record effects; returns the ops of the entry. */
export type ConfChangeHandler = (cc: ConfChange, ctx: ApplyContext & { readonly replay: boolean }) => {
  readonly ops: readonly BatchOp[];
  readonly after?: () => void;
};

export interface ApplierOptions {
  readonly engine: Engine;
  readonly mvcc: MvccStore;
  readonly waits: WaitRegistry;
  readonly logger: Logger;
  readonly applied: AppliedIndex;
  readonly handlers: Partial<Record<CommandCase, CommandHandler>>;
  readonly onConfChange: ConfChangeHandler;
  /** Replaces the whole state with a snapshot's. */
  readonly installSnapshot: (snap: Snapshot) => Promise<void>;
}

export class Applier implements StateMachine {
  readonly #o: ApplierOptions;
  /** Highest index applied (durable or not: see the header comment). */
  #applied: number;
  #durable: number;
  #term: number;

  constructor(opts: ApplierOptions) {
    this.#o = opts;
    this.#applied = opts.applied.index;
    this.#durable = opts.applied.index;
    this.#term = opts.applied.term;
  }

  get appliedIndex(): number {
    return this.#applied;
  }

  get appliedTerm(): number {
    return this.#term;
  }

  async installSnapshot(snap: Snapshot): Promise<void> {
    await this.#o.installSnapshot(snap);
    this.#applied = snap.metadata.index;
    this.#durable = snap.metadata.index;
    this.#term = snap.metadata.term;
  }

  async apply(entries: readonly Entry[], node: RaftNode): Promise<void> {
    for (const e of entries) {
      const ctx: ApplyContext = { index: e.index, term: e.term };
      const replay = e.index <= this.#durable;
      if (e.type === EntryType.ConfChange || e.type === EntryType.ConfChangeV2) {
        const cc = decodeConfChange(e.data);
        if (cc === undefined) throw new Error(`apply: undecodable conf change at index ${e.index}`);
        node.applyConfChange(cc);
        const fx = this.#o.onConfChange(cc, { ...ctx, replay });
        if (!replay) await this.#write(fx.ops, ctx);
        fx.after?.();
      } else if (!replay && e.data.byteLength > 0) {
        await this.#applyCommand(e, ctx);
      }
      if (e.index > this.#applied) {
        this.#applied = e.index;
        this.#term = e.term;
      }
    }
  }

  async #applyCommand(e: Entry, ctx: ApplyContext): Promise<void> {
    let cmd: Command;
    try {
      cmd = Command.decode(e.data);
    } catch (err) {
      // Deterministic on every member, so skipping keeps them identical; it means a proposer bug.
      this.#o.logger.error({ index: e.index, err }, 'apply: undecodable command skipped');
      return;
    }
    const kind = cmd.request?.$case;
    const handler = kind === undefined ? undefined : this.#o.handlers[kind];
    if (handler === undefined) {
      this.#o.waits.trigger(cmd.id, { ok: false, error: berthError('internal', `unsupported command ${kind ?? 'empty'}`) });
      return;
    }
    const fx = await handler(cmd, ctx);
    const ops = fx.ops ?? [];
    if (fx.mvcc !== undefined) {
      await this.#o.mvcc.commit(fx.mvcc, { extraOps: [...ops, appliedIndexOp(ctx)] });
      this.#durable = ctx.index;
    } else if (ops.length > 0) {
      await this.#write(ops, ctx);
    }
    fx.after?.();
    this.#o.waits.trigger(cmd.id, fx.outcome);
  }

  async #write(ops: readonly BatchOp[], ctx: ApplyContext): Promise<void> {
    if (ops.length === 0) return;
    await this.#o.engine.write([...ops, appliedIndexOp(ctx)]);
    this.#durable = ctx.index;
  }
}
