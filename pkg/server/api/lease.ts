/**
 * The etcdserverpb.Lease service: validate → call → map error → fill header.
 *
 * Grant and Revoke are replicated commands. KeepAlive, TimeToLive and the expiry clock live on the
 * leader only (renewals are not replicated, as in etcd). etcd forwards a follower's keep-alive and
 * time-to-live requests to the leader over the peer HTTP API; berth forwards them through the
 * leader's published client URL (lease-forward.ts). When that is not possible, a follower waits up to
 * the request timeout for leadership to come to it and otherwise answers the way etcd does when it
 * cannot reach a leader: Unavailable "etcdserver: no leader" when no leader is known, else
 * Unavailable "etcdserver: request timed out". LeaseLeases is answered locally.
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import { MAX_LEASE_TTL, type Lessor } from '../../lease/index.js';
import { berthError, type BerthError } from '../../errors/index.js';
import type { HeaderFiller } from '../convert.js';
import { toServiceError } from '../errors.js';
import type { CommandRequest } from '../propose.js';
import type { Outcome } from '../wait.js';
import type { GrantResult, RevisionResult } from '../apply/lease.js';
import { leaseError } from '../apply/lease-errors.js';
import { unary } from './kv.js';
import type { RequestHeader } from '../../proto/gen/berthpb/command.js';
import { clientAuthHeader } from '../auth/member-auth.js';

export interface LeaseDeps {
  readonly lessor: Lessor;
  readonly proposer: { propose<T>(r: CommandRequest, header?: RequestHeader): Promise<Outcome<T>> };
  /**
   * Resolves once this member has applied every entry it knows committed (etcd 3.5+'s
   * waitAppliedIndex before a renewal or time-to-live): no quorum round per keep-alive. Leadership is
   * the lessor's business: it is promoted only after a ReadIndex round in the leader's term
   * (lease-module.ts) and demoted when leadership is lost (check-quorum bounds a stale leader).
   */
  readonly appliedCommitted: () => Promise<Outcome<void>>;
  readonly header: HeaderFiller;
  readonly currentRevision: () => bigint;
  /** A fresh 64-bit ID (masked to a positive int64 here). */
  readonly nextId: () => bigint;
  /** The current leader, 0n when unknown. */
  readonly leader: () => bigint;
  /** This member's ID (to tell whether the leader is someone else). */
  readonly self: bigint;
  /** Asks the leader on a follower's behalf; undefined answers mean "could not forward". */
  readonly forward?: {
    renew(id: bigint, timeoutMs: number): Promise<bigint | undefined>;
    timeToLive(req: pb.LeaseTimeToLiveRequest, timeoutMs: number): Promise<pb.LeaseTimeToLiveResponse | undefined>;
  };
  readonly requestTimeoutMs: number;
  /** This member (as primary) renewed a lease (etcd_debugging_lease_renewed_total). */
  readonly onRenewed?: () => void;
  /** A keep-alive stream failed to receive or send, not by the client going away (etcd_network_server_stream_failures_total). */
  readonly onStreamFailure?: (direction: 'receive' | 'send') => void;
}

const INT63_MASK = (1n << 63n) - 1n;

function fail(error: BerthError): Outcome<never> {
  return { ok: false, error };
}

function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

/** Resolves to `o`, or to a timeout error after `ms`. */
function withDeadline<T>(p: Promise<Outcome<T>>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve(fail(berthError('timeout'))), Math.max(0, ms));
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

