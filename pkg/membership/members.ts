/**
 * The cluster's member records (what MemberList shows), persisted in the Membership keyspace.
 *
 * Records change only when a conf-change entry or a MemberAttributesSet command is applied, and the
 * ops go into that entry's apply batch, so the records always match the applied index. Removed IDs
 * are remembered forever: a removed member can never come back with its old identity.
 */
import { Keyspace, del, keyIn, keyspaceRange, put, type BatchOp, type Engine } from '../storage/engine/index.js';
import { MemberAttributes } from '../proto/gen/berthpb/command.js';

export interface Member {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

const MEMBER = 0x6d; // 'm'
const REMOVED = 0x72; // 'r'
const CLUSTER = 0x63; // 'c'
const REJECTED = 0x78; // 'x': conf-change entries refused at apply (by raft index)

function idKey(tag: number, id: bigint): Uint8Array {
  const b = Buffer.alloc(9);
  b[0] = tag;
  b.writeBigUInt64BE(id, 1);
  return keyIn(Keyspace.Membership, b);
}

const CLUSTER_KEY = keyIn(Keyspace.Membership, Uint8Array.of(CLUSTER));

export function encodeMember(m: Member): Uint8Array {
  return MemberAttributes.encode({
    id: m.id,
    name: m.name,
    peerUrls: [...m.peerUrls],
    clientUrls: [...m.clientUrls],
    isLearner: m.isLearner,
  }).finish();
}

export function decodeMember(b: Uint8Array): Member {
  const a = MemberAttributes.decode(b);
  return { id: a.id, name: a.name, peerUrls: a.peerUrls, clientUrls: a.clientUrls, isLearner: a.isLearner };
}

export class MemberStore {
  readonly #members = new Map<bigint, Member>();
  readonly #removed = new Set<bigint>();
  /** Peer URLs of removed members (kept: a removed voter stays reachable while a joint config holds it). */
  readonly #removedUrls = new Map<bigint, readonly string[]>();
  #clusterId: bigint;

  private constructor(clusterId: bigint) {
    this.#clusterId = clusterId;
  }

  /** Loads every record. A member dir without records (not bootstrapped yet) gives an empty store. */
  static async load(engine: Engine): Promise<MemberStore> {
    const cid = await engine.get(CLUSTER_KEY);
    const s = new MemberStore(cid === undefined ? 0n : Buffer.from(cid).readBigUInt64BE(0));
    for await (const { key, value } of engine.iterate(keyspaceRange(Keyspace.Membership))) {
      if (key[1] === MEMBER) {
        const m = decodeMember(value);
        s.#members.set(m.id, m);
      } else if (key[1] === REMOVED) {
        const id = Buffer.from(key).readBigUInt64BE(2);
        s.#removed.add(id);
        if (value.byteLength > 0) s.#removedUrls.set(id, decodeMember(value).peerUrls);
      }
    }
    return s;
  }

  /** Re-reads every record (the state was replaced by a raft snapshot install). */
  async reload(engine: Engine): Promise<void> {
    const fresh = await MemberStore.load(engine);
    this.#clusterId = fresh.#clusterId === 0n ? this.#clusterId : fresh.#clusterId;
    this.#members.clear();
    this.#removed.clear();
    this.#removedUrls.clear();
    for (const [id, m] of fresh.#members) this.#members.set(id, m);
    for (const id of fresh.#removed) this.#removed.add(id);
    for (const [id, u] of fresh.#removedUrls) this.#removedUrls.set(id, u);
  }

  get clusterId(): bigint {
    return this.#clusterId;
  }

  list(): Member[] {
    return [...this.#members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: bigint): Member | undefined {
    return this.#members.get(id);
  }

  isRemoved(id: bigint): boolean {
    return this.#removed.has(id);
  }

  /** The peer URLs a removed member had (undefined if unknown or not removed). */
  removedPeerUrls(id: bigint): readonly string[] | undefined {
    return this.#removedUrls.get(id);
  }

  /** Sets the cluster ID (bootstrap or first contact) and returns the op that persists it. */
  setClusterId(id: bigint): BatchOp {
    this.#clusterId = id;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(id);
    return put(CLUSTER_KEY, b);
  }

  /** Adds or replaces a member; returns the op that persists it (caller puts it in the apply batch). */
  upsert(m: Member): BatchOp {
    this.#members.set(m.id, m);
    return put(idKey(MEMBER, m.id), encodeMember(m));
  }

  /**
   * Records that the conf-change entry at `index` was refused when applied (written in that entry's
   * batch). A restart replays entries above the raft snapshot; the member records then already show
   * later changes, so whether raft took a replayed change is read back from here, not re-decided.
   */
  rejectedChangeOp(index: number): BatchOp {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(index));
    return put(keyIn(Keyspace.Membership, Buffer.concat([Buffer.of(REJECTED), b])), new Uint8Array(0));
  }

  static async wasRejected(engine: Engine, index: number): Promise<boolean> {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(index));
    return (await engine.get(keyIn(Keyspace.Membership, Buffer.concat([Buffer.of(REJECTED), b])))) !== undefined;
  }

  /** Removes a member for good; returns the ops that persist it. */
  remove(id: bigint): BatchOp[] {
    const old = this.#members.get(id);
    this.#members.delete(id);
    this.#removed.add(id);
    if (old !== undefined) this.#removedUrls.set(id, old.peerUrls);
    return [del(idKey(MEMBER, id)), put(idKey(REMOVED, id), old === undefined ? new Uint8Array(0) : encodeMember(old))];
  }
}
