/**
 * The Lease gRPC handlers against a lessor that is not (yet) primary: what a follower answers
 * without a forwarding channel to the leader.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServiceError } from '@grpc/grpc-js';
import { Lessor } from '../../pkg/lease/index.js';
import { leaseService, type LeaseDeps } from '../../pkg/server/api/lease.js';
import type { LeaseKeepAliveResponse, LeaseTimeToLiveResponse } from '../../pkg/proto/gen/etcdserverpb/rpc.js';

type Handler = (...args: unknown[]) => void;

async function setup(leader: bigint): Promise<{ lessor: Lessor; svc: Record<string, Handler> }> {
  const empty = { iterate: async function* () {} } as unknown as Parameters<typeof Lessor.load>[0];
  const lessor = await Lessor.load(empty, { minTtl: 1n });
  const deps: LeaseDeps = {
    lessor,
    proposer: { propose: () => Promise.resolve({ ok: false, error: { kind: 'internal' } }) },
    appliedCommitted: () => Promise.resolve({ ok: true, value: undefined }),
    header: (revision) => ({ clusterId: 1n, memberId: 2n, revision, raftTerm: 3n }),
    currentRevision: () => 7n,
    nextId: () => 1n,
    leader: () => leader,
    self: 2n,
    requestTimeoutMs: 150,
  };
  return { lessor, svc: leaseService(deps) as unknown as Record<string, Handler> };
}

/** Drives the keep-alive handler with one request; resolves with the first response or error. */
function keepAliveOnce(svc: Record<string, Handler>, id: bigint): Promise<LeaseKeepAliveResponse | ServiceError> {
  return new Promise((resolve) => {
    const call = Object.assign(new EventEmitter(), {
      write: (r: LeaseKeepAliveResponse) => resolve(r),
      end: () => {},
    });
    call.on('error', (e: ServiceError) => resolve(e));
    svc['leaseKeepAlive']?.(call);
    call.emit('data', { ID: id });
  });
}

describe('lease service on a member that is not the leader', () => {
  it('keep-alive fails with "no leader" when no leader is known', async () => {
    const { svc } = await setup(0n);
    const r = (await keepAliveOnce(svc, 1n)) as ServiceError;
    assert.equal(r.code, 14);
    assert.equal(r.details, 'etcdserver: no leader');
  });

  it('keep-alive fails with "request timed out" when the leader is elsewhere (no forwarding yet)', async () => {
    const { svc } = await setup(99n);
    const r = (await keepAliveOnce(svc, 1n)) as ServiceError;
    assert.equal(r.code, 14);
    assert.equal(r.details, 'etcdserver: request timed out');
  });

  it('keep-alive is served once leadership arrives within the request timeout', async () => {
    const { lessor, svc } = await setup(0n);
    const g = lessor.prepareGrant(5n, 9n);
    assert.ok(g.ok);
    g.value.commit();
    const pending = keepAliveOnce(svc, 5n);
    setTimeout(() => lessor.promote(0), 20);
    const r = (await pending) as LeaseKeepAliveResponse;
    assert.equal(r.TTL, 9n);
    assert.equal(r.header?.revision, 7n);
  });

  it('time-to-live waits for leadership too; leases are listed locally', async () => {
    const { lessor, svc } = await setup(42n);
    const ttl = await new Promise<{ err: ServiceError | null; res: LeaseTimeToLiveResponse | undefined }>((resolve) =>
      svc['leaseTimeToLive']?.({ request: { ID: 1n, keys: false } }, (err: ServiceError | null, res?: LeaseTimeToLiveResponse) => resolve({ err, res })),
    );
    assert.equal(ttl.err?.details, 'etcdserver: request timed out');
    const g = lessor.prepareGrant(8n, 9n);
    assert.ok(g.ok);
    g.value.commit();
    const list = await new Promise<{ leases: { ID: bigint }[] }>((resolve) =>
      svc['leaseLeases']?.({ request: {} }, (_e: unknown, res: { leases: { ID: bigint }[] }) => resolve(res)),
    );
    assert.deepEqual(list.leases, [{ ID: 8n }]);
  });
});
