/**
 * The safety checkers, fed by the simulation at the points where a real server would observe the
 * corresponding facts (a Ready taken, a hard state persisted, a message sent, an entry applied, a
 * read served). Each throws a Violation naming the property broken. State is global to one run.
 *
 * How each property is observed:
 *  - election safety: a node that hands out a Ready as leader claims its term; two claimants fail.
 *    A granted vote (vote-resp) is recorded per (voter, term); granting two candidates fails too.
 *  - log matching: every entry handed out for persistence is recorded by (index, term) with its
 *    content hash and the term of its predecessor; the same (index, term) with a different content or
 *    predecessor fails. By induction two logs sharing (index, term) share the whole prefix.
 *  - committed entry lost: a node whose durable log holds an entry known to be committed never
 *    replaces it (a Ready's entries that overwrite it fail), crash or not.
 *  - leader completeness: when a leader's in-memory log equals its durable log (no Ready pending),
 *    it must hold every entry known committed, if that entry was observed committed by a node whose
 *    term was below the leader's (the commit happened in that term or earlier).
 *  - state-machine safety: the first node to apply index i fixes its (term, content) and the digest of
 *    the whole applied prefix; every other application of i, and every snapshot installed at i, must
 *    agree.
 *  - durability: a persisted hard state never lowers the term, changes a vote within a term, or
 *    lowers the commit index; a granted vote leaves only once that vote (or a later term) is durable;
 *    an append ack (app-resp) of the node's current durable term leaves only once the acknowledged
 *    entries are durable; a leader's new commit index (same term and configuration since its last
 *    Ready) is durable on a quorum of its voters, itself counted only if durable.
 *  - linearizable reads: a ReadIndex read is served at an applied index at least its read index,
 *    which must cover every write acknowledged (applied anywhere) before the read began, and the
 *    register value read must be at least as new as the last acknowledged write to it.
 */
import type { Entry, HardState, Message, NodeId } from '../../../pkg/raft/index.js';
import { NONE } from '../../../pkg/raft/index.js';
import type { SmState } from './state-machine.js';

export type CheckerName =
  | 'election-safety'
  | 'log-matching'
  | 'committed-entry-lost'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'durability'
  | 'linearizable-read'
  | 'liveness'
  | 'raft-invariant'
  | 'sim-error';

export class Violation extends Error {
  readonly checker: CheckerName;
  /** Set when the violation matches a diagnosed pkg/raft bug (see regressions.test.ts). */
  readonly knownIssue: string | undefined;
  constructor(checker: CheckerName, detail: string, knownIssue?: string) {
    super(`${checker}: ${detail}${knownIssue === undefined ? '' : ` [known issue: ${knownIssue}]`}`);
    this.checker = checker;
    this.knownIssue = knownIssue;
  }
}

/** The removed/demoted leader that strands the survivors (fixed; regressions.test.ts). */
export const STRANDED_BY_LEAVING_LEADER = 'stranded-by-leaving-leader';

const TERM_SPAN = 1 << 20;

/** What the reads checker knows at the moment a read begins. */
export interface ReadStart {
  /** Highest log index of any write acknowledged so far. */
  readonly ackedIndex: number;
  /** Log index of the last acknowledged write to the register read (0 if none). */
  readonly registerAckedIndex: number;
}

export class SafetyChecker {
  /** Checkers to skip (the mutation test uses it to show that a deeper checker also catches a bug). */
  readonly #off: ReadonlySet<CheckerName>;
  readonly #leaderOfTerm = new Map<number, NodeId>();
  readonly #votes = new Map<string, NodeId>();
  /** (index, term) -> content hash and predecessor term. */
  readonly #pairs = new Map<number, { hash: number; prevTerm: number }>();
  /** By index: the committed entry's term, content hash, observer term, and the digest after it. */
  readonly #cTerm: number[] = [];
  readonly #cHash: number[] = [];
  readonly #cObs: number[] = [];
  readonly #digest: number[] = [];
  /** Highest index applied anywhere (everything up to it is committed, if raft is right). */
  knownCommitted = 0;
  /** Leader -> term and index up to which its log was checked against the committed entries. */
  readonly #leaderChecked = new Map<NodeId, { term: number; upTo: number }>();
  #ackedIndex = 0;
  readonly #registerAcked = new Map<number, number>();
  /** Write id -> index where it was first applied (its acknowledgement). */
  readonly writeIndex = new Map<number, number>();
  reads = 0;

