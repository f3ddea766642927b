/**
 * The consensus state machine: roles, elections, replication, reads, transfers and membership, as
 * step functions per role. Internal to pkg/raft; callers drive it through RawNode. All effects are
 * recorded in fields (msgs, msgsAfterPersist, readStates, the log) that RawNode turns into a Ready.
 */
import type { ConfChange } from './conf-change.js';
import { decodeConfChange, encodeConfChange, isLeaveJoint, leaveJointChange } from './conf-change.js';
import { applyConfChange as computeConfChange, restoreConfState } from './changer.js';
import type { ResolvedConfig } from './config.js';
import type { StepResult } from './errors.js';
import { OK, fail } from './errors.js';
import { RaftLog, payloadSize } from './log.js';
import type { Message } from './message.js';
import { CAMPAIGN_TRANSFER, bytesEqual, needsPersistBeforeSend, newMessage } from './message.js';
import type { Progress } from './progress.js';
import { jointVoteResult } from './quorum.js';
import type { ReadState } from './read-only.js';
import { ReadOnly } from './read-only.js';
import { ProgressTracker } from './tracker.js';
import type { TrackerConfig } from './tracker.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from './types.js';
import { EntryType, NONE } from './types.js';

export type RaftRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader';
type CampaignType = 'pre-election' | 'election' | 'transfer';

const EMPTY = new Uint8Array(0);

function isConfChangeEntry(e: Entry): boolean {
  return e.type === EntryType.ConfChange || e.type === EntryType.ConfChangeV2;
}

