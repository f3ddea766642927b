/**
 * One simulated server: durable storage (a MemoryStorage that only ever receives what was persisted),
 * a durable state-machine checkpoint, and, while up, a RawNode plus the live state machine. A Ready is
 * handled in two steps the simulator interleaves with everything else, as an asynchronous server does:
 *  1. take: ready(); messages (e.g. the leader's appends) go out at once; the Ready is now pending;
 *  2. persist: snapshot, entries and hard state become durable; messagesAfterPersist go out;
 *     committed entries are applied; read states are handed over; advance().
 * A crash between the two loses the pending Ready: its entries and hard state were never written and
 * its messagesAfterPersist are never sent.
 */
import type { ConfState, Entry, Message, NodeId, RaftKnobs, Ready, ReadState } from '../../../pkg/raft/index.js';
import { EntryType, MemoryStorage, RawNode, StorageError, decodeConfChange } from '../../../pkg/raft/index.js';
import type { SafetyChecker } from './checker.js';
import type { Prng } from './prng.js';
import type { SmState, SnapshotBlobs } from './state-machine.js';
import { applyNormal, cloneSm, contentHash, decodeWrite, initialSm, nextDigest } from './state-machine.js';

export interface RaftSettings {
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly knobs: RaftKnobs;
}

/** What a node needs from the world around it. */
export interface NodeEnv {
  readonly checker: SafetyChecker;
  readonly blobs: SnapshotBlobs;
  readonly applyMode: 'durable-apply' | 'replay';
  send(m: Message): void;
  readStates(id: NodeId, rs: readonly ReadState[]): void;
  /** A committed conf change was applied; `cs` is the resulting configuration. */
  confApplied(id: NodeId, cs: ConfState, index: number): void;
  /** Leader `id` announces commit index c (entry term t) under configuration cs. */
  /**
   * Leader `id` announces commit index c (entry term t) under configuration cs; `withEntry`: the entry
   * at c is in the same Ready, persisted in one write with the hard state and applied only after it.
   */
  commitAnnounced(id: NodeId, c: number, t: number, cs: ConfState, withEntry: boolean): void;
  trace(line: () => string): void;
}

