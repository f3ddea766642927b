/**
 * What a running member offers to its services (gRPC handlers, HTTP, background loops). Built once
 * by the composition root (member.ts); services receive it and take only what they need.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Engine } from '../storage/engine/index.js';
import type { Event, MvccStore } from '../storage/mvcc/index.js';
import type { MemberStore } from '../membership/members.js';
import type * as pb from '../proto/gen/etcdserverpb/rpc.js';
import type { RequestHeader } from '../proto/gen/berthpb/command.js';
import type { Status } from '../raft/index.js';
import type { CommandCase, CommandHandler } from './apply/applier.js';
import type { CommandRequest } from './propose.js';
import type { Outcome } from './wait.js';
import type { IdGenerator } from './ids.js';
import type { Reconfigurer } from './membership/reconfigure.js';
import type { TlsMaterial } from '../tls/index.js';
import type { MemberAuth } from './auth/member-auth.js';
import type { MemberTestHooks } from './member.js';

export interface MemberContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly memberId: bigint;
  readonly members: MemberStore;
  readonly engine: Engine;
  readonly mvcc: MvccStore;
  /** Unique 64-bit IDs (requests, leases). */
  readonly ids: IdGenerator;
  /** Auth store, tokens and caller identity (pkg/server/auth); absent in unit-test fakes. */
  readonly auth?: MemberAuth;
  /** Fills a response header: cluster/member ID, the given revision, current raft term. */
  header(revision: bigint): pb.ResponseHeader;
  /** Replicates a command and resolves with its apply result (never rejects). */
  propose<T>(request: CommandRequest, header?: RequestHeader): Promise<Outcome<T>>;
  /** Resolves once local state reflects every write acknowledged before the call (ReadIndex). */
  linearizableRead(): Promise<Outcome<void>>;
  /**
   * Resolves once this member has applied every entry it knows to be committed (etcd's
   * waitAppliedIndex): local, no quorum round. Enough where leadership is checked otherwise.
   */
  appliedCommitted(): Promise<Outcome<void>>;
  /** Raft's view: role, term, leader, commit/applied, progress (leader only). */
  raftStatus(): Status;
  /** The index the state machine has applied. */
  appliedIndex(): number;
  /** Current leader ID, 0n when unknown. */
  leader(): bigint;
  term(): number;
  /** Moves leadership to `to` (MoveLeader); resolves once `to` leads or fails after a timeout. */
  transferLeadership(to: bigint): Promise<Outcome<void>>;
  /** Membership changes as raft conf changes (the Cluster service's write calls). */
  readonly reconfig: Reconfigurer;
  /** For apply handlers: publishes the events of a durable write to every onEvents listener. */
  publishEvents(events: readonly Event[], revision: bigint): void;
  /** Watch events of every applied write, in revision order, after they are durable. */
  onEvents(listener: (events: readonly Event[], revision: bigint) => void): void;
  /** Leader changes (leader 0n = lost). */
  onLeaderChange(listener: (leader: bigint, term: number) => void): void;
  /** Registers the apply handler of a command kind (once, before start). */
  registerHandler(kind: CommandCase, handler: CommandHandler): void;
  /**
   * Called after a raft snapshot from the leader replaced the state underneath (in registration
   * order, before the member serves the new state): reload in-memory copies of stored state.
   */
  onSnapshotInstalled?(fn: () => Promise<void> | void): void;
  /** Deliberate defects for the robustness checkers' self-tests; empty in production (member.ts). */
  readonly testHooks?: MemberTestHooks;
  /** Called at shutdown, in reverse registration order. */
  onStop(fn: () => Promise<void> | void): void;
  /**
   * The client-side TLS material (certificate, CA, client-cert-auth; reloaded on change), for extra
   * https listeners such as --listen-metrics-urls; undefined when the client side has no TLS.
   */
  readonly clientTls?: TlsMaterial | undefined;
}
