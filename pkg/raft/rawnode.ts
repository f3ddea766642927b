/**
 * The public, synchronous handle on one raft member. Inputs: tick, step, propose, proposeConfChange,
 * readIndex, transferLeader, report*. Output: a Ready, handed out one at a time; the caller persists,
 * sends and applies it (asynchronously if it likes, while feeding more inputs), then calls advance().
 */
import type { ConfChange } from './conf-change.js';
import { encodeConfChange } from './conf-change.js';
import type { RaftConfig } from './config.js';
import { resolveConfig } from './config.js';
import type { StepResult } from './errors.js';
import { fail } from './errors.js';
import type { Message } from './message.js';
import { isLocalMessage, isResponseMessage, newMessage } from './message.js';
import { Raft } from './raft.js';
import type { Ready } from './ready.js';
import type { SoftState, Status } from './status.js';
import { getStatus } from './status.js';
import type { ConfState, HardState, NodeId } from './types.js';
import { EntryType } from './types.js';

interface Outstanding {
  readonly lastEntry: { index: number; term: number } | undefined;
  readonly snapshotIndex: number;
  readonly hardState: HardState | undefined;
  readonly appliedTo: number;
}

export class RawNode {
  readonly #r: Raft;
  #prevSoft: SoftState;
  #prevHard: HardState;
  #outstanding: Outstanding | undefined = undefined;

  /** Throws on invalid options or inconsistent storage (both programming errors). */
  constructor(config: RaftConfig) {
    this.#r = new Raft(resolveConfig(config));
    this.#prevSoft = this.#soft();
    this.#prevHard = this.#r.hardState();
  }

  get id(): NodeId {
    return this.#r.id;
  }

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum. */
  tick(): void {
    this.#r.tick();
  }

  /** Starts an election now (pre-vote first if enabled). */
  campaign(): void {
    this.#r.step(newMessage({ type: 'hup', from: this.#r.id }));
  }

  /**
   * Proposes data for the log. ok means accepted locally (appended on a leader, forwarded by a follower),
   * not committed: watch committedEntries. Fails with 'proposal-dropped' when there is no leader, a
   * leadership transfer is in progress, or the uncommitted-size cap is reached.
   */
  propose(data: Uint8Array): StepResult {
    return this.#r.step(newMessage({ type: 'prop', from: this.#r.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }));
  }

  /**
   * Proposes a membership change. On the leader it is refused ('invalid-conf-change') while another
   * change is unapplied, or when it does not fit the current (joint or not) configuration.
   */
  proposeConfChange(cc: ConfChange): StepResult {
    const data = encodeConfChange(cc);
    return this.#r.step(newMessage({ type: 'prop', from: this.#r.id, entries: [{ term: 0, index: 0, type: EntryType.ConfChangeV2, data }] }));
  }

  /** Feeds a message received from a peer. Local-only kinds and responses from non-members are refused. */
  step(m: Message): StepResult {
    if (isLocalMessage(m.type)) return fail('step-local-msg', `${m.type} is local to a node`);
    if (isResponseMessage(m.type) && !this.#r.trk.progress.has(m.from)) {
      return fail('peer-not-found', `response from ${m.from}, which is not a member`);
    }
    return this.#r.step(m);
  }

  /**
   * Requests a linearizable read point. A ReadState with the same ctx appears in a later Ready; ctx
   * must be unique per request. Fails with 'read-dropped' when no leader is known.
   */
  readIndex(ctx: Uint8Array): StepResult {
    return this.#r.step(newMessage({ type: 'read-index', from: this.#r.id, context: ctx }));
  }

  /** Asks the leader (this node, or forwarded) to hand leadership to `to`. */
  transferLeader(to: NodeId): void {
    this.#r.step(newMessage({ type: 'transfer-leader', from: to }));
  }