export class SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly #settings: RaftSettings;
  readonly #rand: Prng;
  readonly #initialConf: ConfState;
  /** The state machine as it is on disk (see ScenarioParams.applyMode). */
  durableSm: SmState;
  /** The live state machine; meaningful only while up. */
  sm: SmState;
  rn: RawNode | undefined = undefined;
  pending: Ready | undefined = undefined;
  /** Role and term as of the last Ready taken (the soft state a server would track). */
  role = 'follower';
  restarts = 0;
  /** Hard state as of the last Ready taken, and whether the configuration changed since. */
  #lastTerm = 0;
  #lastCommit = 0;
  #confChanged = true;

  constructor(id: NodeId, initialVoters: readonly NodeId[], settings: RaftSettings, rand: Prng) {
    this.id = id;
    this.storage = new MemoryStorage({ voters: initialVoters });
    this.#initialConf = this.storage.initialState().confState;
    this.#settings = settings;
    this.#rand = rand;
    this.durableSm = initialSm(this.#initialConf);
    this.sm = cloneSm(this.durableSm);
  }

  get up(): boolean {
    return this.rn !== undefined;
  }

  /** Starts (or restarts) from durable state only. */
  start(): void {
    this.sm = cloneSm(this.durableSm);
    this.storage.setConfState(this.durableSm.confState);
    const s = this.#settings;
    this.rn = new RawNode({
      id: this.id,
      storage: this.storage,
      electionTick: s.electionTick,
      heartbeatTick: s.heartbeatTick,
      rand: (n: number) => this.#rand.int(n),
      applied: this.durableSm.applied,
      preVote: s.preVote,
      checkQuorum: s.checkQuorum,
      maxSizePerMsg: s.maxSizePerMsg,
      maxInflightMsgs: s.maxInflightMsgs,
      knobs: s.knobs,
    });
    this.pending = undefined;
    this.role = 'follower';
    this.#lastTerm = this.storage.hardState().term;
    this.#lastCommit = this.storage.hardState().commit;
    this.#confChanged = true;
  }

  /** Loses everything not durable. */
  crash(): void {
    this.rn = undefined;
    this.pending = undefined;
    this.restarts++;
  }

  #raft(): RawNode {
    if (this.rn === undefined) throw new Error(`sim: node ${this.id} is down`);
    return this.rn;
  }

  /** Step 1: take a Ready and send what may leave before persistence. */
  take(env: NodeEnv): void {
    const rn = this.#raft();
    const rd = rn.ready();
    this.pending = rd;
    if (rd.softState !== undefined) {
      this.role = rd.softState.role;
      const term = rd.hardState?.term ?? rn.status().term;
      env.trace(() => `n${this.id} becomes ${rd.softState?.role} (term ${term}, lead ${rd.softState?.lead})`);
      if (rd.softState.role === 'leader') env.checker.leader(this.id, term);
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      const snap = rd.snapshot?.metadata;
      const prevIndex = first.index - 1;
      const prevTerm = snap !== undefined && snap.index === prevIndex ? snap.term : this.#durableTerm(prevIndex);
      if (prevTerm === undefined) throw new Error(`raft: Ready entries start at ${first.index} but the durable log has no entry ${prevIndex}`);
      env.checker.entriesHandedOut(this.id, rd.entries, prevTerm, contentHash, (i) => (snap !== undefined ? undefined : this.#durableTerm(i)));
    }
    const hs = rd.hardState;
    if (hs !== undefined) {
      // A leader that stayed leader of the same term and configuration since the last Ready counted
      // the commit index against that configuration: it must be durable on a quorum of it.
      if (rd.softState === undefined && this.role === 'leader' && !this.#confChanged && hs.term === this.#lastTerm && hs.commit > this.#lastCommit) {
        const c = hs.commit;
        const inReady = first !== undefined && c >= first.index ? rd.entries[c - first.index] : undefined;
        const t = inReady?.term ?? this.#durableTerm(c);
        if (t === undefined) throw new Error(`raft: leader ${this.id} commits ${c} beyond its log`);
        env.commitAnnounced(this.id, c, t, rn.status().config, inReady !== undefined);
      }
      this.#lastTerm = hs.term;
      this.#lastCommit = hs.commit;
    }
    this.#confChanged = false;
    env.trace(() => `n${this.id} ready: ${describeReady(rd)}`);
    for (const m of rd.messages) this.#send(env, m);
  }

  /** Term of durable entry i, undefined if absent (compacted below the dummy, or beyond the end). */
  #durableTerm(i: number): number | undefined {
    try {
      return this.storage.term(i);
    } catch (e: unknown) {
      if (e instanceof StorageError) return undefined;
      throw e;
    }
  }

  #send(env: NodeEnv, m: Message): void {
    env.checker.sent(this.id, m, this.storage.hardState(), this.storage.lastIndex());
    env.send(m.type === 'snap' ? this.#mergedSnapshot(env, m) : m);
  }

  /**
   * Like etcd's transport (createMergedSnapshotMessage), the snapshot actually streamed is a fresh
   * checkpoint of the sender's state machine at its applied index, with the configuration as of that
   * index, not the possibly older one in raft's storage. This matters for members added after the
   * last stored snapshot: raft refuses a snapshot whose configuration does not contain the receiver.
   */
  #mergedSnapshot(env: NodeEnv, m: Message): Message {
    const old = m.snapshot;
    const i = this.sm.applied;
    if (old === undefined || i <= old.metadata.index) return m;
    const term = this.#durableTerm(i);
    if (term === undefined) return m;
    const data = env.blobs.put(this.sm);
    return { ...m, snapshot: { metadata: { index: i, term, confState: this.sm.confState }, data } };
  }

  /**
   * Step 2: make the pending Ready durable, send the rest, apply, advance. With crashAfterSending = k
   * the process dies right after the durable write, having sent only the first k messagesAfterPersist
   * and applied nothing (the caller then crashes the node).
   */
  persist(env: NodeEnv, crashAfterSending?: number): void {
    const rn = this.#raft();
    const rd = this.pending;
    if (rd === undefined) throw new Error(`sim: node ${this.id} has no pending Ready`);
    if (rd.snapshot !== undefined) {
      const res = this.storage.applySnapshot(rd.snapshot);
      if (res !== 'ok') throw new Error(`sim: node ${this.id} could not install snapshot ${rd.snapshot.metadata.index}: ${res}`);
      this.sm = env.blobs.get(rd.snapshot.data, this.#initialConf);
      if (this.sm.applied !== rd.snapshot.metadata.index) throw new Error('sim: snapshot blob does not match its metadata');
      this.durableSm = cloneSm(this.sm);
      env.checker.snapshotInstalled(this.id, this.sm, rd.snapshot.metadata.term);
    }
    this.storage.append(rd.entries);
    if (rd.hardState !== undefined) {
      env.checker.hardStatePersisted(this.id, this.storage.hardState(), rd.hardState);
      this.storage.setHardState(rd.hardState);
    }
    if (crashAfterSending !== undefined) {
      for (const m of rd.messagesAfterPersist.slice(0, crashAfterSending)) this.#send(env, m);
      return;
    }
    for (const m of rd.messagesAfterPersist) this.#send(env, m);
    if (rd.committedEntries.length > 0) {
      const term = rn.status().term;
      for (const e of rd.committedEntries) this.#apply(env, rn, e, term);
      if (env.applyMode === 'durable-apply') this.durableSm = cloneSm(this.sm);
    }
    if (rd.readStates.length > 0) env.readStates(this.id, rd.readStates);
    this.pending = undefined;
    rn.advance();
  }

  #apply(env: NodeEnv, rn: RawNode, e: Entry, term: number): void {
    if (e.index !== this.sm.applied + 1) {
      throw new Error(`raft: node ${this.id} is handed entry ${e.index} to apply after applying ${this.sm.applied}`);
    }
    const h = contentHash(e);
    if (e.type === EntryType.ConfChangeV2) {
      const cc = decodeConfChange(e.data);
      if (cc === undefined) throw new Error(`raft: malformed conf change at ${e.index}`);
      this.sm.confState = rn.applyConfChange(cc);
      this.#confChanged = true;
      env.confApplied(this.id, this.sm.confState, e.index);
    } else {
      applyNormal(this.sm, e);
    }
    this.sm.applied = e.index;
    this.sm.digest = nextDigest(this.sm.digest, e, h);
    env.checker.applied(this.id, e, h, this.sm.digest, term);
    const w = e.type === EntryType.Normal ? decodeWrite(e.data) : undefined;
    if (w !== undefined) env.checker.writeAcked(w.id, w.register, e.index);
  }

  /**
   * Snapshots the live state machine at its applied index and compacts the log below it, keeping
   * `keep` entries. Returns false when there is nothing new to snapshot.
   */
  compact(env: NodeEnv, keep: number): boolean {
    const i = this.sm.applied;
    if (!this.up || i <= this.storage.snapshot().metadata.index || i > this.storage.lastIndex()) return false;
    const data = env.blobs.put(this.sm);
    if (this.storage.createSnapshot(i, { confState: this.sm.confState, data }) !== 'ok') return false;
    this.durableSm = cloneSm(this.sm);
    const to = Math.max(i - keep, this.storage.firstIndex());
    if (to > this.storage.firstIndex() - 1) this.storage.compact(to);
    return true;
  }
}