export function leaseService(d: LeaseDeps): UntypedServiceImplementation {
  /** Waits until this member's lessor is primary, then until it has applied every entry it knows committed. */
  const onPrimary = async (deadline: number): Promise<Outcome<void>> => {
    if (!(await d.lessor.whenPrimary(deadline - Date.now()))) {
      return fail(berthError(d.leader() === 0n ? 'noLeader' : 'timeout'));
    }
    return withDeadline(d.appliedCommitted(), deadline - Date.now());
  };

  /** A keep-alive: the granted TTL, or 0 when the lease does not exist (etcd answers, not fails). */
  const renew = async (id: bigint): Promise<Outcome<bigint>> => {
    const deadline = Date.now() + d.requestTimeoutMs;
    const f = d.forward;
    if (f !== undefined && d.leader() !== 0n && d.leader() !== d.self) {
      const ttl = await f.renew(id, d.requestTimeoutMs);
      if (ttl !== undefined) return ok(ttl);
    }
    for (;;) {
      const p = await onPrimary(deadline);
      if (!p.ok) return p;
      const r = await withDeadline(d.lessor.renew(id).then((x) => ok(x)), deadline - Date.now());
      if (!r.ok) return r;
      if (r.value.ok) {
        d.onRenewed?.();
        return ok(r.value.value);
      }
      if (r.value.error === 'lease-not-found') return ok(0n);
      // Demoted meanwhile: wait for leadership again until the deadline.
      if (Date.now() >= deadline) return fail(berthError('timeout'));
    }
  };

  const grant = async (req: pb.LeaseGrantRequest): Promise<Outcome<pb.LeaseGrantResponse>> => {
    if (req.TTL > MAX_LEASE_TTL) return fail(leaseError('ttl-too-large'));
    let id = req.ID;
    while (id === 0n) id = d.nextId() & INT63_MASK;
    const o = await d.proposer.propose<GrantResult>({ $case: 'leaseGrant', value: { ID: id, TTL: req.TTL } });
    if (!o.ok) return o;
    return ok({ header: d.header(o.value.revision), ID: o.value.id, TTL: o.value.ttl, error: '' });
  };

  const revoke = async (req: pb.LeaseRevokeRequest): Promise<Outcome<pb.LeaseRevokeResponse>> => {
    // Always with a header: a revoke sent while auth is off is judged as anonymous should auth be
    // enabled before it applies (etcd's empty header). The expiry revokes the leader proposes carry
    // none and are not checked (etcd proposes them as root).
    const o = await d.proposer.propose<RevisionResult>({ $case: 'leaseRevoke', value: { ID: req.ID } }, clientAuthHeader());
    return o.ok ? ok({ header: d.header(o.value.revision) }) : o;
  };

  const timeToLive = async (req: pb.LeaseTimeToLiveRequest): Promise<Outcome<pb.LeaseTimeToLiveResponse>> => {
    const f = d.forward;
    if (f !== undefined && d.leader() !== 0n && d.leader() !== d.self) {
      const r = await f.timeToLive(req, d.requestTimeoutMs);
      if (r !== undefined) return ok({ ...r, header: d.header(d.currentRevision()) });
    }
    const p = await onPrimary(Date.now() + d.requestTimeoutMs);
    if (!p.ok) return p;
    const t = d.lessor.timeToLive(req.ID, req.keys);
    const header = d.header(d.currentRevision());
    if (t === undefined) return ok({ header, ID: req.ID, TTL: -1n, grantedTTL: 0n, keys: [] });
    return ok({ header, ID: t.id, TTL: t.ttl, grantedTTL: t.grantedTtl, keys: [...t.keys] });
  };

  const leases = async (): Promise<Outcome<pb.LeaseLeasesResponse>> =>
    ok({ header: d.header(d.currentRevision()), leases: d.lessor.leases().map((ID) => ({ ID })) });

  const keepAlive = (call: ServerDuplexStream<pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse>): void => {
    let closed = false;
    // One request at a time, in order, like etcd's receive → renew → send loop.
    let chain: Promise<void> = Promise.resolve();
    const finish = (err?: BerthError): void => {
      if (closed) return;
      closed = true;
      if (err === undefined) call.end();
      else call.emit('error', toServiceError(err));
    };
    const written = (err: Error | null | undefined): void => {
      if (err !== null && err !== undefined && !closed) d.onStreamFailure?.('send');
    };
    call.on('data', (req: pb.LeaseKeepAliveRequest) => {
      chain = chain.then(async () => {
        if (closed) return;
        const o = await renew(req.ID);
        if (closed) return;
        if (!o.ok) return finish(o.error);
        call.write({ header: d.header(d.currentRevision()), ID: req.ID, TTL: o.value }, written);
      });
    });
    call.on('end', () => void chain.then(() => finish()));
    call.on('cancelled', () => {
      closed = true;
    });
    call.on('error', () => {
      if (!closed) d.onStreamFailure?.('receive');
      closed = true;
    });
  };

  return {
    leaseGrant: unary(grant),
    leaseRevoke: unary(revoke),
    leaseKeepAlive: keepAlive,
    leaseTimeToLive: unary(timeToLive),
    leaseLeases: unary(leases),
  };
}
