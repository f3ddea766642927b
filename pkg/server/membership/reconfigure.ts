/**
 * Membership changes (MemberAdd/Remove/Update/Promote) as raft conf changes, and their apply side.
 *
 * Proposing (any member, one change at a time per member): check the request against this member's
 * applied member records and etcd's --strict-reconfig-check rules (as etcd does, without a ReadIndex
 * round), then propose a ConfChangeV2 whose context carries the request ID and the member record.
 * Voter changes (add voter, remove voter, promote) go through a joint configuration that raft leaves
 * by itself (auto-leave). Remove and promote return once the leave entry is applied too, so the next
 * change can follow at once; adding a voter returns when the joint config is entered (leaving it needs
 * the new member's vote, i.e. the new member must be started, as with etcd's simple change). A change
 * proposed while the configuration is joint first waits for it to be left. Learner changes and
 * peer-URL updates are simple changes.
 *
 * Applying (every member, in log order): the change is validated again against the records (this is
 * the authoritative check: two members may have proposed conflicting changes); a refused change is
 * not given to raft and is remembered by index (MemberStore.rejectedChangeOp) so a replay after a
 * restart makes the same decision. An accepted change's record update goes into the entry's apply
 * batch with the applied index. Then the transport learns the new peer set, the proposer's waiter is
 * answered, and a member that is no longer in the configuration and was removed stops.
 */
import { berthError, type BerthError, type ErrorKind } from '../../errors/index.js';
import type { Logger } from '../../log/index.js';
import { MemberStore, type Member } from '../../membership/members.js';
import { decodeConfContext, encodeConfContext } from '../../membership/conf-context.js';
import {
  appliedRecord,
  changeId,
  learnerInSync,
  readyToAddVoter,
  readyToPromote,
  readyToRemoveVoter,
  validPeerUrls,
  validateChange,
  type MemberChange,
} from '../../membership/rules.js';
import { isLeaveJoint, type ConfChange, type ConfChangeSingle, type ConfState, type Status, type StepResult } from '../../raft/index.js';
import type { Engine } from '../../storage/engine/index.js';
import type { ConfChangeEffect, ConfChangeHandler } from '../apply/applier.js';
import { memberIdOf } from '../ids.js';
import type { Outcome, WaitRegistry } from '../wait.js';
import { forwardPromote, type PeerCredentials, type PeerFailure } from './peer-service.js';
import { toGrpcStatus } from '../../errors/index.js';

/** etcd's HealthInterval: a peer counts as connected for strict reconfig checks after this long. */
export const HEALTH_INTERVAL_MS = 5000;

export interface ReconfigResult {
  /** The added member (MemberAdd only). */
  readonly member?: Member;
  readonly members: readonly Member[];
}

export interface ReconfigOptions {
  readonly memberId: bigint;
  readonly strictReconfigCheck: boolean;
  readonly timeoutMs: number;
  /** How often to re-check a condition being waited for (the raft tick). */
  readonly pollMs: number;
  readonly members: MemberStore;
  readonly engine: Engine;
  readonly waits: WaitRegistry;
  readonly nextRequestId: () => bigint;
  readonly status: () => Status;
  readonly proposeConfChange: (cc: ConfChange) => StepResult;
  /** ms since epoch the stream to a peer became active; 0 when it is not. */
  readonly activeSince: (id: bigint) => number;
  /** The peer set changed (members or raft configuration). */
  readonly peersChanged: () => void;
  /** This member was removed and is out of the configuration: it must stop. */
  readonly removedSelf: () => void;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How to dial a peer URL when forwarding a promote (default: plain text / system CAs). */
  readonly peerCredentials?: PeerCredentials;
  /**
   * A promotion decided on this leader: succeeded (no argument) or failed with this error kind
   * (etcd_server_learner_promote_successes / _failures; not told of 'notLeader', as etcd).
   */
  readonly onPromote?: (failure?: ErrorKind) => void;
}

