/**
 * Wires leases into a member: the lessor opened by the composition root (openLessor, before raft
 * applies anything, because the MVCC store's lease check consults it), the apply handlers of
 * LeaseGrant/LeaseRevoke/LeaseCheckpoint, the Lease gRPC service, and the leader-only duties.
 *
 * Attachments: the lessor follows the watch events of every applied write (ctx.onEvents). The KV
 * module owns the put/txn handlers and an apply handler can be registered only once, so deriving
 * attachments from events is the one way that sees every write (Put, Txn, DeleteRange, revoke)
 * without touching KV code. It is exact because events are published synchronously in each entry's
 * `after`, in apply order, before the next entry is applied, and carry kv.lease of every PUT.
 *
 * Leadership: on becoming leader the lessor is promoted once the new leader has applied everything
 * committed before its term (one ReadIndex round, like etcd promoting when its first no-op of the
 * term is applied): every lease then expires at now + TTL + one election timeout, never earlier.
 * Losing leadership demotes it (no expiry, renewals refused). The expiry timer (500 ms, at most
 * 1000 revocations a second) proposes LeaseRevoke for expired leases on the leader only.
 */
import { LeaseService } from '../../proto/gen/etcdserverpb/rpc.js';
import { lessorOf } from '../../lease/index.js';
import { componentLogger } from '../../log/index.js';
import { leaseHandlers, type RevisionResult } from '../apply/lease.js';
import type { ServiceModule } from '../services.js';
import type { MemberContext } from '../context.js';
import type { Lessor } from '../../lease/index.js';
import { leaseService } from './lease.js';
import { LeaseForwarder } from './lease-forward.js';
import { memberMetrics } from './metrics-registry.js';
import { mvccOpCounter } from '../apply/op-counts.js';

/** Same bound as the member's proposals (member.ts): etcd's ReqTimeout. */
function requestTimeoutMs(ctx: MemberContext): number {
  return 5000 + 2 * ctx.config.electionTimeoutMs;
}

/** Promotes the lessor once this member, still leader in `term`, has applied all earlier entries. */
async function promoteWhenCaughtUp(ctx: MemberContext, lessor: Lessor, term: number, stopped: () => boolean): Promise<void> {
  const stillLeading = (): boolean => !stopped() && ctx.leader() === ctx.memberId && ctx.term() === term;
  while (stillLeading()) {
    const o = await ctx.linearizableRead();
    if (o.ok) {
      if (stillLeading() && !lessor.isPrimary) lessor.promote(ctx.config.electionTimeoutMs);
      return;
    }
    if (o.error.kind === 'stopped') return;
    // Never spin: a read that fails at once (no leader yet) is retried after a heartbeat.
    await new Promise((r) => setTimeout(r, ctx.config.heartbeatIntervalMs).unref());
  }
}

export const leaseModule: ServiceModule = {
  name: 'lease',
  register(ctx, grpcServer) {
    const lessor = lessorOf(ctx.engine);
    const log = componentLogger(ctx.logger, 'lease');
    let stopped = false;

    const metrics = memberMetrics(ctx);
    const countOps = mvccOpCounter(metrics);
    const failures = {
      receive: metrics.network.serverStreamFailures.labels({ Type: 'receive', API: 'lease-keepalive' }),
      send: metrics.network.serverStreamFailures.labels({ Type: 'send', API: 'lease-keepalive' }),
    };
    const h = leaseHandlers({
      lessor,
      mvcc: ctx.mvcc,
      sink: ctx.publishEvents,
      maxTxnOps: ctx.config.maxTxnOps,
      logger: log,
      onGranted: (ttl) => {
        metrics.lease.granted.inc();
        metrics.lease.ttl.observe(Number(ttl));
      },
      onRevoked: (keys) => {
        metrics.lease.revoked.inc();
        // etcd deletes the attached keys one DeleteRange each, in one storage transaction.
        countOps(0, 0, keys);
      },
    });
    ctx.registerHandler('leaseGrant', h.leaseGrant);
    ctx.registerHandler('leaseRevoke', h.leaseRevoke);
    ctx.registerHandler('leaseCheckpoint', h.leaseCheckpoint);
    ctx.onEvents((events) => lessor.observe(events));

    ctx.onLeaderChange((leader, term) => {
      if (leader !== ctx.memberId) {
        if (lessor.isPrimary) log.info({ leases: lessor.size }, 'lessor demoted');
        lessor.demote();
        return;
      }
      void promoteWhenCaughtUp(ctx, lessor, term, () => stopped).then(() => {
        if (lessor.isPrimary) log.info({ leases: lessor.size, term }, 'lessor promoted');
      });
    });

    lessor.start({
      onExpired: (ids) => {
        for (const id of ids) {
          void ctx.propose<RevisionResult>({ $case: 'leaseRevoke', value: { ID: id } }).then((o) => {
            if (o.ok) metrics.server.leaseExpired.inc();
            // Not found = revoked meanwhile (by a client or an earlier attempt); anything else is retried later.
            if (!o.ok && o.error.kind !== 'leaseNotFound' && !stopped) {
              log.warn({ lease: id.toString(16), error: o.error.kind }, 'failed to revoke expired lease');
            }
          });
        }
      },
      onCheckpoint: async (cps) => {
        const checkpoints = cps.map((c) => ({ ID: c.id, remainingTTL: c.remainingTtl }));
        const o = await ctx.propose<RevisionResult>({ $case: 'leaseCheckpoint', value: { checkpoints } });
        if (!o.ok && !stopped) log.warn({ count: cps.length, error: o.error.kind }, 'failed to checkpoint leases');
      },
    });
    const forwarder = new LeaseForwarder({
      leaderClientUrl: () => {
        const id = ctx.leader();
        const url = id === 0n || id === ctx.memberId ? undefined : ctx.members.get(id)?.clientUrls[0];
        return url === undefined ? undefined : { id, url };
      },
    });
    ctx.onStop(() => {
      stopped = true;
      lessor.stop();
      forwarder.close();
    });

    grpcServer.addService(
      LeaseService,
      leaseService({
        lessor,
        proposer: { propose: (r, h) => ctx.propose(r, h) },
        appliedCommitted: () => ctx.appliedCommitted(),
        header: (rev) => ctx.header(rev),
        currentRevision: () => ctx.mvcc.currentRevision,
        nextId: () => ctx.ids.next(),
        leader: () => ctx.leader(),
        self: ctx.memberId,
        forward: forwarder,
        requestTimeoutMs: requestTimeoutMs(ctx),
        onRenewed: () => metrics.lease.renewed.inc(),
        onStreamFailure: (direction) => failures[direction].inc(),
      }),
    );
  },
};
