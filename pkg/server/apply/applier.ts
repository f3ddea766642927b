/**
 * Applies committed raft entries to the state machine, in log order.
 *
 * Consecutive KV writes (Put, DeleteRange, Txn) of one Ready are prepared one after the other as a
 * chain (each sees the previous ones' effects, see MvccStore) and written in ONE engine batch that
 * ends with the applied index of the last entry in it: a crash keeps or loses the whole batch, and
 * replay re-applies from the durable applied index (ARCHITECTURE invariant 3). Their waiters are
 * resolved and their events published only after that batch is written; the applied index that
 * linearizable reads wait for moves only then, so reads never see a write before it is in the
 * engine. Every other command (leases, alarms, compaction, conf changes...) is a barrier: the batch
 * is written first, then the command gets its own batch as before: ONE engine batch carries the
 * entry's effects (lease/auth/membership records, an MVCC write) and the applied index. Entries at or below the durable applied index are replays after a restart:
 * their state effects are skipped, but conf changes are still fed to raft, which rebuilds its
 * configuration from the WAL snapshot onwards. Entries without state effects (the leader's no-op, a
 * rejected request) write nothing: replaying them is harmless.
 *
 * Commands are dispatched by their `request` case to a handler; handlers are plain functions that
 * compute effects without writing (see CommandHandler).
 */
import { decodeConfChange, EntryType, type ConfChange, type Entry, type Snapshot } from '../../raft/index.js';
import { Command } from '../../proto/gen/berthpb/command.js';
import { batchBytes, type BatchOp, type Engine } from '../../storage/engine/index.js';
import { ChainConflict, type MvccStore, type Prepared } from '../../storage/mvcc/index.js';
import { berthError, type BerthError } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import type { RaftNode, StateMachine } from '../raft-node.js';
import type { Outcome, WaitRegistry } from '../wait.js';
import { appliedIndexOp, type AppliedIndex } from './applied-index.js';
import { failpoint } from '../../failpoint/index.js';

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

/**
 * Decides a conf change and computes its member-record effects. `accepted` false: raft must not take
 * the change (it does not fit the member records); the applier then skips node.applyConfChange.
 */
export type ConfChangeHandler = (
  cc: ConfChange,
  ctx: ApplyContext & { readonly replay: boolean },
) => ConfChangeEffect | Promise<ConfChangeEffect>;

export interface ConfChangeEffect {
  readonly accepted: boolean;
  readonly ops: readonly BatchOp[];
  readonly after?: () => void;
}

/**
 * Apply-time admission of client commands (auth permission checks, pkg/server/auth/guard.ts): a
 * refused command is answered with the error and has no effect. `barrier` asks for the pending batch
 * to be written first when the decision depends on its effects (lease attachments).
 */
export interface CommandGuard {
  barrier(cmd: Command): boolean;
  check(cmd: Command): BerthError | undefined;
}

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
  readonly guard?: CommandGuard;
  /**
   * A deliberate defect for the robustness checkers' self-test (MemberTestHooks): write the applied
   * index in a separate batch after the effects, so a crash in between re-applies entries.
   */
  readonly splitAppliedIndex?: boolean;
  /** etcd_disk_backend_commit_duration_seconds: each engine write of applied effects. */
  readonly onBackendCommit?: (seconds: number) => void;
  /** Applying one entry took longer than this (etcd's --experimental-warning-apply-duration)... */
  readonly slowApplyMs?: number;
  /** ...then this is called with its index and duration (etcd_server_slow_apply_total). */
  readonly onSlowApply?: (index: number, ms: number) => void;
}

/** Commands whose effect is an MVCC write only (their `after` only publishes events): batched. */
const BATCHED: ReadonlySet<CommandCase> = new Set<CommandCase>(['put', 'deleteRange', 'txn']);
/** A batch is written once it holds this many entries or bytes. */
const MAX_BATCH_ENTRIES = 2000;
const MAX_BATCH_BYTES = 8 << 20;