function inConfig(cs: ConfState, id: bigint): boolean {
  return cs.voters.includes(id) || cs.votersOutgoing.includes(id) || cs.learners.includes(id) || cs.learnersNext.includes(id);
}

const fail = <T>(kind: ErrorKind, detail?: string): Outcome<T> => ({ ok: false, error: berthError(kind, detail) });

export class Reconfigurer {
  readonly #o: ReconfigOptions;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #configListeners = new Set<() => void>();
  #removedReported = false;

  constructor(o: ReconfigOptions) {
    this.#o = o;
  }

  /** id → peer URLs of everyone to talk to: the member records plus anyone still in raft's configuration. */
  peers(): Map<bigint, readonly string[]> {
    const out = new Map<bigint, readonly string[]>();
    for (const m of this.#o.members.list()) out.set(m.id, m.peerUrls);
    const cs = this.#o.status().config;
    for (const id of [...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]) {
      const urls = out.has(id) ? undefined : this.#o.members.removedPeerUrls(id);
      if (urls !== undefined) out.set(id, urls);
    }
    return out;
  }

  /** Whether peer `id` must be refused: removed from the records and out of the configuration. */
  isRemovedPeer(id: bigint): boolean {
    return this.#o.members.isRemoved(id) && !inConfig(this.#o.status().config, id);
  }

  add(peerUrls: readonly string[], isLearner: boolean): Promise<Outcome<ReconfigResult>> {
    return this.#serial(async () => {
      if (!validPeerUrls(peerUrls)) return fail('memberBadUrls');
      const store = this.#o.members;
      let secs = Math.floor(this.#now() / 1000);
      let id = memberIdOf(peerUrls, '', secs);
      // etcd derives the ID from the URLs and the time in seconds; re-adding the same URLs within the
      // second would collide with the removed ID, so berth moves on to the next second's ID.
      while (id === 0n || store.isRemoved(id) || store.get(id) !== undefined) id = memberIdOf(peerUrls, '', ++secs);
      const member: Member = { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
      const change: MemberChange = { kind: 'add', member };
      const invalid = validateChange(store, change);
      if (invalid !== undefined) return fail(invalid);
      if (this.#o.strictReconfigCheck) {
        if (!isLearner && !readyToAddVoter(store)) return fail('memberNotEnoughStarted');
        if (!this.#connectedFully()) return fail('unhealthy', 'not connected to every voting member for the health interval');
      }
      const r = await this.#propose(change, [{ type: isLearner ? 'add-learner' : 'add-node', nodeId: id }], !isLearner);
      return r.ok ? { ok: true, value: { member, members: store.list() } } : r;
    });
  }

  remove(id: bigint): Promise<Outcome<ReconfigResult>> {
    return this.#serial(async () => {
      const store = this.#o.members;
      const change: MemberChange = { kind: 'remove', id };
      const invalid = validateChange(store, change);
      if (invalid !== undefined) return fail(invalid);
      const learner = store.get(id)?.isLearner === true;
      if (this.#o.strictReconfigCheck && !learner) {
        if (!readyToRemoveVoter(store, id)) return fail('memberNotEnoughStarted');
        // A member that is down is not part of the active quorum: removing it is always safe.
        if (id === this.#o.memberId || this.#o.activeSince(id) !== 0) {
          const voters = store.list().filter((m) => !m.isLearner);
          const active = this.#connectedSince(voters);
          if (active - 1 < 1 + Math.floor((voters.length - 1) / 2)) return fail('unhealthy', 'removal would break the active quorum');
        }
      }
      const r = await this.#propose(change, [{ type: 'remove-node', nodeId: id }], !learner);
      return r.ok ? { ok: true, value: { members: store.list() } } : r;
    });
  }