  constructor(off: ReadonlySet<CheckerName> = new Set()) {
    this.#off = off;
  }

  #fail(c: CheckerName, detail: string): void {
    if (!this.#off.has(c)) throw new Violation(c, detail);
  }

  /** A node handed out a Ready as leader of `term`. */
  leader(id: NodeId, term: number): void {
    const prev = this.#leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) this.#fail('election-safety', `two leaders in term ${term}: ${prev} and ${id}`);
    this.#leaderOfTerm.set(term, id);
  }

  /**
   * Entries handed out for persistence; prevTerm is the term of the entry before the first one,
   * durableTerm(i) the term of the entry the node's durable log holds at i now (if any).
   */
  entriesHandedOut(
    id: NodeId,
    entries: readonly Entry[],
    prevTerm: number,
    hashOf: (e: Entry) => number,
    durableTerm: (i: number) => number | undefined,
  ): void {
    let prev = prevTerm;
    for (const e of entries) {
      if (e.term >= TERM_SPAN) throw new Error(`sim: term ${e.term} too large for the checker`);
      const h = hashOf(e);
      const key = e.index * TERM_SPAN + e.term;
      const known = this.#pairs.get(key);
      if (known === undefined) {
        this.#pairs.set(key, { hash: h, prevTerm: prev });
      } else if (known.hash !== h || known.prevTerm !== prev) {
        this.#fail(
          'log-matching',
          `node ${id}: entry (${e.index},${e.term}) has content ${h} after term ${prev}; another log has content ${known.hash} after term ${known.prevTerm}`,
        );
      }
      // (A stale node that never held the committed entry may put something else there; it just
      // must never become committed, which the state-machine and leader checks see.)
      const ct = this.#cTerm[e.index];
      if (ct !== undefined && ct !== e.term && durableTerm(e.index) === ct) {
        this.#fail('committed-entry-lost', `node ${id} overwrites the committed entry ${e.index} (term ${ct}) in its durable log with an entry of term ${e.term}`);
      }
      prev = e.term;
    }
  }

  hardStatePersisted(id: NodeId, old: HardState, next: HardState): void {
    if (next.term < old.term) this.#fail('durability', `node ${id}: durable term goes back from ${old.term} to ${next.term}`);
    if (next.term === old.term && old.vote !== NONE && next.vote !== old.vote) {
      this.#fail('durability', `node ${id}: durable vote in term ${old.term} changes from ${old.vote} to ${next.vote}`);
    }
    if (next.commit < old.commit) this.#fail('durability', `node ${id}: durable commit goes back from ${old.commit} to ${next.commit}`);
  }

  /** A message leaves node `id`, whose durable hard state and last durable index are given. */
  sent(id: NodeId, m: Message, durable: HardState, durableLast: number): void {
    if (m.type === 'vote-resp' && !m.reject) {
      // A vote is durable when the hard state records it, or a later term (which rules out voting again).
      if (durable.term < m.term || (durable.term === m.term && durable.vote !== m.to)) {
        this.#fail('durability', `node ${id} grants its vote to ${m.to} in term ${m.term} before persisting it (durable term ${durable.term} vote ${durable.vote})`);
      }
      const k = `${id}:${m.term}`;
      const prev = this.#votes.get(k);
      if (prev !== undefined && prev !== m.to) this.#fail('election-safety', `node ${id} voted for ${prev} and ${m.to} in term ${m.term}`);
      this.#votes.set(k, m.to);
    } else if (m.type === 'app-resp' && !m.reject && m.term >= durable.term && m.index > durableLast) {
      // (An ack of an older term may leave after the same Ready moved to a newer term and truncated the
      // acked entries: the newer term's leader was elected with them in the voters' logs, see §5.4.)
      this.#fail('durability', `node ${id} acks index ${m.index} in term ${m.term} but its durable log ends at ${durableLast}`);
    }
  }

  /** Leader `id` announces commit index c (term t); ok: a quorum of its voters holds (c, t) durably. */
  leaderCommitDurable(id: NodeId, c: number, t: number, ok: boolean, holders: () => string): void {
    if (!ok) this.#fail('durability', `leader ${id} commits (${c},${t}) but no quorum holds it durably (${holders()})`);
  }

  /** Node `id` (at term nodeTerm) applied e; digest is its state machine's digest after it. */
  applied(id: NodeId, e: Entry, hash: number, digest: number, nodeTerm: number): void {
    const i = e.index;
    const t = this.#cTerm[i];
    if (t === undefined) {
      this.#cTerm[i] = e.term;
      this.#cHash[i] = hash;
      this.#cObs[i] = nodeTerm;
      this.#digest[i] = digest;
      if (i > this.knownCommitted) this.knownCommitted = i;
      return;
    }
    if (t !== e.term || this.#cHash[i] !== hash) {
      this.#fail('state-machine-safety', `node ${id} applies (${i},${e.term}) content ${hash}; another node applied (${i},${t}) content ${this.#cHash[i]}`);
    } else if (this.#digest[i] !== digest) {
      this.#fail('state-machine-safety', `node ${id} reaches index ${i} with a different applied history (digest ${digest} vs ${this.#digest[i]})`);
    }
    if (nodeTerm < (this.#cObs[i] ?? 0)) this.#cObs[i] = nodeTerm;
  }

  /** A write's first application acknowledges it to its client. */
  writeAcked(writeId: number, register: number, index: number): void {
    if (this.writeIndex.has(writeId)) return;
    this.writeIndex.set(writeId, index);
    if (index > this.#ackedIndex) this.#ackedIndex = index;
    if (index > (this.#registerAcked.get(register) ?? 0)) this.#registerAcked.set(register, index);
  }

  snapshotInstalled(id: NodeId, sm: SmState, term: number): void {
    const i = sm.applied;
    const t = this.#cTerm[i];
    if (t === undefined) return;
    if (t !== term || this.#digest[i] !== sm.digest) {
      this.#fail('state-machine-safety', `node ${id} installs a snapshot at (${i},${term}) whose state differs from what was applied at ${i} (term ${t})`);
    }
  }

  /** Whether the leader's log needs checking (cheap pre-test before the caller builds the view). */
  leaderNeedsCheck(id: NodeId, term: number): boolean {
    const w = this.#leaderChecked.get(id);
    return w === undefined || w.term !== term || w.upTo < this.knownCommitted;
  }

  /** A leader's exact log, through its term at index i (undefined: not held; null: compacted). */
  leaderLog(id: NodeId, term: number, termAt: (i: number) => number | undefined | null): void {
    let w = this.#leaderChecked.get(id);
    if (w === undefined || w.term !== term) {
      w = { term, upTo: 0 };
      this.#leaderChecked.set(id, w);
    }
    for (let i = w.upTo + 1; i <= this.knownCommitted; i++) {
      const ct = this.#cTerm[i];
      if (ct === undefined || (this.#cObs[i] ?? 0) >= term) continue;
      const lt = termAt(i);
      if (lt === null) continue;
      if (lt !== ct) {
        this.#fail('leader-completeness', `leader ${id} of term ${term} lacks committed entry (${i},${ct}) (has ${lt === undefined ? 'nothing' : `term ${lt}`} there)`);
      }
    }
    w.upTo = this.knownCommitted;
  }

  readStart(register: number): ReadStart {
    return { ackedIndex: this.#ackedIndex, registerAckedIndex: this.#registerAcked.get(register) ?? 0 };
  }

  readServed(id: NodeId, start: ReadStart, readIndex: number, sm: SmState, register: number): void {
    this.reads++;
    if (readIndex < start.ackedIndex) {
      this.#fail('linearizable-read', `node ${id}: read index ${readIndex} is below index ${start.ackedIndex} of a write acknowledged before the read began`);
    }
    const v = sm.kv.get(register);
    if ((v?.index ?? 0) < start.registerAckedIndex) {
      this.#fail('linearizable-read', `node ${id}: register ${register} read as of index ${v?.index ?? 0}, older than write at ${start.registerAckedIndex} acknowledged before the read`);
    }
  }
}