interface Staged {
  readonly id: bigint;
  readonly outcome: Outcome<unknown>;
  readonly after: (() => void) | undefined;
}

/** Applied entries not yet written: ops of the chained MVCC writes, in order. */
interface Batch {
  ops: BatchOp[];
  bytes: number;
  prepared: Prepared<unknown>[];
  staged: Staged[];
  /** The last entry covered (effects staged, or none to write). */
  last: ApplyContext | undefined;
}

interface Decoded {
  readonly entries: readonly Entry[];
  readonly cmds: (Command | null | undefined)[];
  readonly keys: Uint8Array[];
}

function emptyBatch(): Batch {
  return { ops: [], bytes: 0, prepared: [], staged: [], last: undefined };
}

/** User keys a command will look up, for MvccStore.prefetch (top-level ops only). */
function keysOf(cmd: Command, out: Uint8Array[]): void {
  const r = cmd.request;
  if (r === undefined) return;
  if (r.$case === 'put') out.push(r.value.key);
  else if (r.$case === 'deleteRange' && r.value.rangeEnd.byteLength === 0) out.push(r.value.key);
  else if (r.$case === 'txn') {
    for (const c of r.value.compare) if (c.rangeEnd.byteLength === 0) out.push(c.key);
    for (const op of [...r.value.success, ...r.value.failure]) {
      const q = op.request;
      if (q?.$case === 'requestPut') out.push(q.value.key);
    }
  }
}

export class Applier implements StateMachine {
  readonly #o: ApplierOptions;
  /** Highest index applied (durable or not: see the header comment). */
  #applied: number;
  #durable: number;
  #term: number;
  #batch: Batch = emptyBatch();
  /** Set during applyJoined until the first engine write, which carries the Ready's log batch. */
  #logWrite: ((ops: readonly BatchOp[]) => Promise<void>) | undefined;
  #decoded: Decoded | undefined;

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
    // The state may already be past the snapshot (installed before raft restored its log side, see
    // pkg/server/snapshot): never move the applied index back, or entries would apply twice.
    if (snap.metadata.index <= this.#applied) return;
    this.#applied = snap.metadata.index;
    this.#durable = snap.metadata.index;
    this.#term = snap.metadata.term;
  }

  /**
   * Decodes the commands of `entries` (undefined: nothing to apply; null: undecodable) and looks up
   * the keys they write concurrently, warming MVCC's latest-entry cache for the serial prepares.
   * Read-only; the node loop runs it while the entries' WAL batch is fsynced. Never rejects.
   */
  async prefetch(entries: readonly Entry[]): Promise<void> {
    try {
      const d = this.#decode(entries);
      if (d.keys.length > 0) await this.#o.mvcc.prefetch(d.keys);
    } catch (err) {
      this.#o.logger.warn({ err }, 'apply: prefetch failed');
    }
  }