  update(id: bigint, peerUrls: readonly string[]): Promise<Outcome<ReconfigResult>> {
    return this.#serial(async () => {
      if (!validPeerUrls(peerUrls)) return fail('memberBadUrls');
      const change: MemberChange = { kind: 'update', id, peerUrls: [...peerUrls] };
      const invalid = validateChange(this.#o.members, change);
      if (invalid !== undefined) return fail(invalid);
      const r = await this.#propose(change, [{ type: 'update-node', nodeId: id }], false);
      return r.ok ? { ok: true, value: { members: this.#o.members.list() } } : r;
    });
  }

  /**
   * MemberPromote. Only the leader knows whether the learner caught up: a follower forwards the call
   * to the leader's peer URLs (like etcd), retrying while no leader is known, up to the request timeout.
   */
  async promote(id: bigint, leader: () => bigint): Promise<Outcome<ReconfigResult> | { ok: false; failure: PeerFailure }> {
    const deadline = this.#now() + this.#o.timeoutMs;
    for (;;) {
      const st = this.#o.status();
      if (st.role === 'leader') return this.promoteAsLeader(id);
      const lead = leader();
      const urls = lead === 0n ? [] : (this.#o.members.get(lead)?.peerUrls ?? []);
      for (const url of urls) {
        const r = await forwardPromote(url, id, Math.max(1, deadline - this.#now()), this.#o.peerCredentials);
        if (r.ok) return { ok: true, value: { members: r.members } };
        if (!r.transport) return { ok: false, failure: r.failure };
      }
      if (this.#now() >= deadline) return fail('timeout');
      await new Promise((r) => setTimeout(r, this.#o.pollMs));
    }
  }

  /** Promote on the leader: the learner must be in sync (90% of the leader's match index). */
  async promoteAsLeader(id: bigint): Promise<Outcome<ReconfigResult>> {
    const r = await this.#promoteAsLeader(id);
    if (r.ok) this.#o.onPromote?.();
    else if (r.error.kind !== 'notLeader') this.#o.onPromote?.(r.error.kind);
    return r;
  }

  #promoteAsLeader(id: bigint): Promise<Outcome<ReconfigResult>> {
    return this.#serial(async () => {
      const store = this.#o.members;
      const change: MemberChange = { kind: 'promote', id };
      const st = this.#o.status();
      if (st.role !== 'leader') return fail('notLeader');
      const pr = st.progress.get(id);
      const own = st.progress.get(this.#o.memberId);
      if (pr !== undefined && own !== undefined && !learnerInSync(pr.match, own.match)) return fail('learnerNotReady');
      const invalid = validateChange(store, change);
      if (invalid !== undefined) return fail(invalid);
      if (this.#o.strictReconfigCheck && !readyToPromote(store)) return fail('memberNotEnoughStarted');
      const r = await this.#propose(change, [{ type: 'add-node', nodeId: id }], true);
      return r.ok ? { ok: true, value: { members: store.list() } } : r;
    });
  }

  /** The applier's conf-change hook (see the file comment). */
  readonly apply: ConfChangeHandler = async (cc, ctx): Promise<ConfChangeEffect> => {
    const after = (): void => this.#configChanged();
    if (isLeaveJoint(cc)) return { accepted: true, ops: [], after };
    const c = decodeConfContext(cc.context);
    if (c === undefined) {
      this.#o.logger.warn({ index: ctx.index }, 'conf change without a berth member context; applied to raft only');
      return { accepted: true, ops: [], after };
    }
    if (ctx.replay) {
      const rejected = await MemberStore.wasRejected(this.#o.engine, ctx.index);
      return { accepted: !rejected, ops: [], after };
    }
    const store = this.#o.members;
    const invalid = validateChange(store, c.change);
    if (invalid !== undefined) {
      this.#o.logger.warn({ index: ctx.index, change: c.change.kind, id: changeId(c.change).toString(16), error: invalid }, 'refused a membership change');
      return {
        accepted: false,
        ops: [store.rejectedChangeOp(ctx.index)],
        after: () => this.#o.waits.trigger(c.requestId, { ok: false, error: berthError(invalid) }),
      };
    }
    const record = appliedRecord(store, c.change);
    const ops = c.change.kind === 'remove' ? store.remove(c.change.id) : record !== undefined ? [store.upsert(record)] : [];
    this.#o.logger.info({ index: ctx.index, change: c.change.kind, id: changeId(c.change).toString(16) }, 'applied a membership change');
    return {
      accepted: true,
      ops,
      after: () => {
        this.#configChanged();
        this.#o.waits.trigger(c.requestId, { ok: true, value: undefined });
      },
    };
  };

  /** After a conf change (or a snapshot) is applied: new peer set, waiters, self-removal. */
  #configChanged(): void {
    this.#o.peersChanged();
    if (!this.#o.status().config.votersOutgoing.length) for (const l of [...this.#configListeners]) l();
    this.checkRemovedSelf();
  }

  /** A raft snapshot replaced records and configuration: same follow-ups as an applied conf change. */
  afterSnapshotInstalled(): void {
    this.#configChanged();
  }

  /** Stops this member once it is removed and out of the configuration. */
  checkRemovedSelf(): void {
    if (this.#removedReported || !this.isRemovedPeer(this.#o.memberId)) return;
    this.#removedReported = true;
    this.#o.removedSelf();
  }

  async #propose(change: MemberChange, changes: ConfChangeSingle[], joint: boolean): Promise<Outcome<void>> {
    const requestId = this.#o.nextRequestId();
    const cc: ConfChange = { transition: joint ? 'implicit' : 'auto', changes, context: encodeConfContext({ requestId, change }) };
    const deadline = this.#now() + this.#o.timeoutMs;
    // A leader drops a change proposed while the config is joint; a follower would not hear of it.
    await this.#leftJoint(deadline);
    if (this.#o.status().config.votersOutgoing.length > 0) return fail('timeout', 'the configuration is still joint');
    const result = this.#o.waits.register<void>(requestId, this.#o.timeoutMs);
    // Raft refuses a change while another is unapplied (or the config is joint): wait for it.
    for (;;) {
      const r = this.#o.proposeConfChange(cc);
      if (r.ok) break;
      if (r.reason !== 'invalid-conf-change' || this.#now() >= deadline) {
        this.#o.waits.trigger(requestId, { ok: false, error: r.reason === 'invalid-conf-change' ? berthError('timeout') : berthError('noLeader', r.detail) });
        return result;
      }
      await new Promise((res) => setTimeout(res, this.#o.pollMs));
    }
    const o = await result;
    if (!o.ok) return o;
    const addsVoter = change.kind === 'add' && !change.member.isLearner;
    if (!addsVoter) await this.#leftJoint(deadline);
    return o;
  }

  /** Resolves once the configuration is not joint (the auto-leave entry was applied) or at the deadline. */
  #leftJoint(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#configListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - this.#now()));
      this.#configListeners.add(done);
      if (this.#o.status().config.votersOutgoing.length === 0) done();
    });
  }

  /** Every voting member has been connected for the health interval (etcd's isConnectedFullySince). */
  #connectedFully(): boolean {
    const voters = this.#o.members.list().filter((m) => !m.isLearner);
    return this.#connectedSince(voters) === voters.length;
  }

  #connectedSince(members: readonly Member[]): number {
    const since = this.#now() - HEALTH_INTERVAL_MS;
    let n = 0;
    for (const m of members) {
      if (m.id === this.#o.memberId) n++;
      else {
        const t = this.#o.activeSince(m.id);
        if (t !== 0 && t <= since) n++;
      }
    }
    return n;
  }

  #serial<T>(fn: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

/** A berth error as the code and message a peer forwards back. */
export function peerFailureOf(e: BerthError): PeerFailure {
  const w = toGrpcStatus(e);
  return { code: w.code, message: w.message };
}