export function describeMessage(m: Message): string {
  let s = `${m.type} ${m.from}->${m.to} t${m.term}`;
  if (m.type === 'app' || m.type === 'app-resp' || m.type === 'vote' || m.type === 'pre-vote' || m.type === 'read-index-resp') {
    s += ` i${m.index} lt${m.logTerm}`;
  }
  if (m.entries.length > 0) s += ` ents[${m.entries.map((e) => `${e.index}/${e.term}`).join(',')}]`;
  if (m.type === 'app' || m.type === 'heartbeat') s += ` c${m.commit}`;
  if (m.reject) s += ` REJECT hint${m.rejectHint}`;
  if (m.snapshot !== undefined) s += ` snap(${m.snapshot.metadata.index}/${m.snapshot.metadata.term})`;
  return s;
}

function describeReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.hardState !== undefined) parts.push(`hs(t${rd.hardState.term} v${rd.hardState.vote} c${rd.hardState.commit})`);
  if (rd.snapshot !== undefined) parts.push(`snap(${rd.snapshot.metadata.index}/${rd.snapshot.metadata.term})`);
  if (rd.entries.length > 0) parts.push(`ents[${rd.entries.map((e) => `${e.index}/${e.term}`).join(',')}]`);
  if (rd.committedEntries.length > 0) {
    const f = rd.committedEntries[0] as Entry;
    const l = rd.committedEntries[rd.committedEntries.length - 1] as Entry;
    parts.push(`apply[${f.index}..${l.index}]`);
  }
  if (rd.messages.length > 0) parts.push(`msgs=${rd.messages.length}`);
  if (rd.messagesAfterPersist.length > 0) parts.push(`msgsAfterPersist=${rd.messagesAfterPersist.length}`);
  if (rd.readStates.length > 0) parts.push(`reads=${rd.readStates.length}`);
  return parts.length === 0 ? 'empty' : parts.join(' ');
}