  /**
   * Applies a committed conf change entry's change (decodeConfChange of its data) and returns the
   * new configuration. Call it when the entry is applied, in log order. A change that does not fit the
   * configuration (which the leader's validation prevents) is ignored and the current one returned.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.#r.applyConfChange(cc).confState;
  }

  reportUnreachable(id: NodeId): void {
    this.#r.step(newMessage({ type: 'unreachable', from: id }));
  }

  /** Outcome of streaming a snapshot to `id` (ok=false: failed, probe again later). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.#r.step(newMessage({ type: 'snap-status', from: id, reject: !ok }));
  }

  status(): Status {
    return getStatus(this.#r);
  }

  /** The commit index this node knows (cheap; status() copies the whole progress map on a leader). */
  commitIndex(): number {
    return this.#r.log.committed;
  }

  #soft(): SoftState {
    return { lead: this.#r.lead, role: this.#r.role };
  }

  /** Whether ready() has anything; false while a Ready is outstanding (advance() not yet called). */
  hasReady(): boolean {
    if (this.#outstanding !== undefined) return false;
    const r = this.#r;
    const soft = this.#soft();
    if (soft.lead !== this.#prevSoft.lead || soft.role !== this.#prevSoft.role) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.#prevHard)) return true;
    const u = r.log.unstable;
    if (u.nextSnapshot() !== undefined) return true;
    if (u.offsetInProgress < u.offset + u.entries.length) return true;
    return r.msgs.length > 0 || r.msgsAfterPersist.length > 0 || r.log.hasNextCommittedEnts() || r.readStates.length > 0;
  }

  /**
   * Takes everything pending. Throws if the previous Ready was not advanced: exactly one Ready is
   * outstanding at a time, which keeps persistence in order.
   */
  ready(): Ready {
    if (this.#outstanding !== undefined) throw new Error('raft: ready() called before advance() of the previous Ready');
    const r = this.#r;
    const u = r.log.unstable;
    const entries = u.nextEntries();
    const snapshot = u.nextSnapshot();
    const committedEntries = r.log.nextCommittedEnts();
    const soft = this.#soft();
    const hard = r.hardState();
    const softChanged = soft.lead !== this.#prevSoft.lead || soft.role !== this.#prevSoft.role;
    const hardChanged = !hardStateEqual(hard, this.#prevHard);
    const rd: Ready = {
      softState: softChanged ? soft : undefined,
      hardState: hardChanged ? hard : undefined,
      entries,
      snapshot,
      committedEntries,
      messages: r.msgs,
      messagesAfterPersist: r.msgsAfterPersist,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 || snapshot !== undefined || hard.term !== this.#prevHard.term || hard.vote !== this.#prevHard.vote,
    };
    r.msgs = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    u.acceptInProgress();
    const lastCommitted = committedEntries[committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      r.log.acceptApplying(lastCommitted.index);
      r.reduceUncommittedSize(committedEntries);
    }
    this.#prevSoft = soft;
    this.#prevHard = hard;
    const lastEntry = entries[entries.length - 1];
    this.#outstanding = {
      lastEntry: lastEntry === undefined ? undefined : { index: lastEntry.index, term: lastEntry.term },
      snapshotIndex: snapshot?.metadata.index ?? 0,
      hardState: rd.hardState,
      appliedTo: lastCommitted?.index ?? 0,
    };
    return rd;
  }

  /**
   * Reports that the outstanding Ready was handled: entries, hard state and snapshot are durable,
   * committed entries are applied, messages are sent. The leader counts its own log as replicated
   * only here. Throws if no Ready is outstanding.
   */
  advance(): void {
    const o = this.#outstanding;
    if (o === undefined) throw new Error('raft: advance() without an outstanding Ready');
    this.#outstanding = undefined;
    const r = this.#r;
    if (o.snapshotIndex > 0) {
      r.log.unstable.stableSnapTo(o.snapshotIndex);
      r.log.appliedTo(o.snapshotIndex);
    }
    if (o.appliedTo > 0) r.log.appliedTo(o.appliedTo);
    r.onPersisted(o.lastEntry, o.hardState);
    if (o.appliedTo > 0) r.onApplied();
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