export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  readonly log: RaftLog;
  readonly trk: ProgressTracker;
  readOnly: ReadOnly;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: RaftRole = 'follower';
  isLearner = false;
  /** Messages that may be sent as soon as the Ready is taken. */
  msgs: Message[] = [];
  /** Messages that may be sent only after the Ready they came with is durable. */
  msgsAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change in the leader's log; no new one until it is applied. */
  pendingConfIndex = 0;
  /** Payload bytes of the leader's uncommitted tail (estimate; reset on election). */
  uncommittedSize = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Read requests that arrived before the leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];

  constructor(cfg: ResolvedConfig) {
    this.id = cfg.id;
    this.cfg = cfg;
    this.log = new RaftLog(cfg.storage, cfg.applied, cfg.maxCommittedSizePerReady);
    this.trk = new ProgressTracker(cfg.maxInflightMsgs, cfg.maxInflightBytes);
    this.readOnly = new ReadOnly(cfg.readOnlyOption);
    const { hardState, confState } = cfg.storage.initialState();
    const r = restoreConfState(this.#changeInputBase(), confState);
    if (!r.ok) throw new Error(`raft: invalid persisted conf state: ${r.error}`);
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    this.isLearner = r.progress.get(this.id)?.isLearner ?? false;
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.#loadState(hardState);
    // The persisted commit index may trail what was applied: a Ready that only moves the commit index
    // is not written (pkg/server/raft-node.ts), so the commit index reaches storage with the next
    // entries or vote. Applied entries were committed, and they are in the durable log (they are
    // applied only after being persisted), so the commit index starts at least there.
    if (cfg.applied > this.log.committed) {
      if (cfg.applied > this.log.lastIndex()) {
        throw new Error(`raft: applied ${cfg.applied} is beyond the last log index ${this.log.lastIndex()}`);
      }
      this.log.committed = cfg.applied;
    }
    this.becomeFollower(this.term, NONE);
  }

  #changeInputBase(): { lastIndex: number; maxInflight: number; maxInflightBytes: number } {
    return { lastIndex: this.log.lastIndex(), maxInflight: this.cfg.maxInflightMsgs, maxInflightBytes: this.cfg.maxInflightBytes };
  }

  #loadState(hs: HardState): void {
    if (hs.commit > this.log.lastIndex()) {
      throw new Error(`raft: persisted commit ${hs.commit} is beyond the last log index ${this.log.lastIndex()}`);
    }
    // Below the log's first index (the snapshot) it trails, like above: the snapshot index is committed.
    this.log.committed = Math.max(hs.commit, this.log.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  // ---- sending ------------------------------------------------------------------------------

  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    if (m.type === 'vote' || m.type === 'pre-vote' || m.type === 'vote-resp' || m.type === 'pre-vote-resp') {
      if (m.term === 0) throw new Error(`raft: term should be set when sending ${m.type}`);
    } else if (m.type !== 'prop' && m.type !== 'read-index') {
      // Forwarded proposals and read requests carry no term: they are local to whoever receives them.
      m.term = this.term;
    }
    if (m.to === this.id) throw new Error(`raft: ${this.id} sending ${m.type} to itself`);
    if (needsPersistBeforeSend(m.type) && !this.cfg.knobs.unsafeAckBeforePersist) this.msgsAfterPersist.push(m);
    else this.msgs.push(m);
  }

  /** Sends an append (or a snapshot if the needed entries are compacted). Returns whether anything was sent. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const last = this.log.lastIndex();
    const next = Math.min(pr.next, last + 1);
    const prevIndex = next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = typeof prevTerm === 'number' ? this.log.slice(next, last + 1, this.cfg.maxSizePerMsg) : prevTerm;
    if (typeof prevTerm !== 'number' || typeof ents === 'string') return this.#sendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(newMessage({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed }));
    pr.sentEntries(ents.length, payloadSize(ents), prevIndex + ents.length);
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  #sendSnapshot(to: NodeId, pr: Progress): boolean {
    // An inactive follower may be down; a snapshot is expensive, so wait until it answers again.
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot();
    if (typeof snap === 'string') return false;
    if (snap.metadata.index === 0) throw new Error('raft: need a non-empty snapshot to catch up a follower');
    this.send(newMessage({ type: 'snap', to, snapshot: snap }));
    pr.becomeSnapshot(snap.metadata.index);
    return true;
  }

  bcastAppend(): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  bcastHeartbeat(ctx: Uint8Array = this.readOnly.lastPendingRequestCtx() ?? EMPTY): void {
    for (const [id, pr] of this.trk.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to hold.
      const commit = Math.min(pr.match, this.log.committed);
      this.send(newMessage({ type: 'heartbeat', to: id, commit, context: ctx }));
    }
  }

  // ---- role transitions ---------------------------------------------------------------------

  #reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTick + this.cfg.rand(this.cfg.electionTick);
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      pr.becomeProbe();
      pr.match = 0;
      pr.next = last + 1;
      pr.recentActive = false;
      if (id === this.id) {
        // The leader counts only what it has persisted (or everything, in the unsafe variant).
        pr.match = this.cfg.knobs.unsafeAckBeforePersist ? last : this.log.persistedLastIndex();
      }
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.cfg.readOnlyOption);
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.#reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('raft: invalid transition leader -> candidate');
    this.#reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('raft: invalid transition leader -> pre-candidate');
    // A pre-candidate changes neither term nor vote: a failed pre-vote leaves no trace.
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = 'pre-candidate';
  }

  becomeLeader(): void {
    if (this.role === 'follower') throw new Error('raft: invalid transition follower -> leader');
    this.#reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.trk.progress.get(this.id);
    if (self !== undefined) {
      const match = self.match;
      self.becomeReplicate();
      self.match = match;
      self.next = this.log.lastIndex() + 1;
      self.recentActive = true;
    }
    // Conservatively treat any unapplied entry as a possible conf change.
    this.pendingConfIndex = this.log.lastIndex();
    // Commit an entry of the new term, which commits everything before it (Figure 8).
    if (this.#appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY }], true) === undefined) {
      throw new Error('raft: empty entry was dropped');
    }
  }

  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot();
  }

  // ---- ticks --------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.#tickHeartbeat();
    else this.#tickElection();
  }

  #tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: 'hup', from: this.id }));
    }
  }

  #tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTick) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(newMessage({ type: 'check-quorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === 'leader' && this.leadTransferee !== NONE) this.leadTransferee = NONE;
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: 'beat', from: this.id }));
    }
  }

  // ---- elections ----------------------------------------------------------------------------

  #hup(t: CampaignType): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) return;
    if (this.#hasUnappliedConfChanges()) return;
    this.#campaign(t);
  }

  #hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.MAX_SAFE_INTEGER);
    if (typeof ents === 'string') throw new Error(`raft: cannot read unapplied entries: ${ents}`);
    return ents.some(isConfChangeEntry);
  }

  #campaign(t: CampaignType): void {
    let term: number;
    let type: 'vote' | 'pre-vote';
    if (t === 'pre-election') {
      this.becomePreCandidate();
      type = 'pre-vote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'vote';
      term = this.term;
    }
    // A pre-vote changes no durable state, so it counts at once. A real self-vote counts only after the
    // hard state carrying it is persisted (see onPersisted), so a crash cannot make this node vote twice.
    if (t === 'pre-election' || this.cfg.knobs.unsafeAckBeforePersist) {
      if (this.#poll(this.id, true) === 'won') {
        if (t === 'pre-election') this.#campaign('election');
        else this.becomeLeader();
        return;
      }
    }
    const lastIndex = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    for (const id of this.trk.voterIds()) {
      if (id === this.id) continue;
      const context = t === 'transfer' ? CAMPAIGN_TRANSFER : EMPTY;
      this.send(newMessage({ type, to: id, term, index: lastIndex, logTerm, context }));
    }
  }

  #poll(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  #handleVote(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'pre-vote' && m.term > this.term);
    const respType = m.type === 'vote' ? 'vote-resp' : 'pre-vote-resp';
    if (canVote && (this.cfg.knobs.unsafeSkipVoteLogCheck || this.log.isUpToDate(m.index, m.logTerm))) {
      // The response term is the request's, so a pre-candidate recognizes it even though we did not move.
      this.send(newMessage({ type: respType, to: m.from, term: m.term }));
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      // A rejection carries our commit index (and its term), so a candidate whose configuration is
      // stale can learn that a change removing or demoting us committed (see #learnCommit).
      const commit = this.log.committed;
      this.send(newMessage({ type: respType, to: m.from, term: this.term, reject: true, commit, logTerm: this.log.termOrZero(commit) }));
    }
  }

  /**
   * Adopts a commit index learned from a vote rejection. Safe by Log Matching: if our entry at
   * `commit` has the responder's term, our log up to it is identical to the responder's, which knows
   * it committed. Without this, a leader that removed or demoted itself and stepped down before the
   * survivors heard the commit refuses them its vote (its log is longer) while they, not knowing the
   * change committed, still need it: the cluster would be stranded (simulation seeds 120, 490, 880).
   */
  #learnCommit(m: Message): void {
    if (m.commit > this.log.committed && this.log.matchTerm(m.commit, m.logTerm)) this.log.commitTo(m.commit);
  }

  // ---- the step function --------------------------------------------------------------------

  step(m: Message): StepResult {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTick;
        // Vote lease (thesis §4.2.3): while we hear from a leader, a higher-term candidate is ignored.
        if (!force && inLease) return OK;
      }
      if (m.type === 'pre-vote') {
        // Never change term on a pre-vote.
      } else if (m.type === 'pre-vote-resp' && !m.reject) {
        // A granted pre-vote carries the future term; the term moves when the real election starts.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (m.type === 'heartbeat' || m.type === 'app') {
        // Answer with our term so a stale leader steps down (Raft §5.1). With check-quorum/pre-vote it
        // would never learn the new term otherwise; without them our higher-term vote requests may never
        // reach it either, when our configuration is stale and does not list it (simulation seed 981,
        // test/raft/regressions.test.ts).
        this.send(newMessage({ type: 'app-resp', to: m.from }));
      } else if (m.type === 'pre-vote') {
        this.send(newMessage({ type: 'pre-vote-resp', to: m.from, term: this.term, reject: true }));
      }
      return OK;
    }

    switch (m.type) {
      case 'hup':
        this.#hup(this.cfg.preVote ? 'pre-election' : 'election');
        return OK;
      case 'vote':
      case 'pre-vote':
        this.#handleVote(m);
        return OK;
      default:
        switch (this.role) {
          case 'leader':
            return this.#stepLeader(m);
          case 'candidate':
          case 'pre-candidate':
            return this.#stepCandidate(m);
          case 'follower':
            return this.#stepFollower(m);
        }
    }
  }

  #stepLeader(m: Message): StepResult {
    switch (m.type) {
      case 'beat':
        this.bcastHeartbeat();
        return OK;
      case 'check-quorum':
        if (!this.trk.quorumActive()) this.becomeFollower(this.term, NONE);
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return OK;
      case 'prop':
        return this.#propose(m.entries);
      case 'read-index':
        if (!this.#committedEntryInCurrentTerm()) {
          // Thesis §6.4: the commit index is not known to be current until an entry of this term commits.
          this.pendingReadIndexMessages.push(m);
          return OK;
        }
        this.#sendReadIndexResponse(m);
        return OK;
      default:
        break;
    }
    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return OK;
    switch (m.type) {
      case 'app-resp':
        this.#handleAppendResponse(m, pr);
        break;
      case 'heartbeat-resp':
        this.#handleHeartbeatResponse(m, pr);
        break;
      case 'snap-status':
        if (pr.state !== 'snapshot') break;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for an ack (or a heartbeat response) before probing again.
        pr.probeSent = true;
        break;
      case 'unreachable':
        if (pr.state === 'replicate') pr.becomeProbe();
        break;
      case 'transfer-leader':
        this.#handleTransferLeader(m.from, pr);
        break;
      default:
        break;
    }
    return OK;
  }

  #propose(entries: readonly Entry[]): StepResult {
    if (entries.length === 0) throw new Error('raft: stepped an empty proposal');
    if (!this.trk.progress.has(this.id)) return fail('proposal-dropped', 'this leader was removed from the configuration');
    if (this.leadTransferee !== NONE) return fail('proposal-dropped', 'leadership transfer in progress');
    let confAt = -1;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (!isConfChangeEntry(e)) continue;
      const err = this.#checkConfChange(e.data, confAt >= 0);
      if (err !== undefined) return fail('invalid-conf-change', err);
      confAt = i;
    }
    const appended = this.#appendEntry(entries, false);
    if (appended === undefined) return fail('proposal-dropped', 'uncommitted entries size limit exceeded');
    if (confAt >= 0) this.pendingConfIndex = (appended[confAt] as Entry).index;
    this.bcastAppend();
    return OK;
  }

  /** Why a proposed conf change must be refused, or undefined if it may go into the log. */
  #checkConfChange(data: Uint8Array, anotherInBatch: boolean): string | undefined {
    const cc = decodeConfChange(data);
    if (cc === undefined) return 'malformed conf change';
    if (anotherInBatch) return 'only one conf change per proposal';
    if (this.pendingConfIndex > this.log.applied) {
      return `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.log.applied})`;
    }
    const joint = this.trk.isJoint();
    const leave = isLeaveJoint(cc);
    if (joint && !leave) return 'must leave the joint config first';
    if (!joint && leave) return 'not in a joint config';
    const r = computeConfChange({ config: this.trk.config, progress: this.trk.progress, ...this.#changeInputBase() }, cc);
    return r.ok ? undefined : r.error;
  }

  /** Appends entries in the current term. Returns them with index/term, or undefined if over the size cap. */
  #appendEntry(es: readonly Entry[], force: boolean): Entry[] | undefined {
    const li = this.log.lastIndex();
    const ents: Entry[] = es.map((e, i) => ({ term: this.term, index: li + 1 + i, type: e.type, data: e.data }));
    const size = payloadSize(ents);
    const max = this.cfg.maxUncommittedEntriesSize;
    // An empty uncommitted tail admits any proposal, so one large entry cannot wedge the leader.
    if (!force && max > 0 && size > 0 && this.uncommittedSize > 0 && this.uncommittedSize + size > max) return undefined;
    this.uncommittedSize += size;
    this.log.append(ents);
    if (this.cfg.knobs.unsafeAckBeforePersist || this.#soleReplica()) this.#selfAck(this.log.lastIndex());
    return ents;
  }

  reduceUncommittedSize(ents: readonly Entry[]): void {
    if (this.role !== 'leader') return;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadSize(ents));
  }

  /**
   * The leader is the only replica (one voter, no learners): its own log is the quorum, so its entries
   * commit as they are appended and reach committedEntries of the same Ready as their append. That is
   * safe because the Ready contract applies committed entries only after persisting the Ready's
   * entries, and nobody else can see the commit index before then. (With any other member, a commit
   * index sent before the leader's own write is durable could outlive a leader crash: the leader counts
   * itself only once persisted, in onPersisted.) Saves a Ready round trip per proposal on one member.
   */
  #soleReplica(): boolean {
    const c = this.trk.config;
    return this.role === 'leader' && this.trk.isSingleton(this.id) && c.learners.size === 0 && c.learnersNext.size === 0;
  }

  #selfAck(index: number): void {
    const pr = this.trk.progress.get(this.id);
    if (pr !== undefined && pr.maybeUpdate(index) && this.#maybeCommit()) this.#onCommitAdvanced();
  }

  #maybeCommit(): boolean {
    const mci = this.trk.committed();
    if (this.cfg.knobs.unsafeCommitOldTermByCounting) {
      if (mci > this.log.committed && mci <= this.log.lastIndex()) {
        this.log.commitTo(mci);
        return true;
      }
      return false;
    }
    return this.log.maybeCommit(mci, this.term);
  }

  #onCommitAdvanced(): void {
    this.#releasePendingReadIndexMessages();
    this.bcastAppend();
  }

  #handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      // Skip a whole term per round trip: the follower told us the last index/term where it may match.
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe'))) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.#maybeCommit()) this.#onCommitAdvanced();
    else if (oldPaused) this.sendAppend(m.from);
    for (let i = 0; i < this.cfg.maxInflightMsgs && this.maybeSendAppend(m.from, false); i++) {
      // keep streaming while the inflight window allows
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.#sendTimeoutNow(m.from);
  }

  #handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    // A full window may hold lost messages; free one slot so replication can make progress.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (this.readOnly.option !== 'safe' || m.context.byteLength === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined) return;
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    if (jointVoteResult(this.trk.config.voters, votes) !== 'won') return;
    for (const rs of this.readOnly.advance(m.context)) this.#respondToReadIndex(rs.req, rs.index);
  }

  #handleTransferLeader(target: NodeId, pr: Progress): void {
    if (pr.isLearner) return;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === target) return;
      this.leadTransferee = NONE;
    }
    if (target === this.id) return;
    // The transfer must finish within an election timeout (see tickHeartbeat).
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (pr.match === this.log.lastIndex()) this.#sendTimeoutNow(target);
    else this.sendAppend(target);
  }

  #sendTimeoutNow(to: NodeId): void {
    this.send(newMessage({ type: 'timeout-now', to }));
  }

  #committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  #releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.#committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.#sendReadIndexResponse(m);
  }

  #sendReadIndexResponse(m: Message): void {
    if (this.trk.isSingleton(this.id) || this.readOnly.option === 'lease-based') {
      this.#respondToReadIndex(m, this.log.committed);
      return;
    }
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat(m.context);
  }

  #respondToReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context });
    } else {
      this.send(newMessage({ type: 'read-index-resp', to: req.from, index, context: req.context }));
    }
  }

  #stepCandidate(m: Message): StepResult {
    const myResp = this.role === 'pre-candidate' ? 'pre-vote-resp' : 'vote-resp';
    switch (m.type) {
      case 'prop':
        return fail('proposal-dropped', 'no leader');
      case 'read-index':
        return fail('read-dropped', 'no leader');
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.#handleAppend(m);
        return OK;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.#handleHeartbeat(m);
        return OK;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.#handleSnapshot(m);
        return OK;
      default:
        break;
    }
    if (m.type === myResp) {
      if (m.reject) this.#learnCommit(m);
      const result = this.#poll(m.from, !m.reject);
      if (result === 'won') {
        if (this.role === 'pre-candidate') {
          this.#campaign('election');
        } else {
          this.becomeLeader();
          this.bcastAppend();
        }
      } else if (result === 'lost') {
        this.becomeFollower(this.term, NONE);
      }
    }
    return OK;
  }

  #stepFollower(m: Message): StepResult {
    switch (m.type) {
      case 'prop':
        if (this.lead === NONE) return fail('proposal-dropped', 'no leader');
        if (this.cfg.disableProposalForwarding) return fail('proposal-dropped', 'proposal forwarding is disabled');
        this.send({ ...m, to: this.lead });
        return OK;
      case 'app':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.#handleAppend(m);
        return OK;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.#handleHeartbeat(m);
        return OK;
      case 'snap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.#handleSnapshot(m);
        return OK;
      case 'transfer-leader':
        if (this.lead === NONE) return OK;
        this.send({ ...m, to: this.lead });
        return OK;
      case 'timeout-now':
        // Leadership transfer: campaign at once, skipping pre-vote and the others' vote lease.
        this.#hup('transfer');
        return OK;
      case 'read-index':
        if (this.lead === NONE) return fail('read-dropped', 'no leader');
        this.send({ ...m, to: this.lead });
        return OK;
      case 'read-index-resp':
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return OK;
      default:
        return OK;
    }
  }

  // ---- follower-side handling of the leader's messages --------------------------------------

  #handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send(newMessage({ type: 'app-resp', to: m.from, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(newMessage({ type: 'app-resp', to: m.from, index: lastNew }));
      return;
    }
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(newMessage({ type: 'app-resp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
  }

  #handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send(newMessage({ type: 'heartbeat-resp', to: m.from, context: m.context }));
  }

  #handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.#restore(s)) {
      this.send(newMessage({ type: 'app-resp', to: m.from, index: this.log.lastIndex() }));
    } else {
      this.send(newMessage({ type: 'app-resp', to: m.from, index: this.log.committed }));
    }
  }

  #restore(s: Snapshot): boolean {
    const { index, term, confState } = s.metadata;
    if (index <= this.log.committed) return false;
    if (this.role !== 'follower') throw new Error('raft: non-follower restoring a snapshot');
    const cs = confState;
    const member = cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id);
    if (!member) return false;
    if (this.log.matchTerm(index, term)) {
      // We already have the entry the snapshot ends with: just fast-forward the commit index.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(s);
    const r = restoreConfState(this.#changeInputBase(), cs);
    if (!r.ok) throw new Error(`raft: snapshot has an invalid conf state: ${r.error}`);
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    this.isLearner = r.progress.get(this.id)?.isLearner ?? false;
    return true;
  }

  // ---- callbacks from RawNode ---------------------------------------------------------------

  /** The Ready whose entries ended at lastEntry and which carried hardState is durable. */
  onPersisted(lastEntry: { index: number; term: number } | undefined, hardState: HardState | undefined): void {
    if (lastEntry !== undefined) {
      this.log.unstable.stableTo(lastEntry.index, lastEntry.term);
      if (this.role === 'leader' && this.log.matchTerm(lastEntry.index, lastEntry.term)) this.#selfAck(lastEntry.index);
    }
    if (
      hardState !== undefined &&
      this.role === 'candidate' &&
      hardState.term === this.term &&
      hardState.vote === this.id &&
      !this.trk.votes.has(this.id)
    ) {
      const result = this.#poll(this.id, true);
      if (result === 'won') {
        this.becomeLeader();
        this.bcastAppend();
      } else if (result === 'lost') {
        this.becomeFollower(this.term, NONE);
      }
    }
  }

  /** The caller applied entries up to log.applied; a leader leaves an auto-leave joint config now. */
  onApplied(): void {
    if (this.role !== 'leader' || !this.trk.config.autoLeave || this.log.applied < this.pendingConfIndex) return;
    if (this.leadTransferee !== NONE) return;
    const data = encodeConfChange(leaveJointChange());
    const ents = this.#appendEntry([{ term: 0, index: 0, type: EntryType.ConfChangeV2, data }], true);
    if (ents === undefined || ents[0] === undefined) throw new Error('raft: auto-leave entry was dropped');
    this.pendingConfIndex = ents[0].index;
    this.bcastAppend();
  }

  applyConfChange(cc: ConfChange): { ok: true; confState: ConfState } | { ok: false; error: string; confState: ConfState } {
    const r = computeConfChange({ config: this.trk.config, progress: this.trk.progress, ...this.#changeInputBase() }, cc);
    if (!r.ok) return { ok: false, error: r.error, confState: this.trk.confState() };
    return { ok: true, confState: this.#switchToConfig(r.config, r.progress) };
  }

  #switchToConfig(config: TrackerConfig, progress: Map<NodeId, Progress>): ConfState {
    this.trk.config = config;
    this.trk.progress = progress;
    const pr = progress.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    const cs = this.trk.confState();
    if ((pr === undefined || this.isLearner) && this.role === 'leader') {
      // A removed or demoted leader steps down; the remaining voters elect a new one.
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.role !== 'leader' || cs.voters.length === 0) return cs;
    // The quorum changed: the commit index may move, and new members need probing.
    if (this.#maybeCommit()) this.#onCommitAdvanced();
    else for (const id of progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.leadTransferee = NONE;
    return cs;
  }
}