  #decode(entries: readonly Entry[]): Decoded {
    if (this.#decoded?.entries === entries) return this.#decoded;
    const cmds: (Command | null | undefined)[] = new Array<Command | null | undefined>(entries.length);
    const keys: Uint8Array[] = [];
    entries.forEach((e, i) => {
      if (e.type !== EntryType.Normal || e.index <= this.#durable || e.data.byteLength === 0) return;
      try {
        const cmd = Command.decode(e.data);
        cmds[i] = cmd;
        keysOf(cmd, keys);
      } catch (err) {
        // Deterministic on every member, so skipping keeps them identical; it means a proposer bug.
        this.#o.logger.error({ index: e.index, err }, 'apply: undecodable command skipped');
        cmds[i] = null;
      }
    });
    this.#decoded = { entries, cmds, keys };
    return this.#decoded;
  }

  async apply(entries: readonly Entry[], node: RaftNode): Promise<void> {
    return this.#apply(entries, node, undefined);
  }

  /**
   * apply(), with the Ready's log batch written in the same engine write as the first apply batch
   * (`logWrite` writes the log's ops plus the given ones, synced as the log asks). No outcome that
   * depends on a write is handed out before that write; if nothing of the apply writes, the log
   * batch is written alone before this resolves.
   */
  async applyJoined(entries: readonly Entry[], node: RaftNode, logWrite: (ops: readonly BatchOp[]) => Promise<void>): Promise<void> {
    return this.#apply(entries, node, logWrite);
  }

  async #apply(entries: readonly Entry[], node: RaftNode, logWrite: ((ops: readonly BatchOp[]) => Promise<void>) | undefined): Promise<void> {
    this.#logWrite = logWrite;
    // Decoded (and prefetched) while the WAL batch was fsynced, or now.
    const { cmds, keys } = this.#decode(entries);
    this.#decoded = undefined;
    if (keys.length > 1) await this.#o.mvcc.prefetch(keys);
    const slowMs = this.#o.onSlowApply === undefined ? Infinity : (this.#o.slowApplyMs ?? 100);
    try {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as Entry;
        const t0 = performance.now();
        const ctx: ApplyContext = { index: e.index, term: e.term };
        const replay = e.index <= this.#durable;
        if (e.type === EntryType.ConfChange || e.type === EntryType.ConfChangeV2) {
          await this.#flush();
          const cc = decodeConfChange(e.data);
          if (cc === undefined) throw new Error(`apply: undecodable conf change at index ${e.index}`);
          const fx = await this.#o.onConfChange(cc, { ...ctx, replay });
          if (fx.accepted) node.applyConfChange(cc);
          if (!replay) await this.#write(fx.ops, ctx);
          this.#advance(ctx);
          fx.after?.();
          continue;
        } else {
          const cmd = cmds[i];
          if (cmd !== undefined && cmd !== null) await this.#applyCommand(cmd, ctx);
        }
        this.#advance(ctx);
        const ms = performance.now() - t0;
        if (ms > slowMs) this.#o.onSlowApply?.(e.index, ms);
      }
      await this.#flush();
      const pendingLog = this.#logWrite;
      if (pendingLog !== undefined) {
        this.#logWrite = undefined;
        await pendingLog([]);
      }
    } catch (err) {
      this.#o.mvcc.abortAll();
      this.#batch = emptyBatch();
      throw err;
    } finally {
      this.#logWrite = undefined;
    }
  }

  /** One engine write of apply effects; the first one of a joined apply carries the log batch too. */
  #engineWrite(ops: readonly BatchOp[]): Promise<void> {
    const logWrite = this.#logWrite;
    if (logWrite === undefined) return this.#o.engine.write(ops);
    this.#logWrite = undefined;
    return logWrite(ops);
  }

  /** Marks `ctx` applied: now if nothing is waiting to be written, else when the batch is. */
  #advance(ctx: ApplyContext): void {
    if (this.#batch.staged.length > 0 || this.#batch.prepared.length > 0) {
      this.#batch.last = ctx;
    } else if (ctx.index > this.#applied) {
      this.#applied = ctx.index;
      this.#term = ctx.term;
    }
  }

  /** Writes the batch (effects + applied index of its last entry), then publishes and answers. */
  async #flush(): Promise<void> {
    const b = this.#batch;
    if (b.last === undefined) return;
    this.#batch = emptyBatch();
    const last = b.last;
    // In a joined apply, outcomes wait for the log batch: written here with the applied index.
    if (b.ops.length > 0 || (this.#logWrite !== undefined && b.staged.length > 0)) {
      failpoint('apply-before-commit');
      const t0 = performance.now();
      if (this.#o.splitAppliedIndex === true) {
        await this.#engineWrite(b.ops);
        failpoint('apply-after-commit');
        await this.#o.engine.write([appliedIndexOp(last)]);
      } else {
        await this.#engineWrite([...b.ops, appliedIndexOp(last)]);
      }
      this.#committed(t0);
      this.#durable = last.index;
      failpoint('apply-after-commit');
    }
    for (const p of b.prepared) this.#o.mvcc.markCommitted(p);
    if (last.index > this.#applied) {
      this.#applied = last.index;
      this.#term = last.term;
    }
    for (const s of b.staged) {
      s.after?.();
      this.#o.waits.trigger(s.id, s.outcome);
    }
  }

  async #applyCommand(cmd: Command, ctx: ApplyContext): Promise<void> {
    const kind = cmd.request?.$case;
    const handler = kind === undefined ? undefined : this.#o.handlers[kind];
    if (handler === undefined) {
      this.#o.waits.trigger(cmd.id, { ok: false, error: berthError('internal', `unsupported command ${kind ?? 'empty'}`) });
      return;
    }
    const guard = this.#o.guard;
    if (guard !== undefined) {
      if (!BATCHED.has(kind as CommandCase) || guard.barrier(cmd)) await this.#flush();
      const denied = guard.check(cmd);
      if (denied !== undefined) {
        this.#o.waits.trigger(cmd.id, { ok: false, error: denied });
        return;
      }
    }
    if (kind !== undefined && BATCHED.has(kind)) {
      let fx: CommandEffect;
      try {
        fx = await handler(cmd, ctx);
      } catch (err) {
        if (!(err instanceof ChainConflict)) throw err;
        await this.#flush();
        fx = await handler(cmd, ctx);
      }
      const b = this.#batch;
      if (fx.mvcc !== undefined) {
        b.prepared.push(fx.mvcc);
        for (const op of fx.mvcc.ops) b.ops.push(op);
        b.bytes += batchBytes(fx.mvcc.ops);
      }
      if (fx.ops !== undefined && fx.ops.length > 0) {
        for (const op of fx.ops) b.ops.push(op);
        b.bytes += batchBytes(fx.ops);
      }
      b.staged.push({ id: cmd.id, outcome: fx.outcome, after: fx.after });
      b.last = ctx;
      if (b.staged.length >= MAX_BATCH_ENTRIES || b.bytes >= MAX_BATCH_BYTES) await this.#flush();
      return;
    }
    await this.#flush();
    const fx = await handler(cmd, ctx);
    const ops = fx.ops ?? [];
    if (fx.mvcc !== undefined) {
      failpoint('apply-before-commit');
      const t0 = performance.now();
      if (this.#o.splitAppliedIndex === true) {
        await this.#o.mvcc.commit(fx.mvcc, { extraOps: ops, write: (w) => this.#engineWrite(w) });
        failpoint('apply-after-commit');
        await this.#o.engine.write([appliedIndexOp(ctx)]);
      } else {
        await this.#o.mvcc.commit(fx.mvcc, { extraOps: [...ops, appliedIndexOp(ctx)], write: (w) => this.#engineWrite(w) });
      }
      this.#committed(t0);
      this.#durable = ctx.index;
      failpoint('apply-after-commit');
    } else if (ops.length > 0 || this.#logWrite !== undefined) {
      await this.#write(ops, ctx);
    }
    fx.after?.();
    this.#o.waits.trigger(cmd.id, fx.outcome);
  }

  /** Effects of one entry + its applied index; nothing to write is a no-op unless the log batch waits. */
  async #write(ops: readonly BatchOp[], ctx: ApplyContext): Promise<void> {
    if (ops.length === 0 && this.#logWrite === undefined) return;
    failpoint('apply-before-commit');
    const t0 = performance.now();
    await this.#engineWrite([...ops, appliedIndexOp(ctx)]);
    this.#committed(t0);
    this.#durable = ctx.index;
    failpoint('apply-after-commit');
  }

  #committed(t0: number): void {
    this.#o.onBackendCommit?.((performance.now() - t0) / 1000);
  }
}
