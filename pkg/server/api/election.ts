/**
 * The v3electionpb.Election service: validate → call → map error → fill header. The recipe lives in
 * pkg/server/concurrency/election.ts and observe.ts. Errors reach clients as etcd's do (code
 * UNKNOWN with the message text, e.g. "election: not leader", "etcdserver: permission denied"; the
 * recipes' reads and writes are checked as the caller, see kv-ops.ts).
 */
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as epb from '../../proto/gen/v3electionpb/v3election.js';
import type { ErrorKind } from '../../errors/index.js';
import type { Result } from '../concurrency/errors.js';
import type { Concurrency } from '../concurrency/kv-ops.js';
import { campaign, leader, proclaim, resign } from '../concurrency/election.js';
import { observe, type Observation } from '../concurrency/observe.js';
import { callSignal, recipeServiceError, recipeUnary } from './lock.js';

const AUTH_READ_FAILURES: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['permissionDenied', 'userEmpty', 'invalidAuthToken', 'authOldRevision']);

export function electionService(c: Concurrency, stop: AbortSignal): UntypedServiceImplementation {
  const header = (rev: bigint): epb.LeaderResponse['header'] => c.ctx.header(rev);

  const campaignCall = async (req: epb.CampaignRequest, signal: AbortSignal): Promise<Result<epb.CampaignResponse>> => {
    const r = await campaign(c, { name: req.name, lease: req.lease, value: req.value }, signal);
    return r.ok ? { ok: true, value: { header: header(r.value.revision), leader: { ...r.value.leader } } } : r;
  };

  const proclaimCall = async (req: epb.ProclaimRequest): Promise<Result<epb.ProclaimResponse>> => {
    const r = await proclaim(c, req.leader, req.value);
    return r.ok ? { ok: true, value: { header: header(r.value) } } : r;
  };

  const resignCall = async (req: epb.ResignRequest): Promise<Result<epb.ResignResponse>> => {
    const r = await resign(c, req.leader);
    return r.ok ? { ok: true, value: { header: header(r.value) } } : r;
  };

  const leaderCall = async (req: epb.LeaderRequest): Promise<Result<epb.LeaderResponse>> => {
    const r = await leader(c, req.name);
    return r.ok ? { ok: true, value: { header: header(r.value.revision), kv: r.value.kv } } : r;
  };

  const observeCall = (call: ServerWritableStream<epb.LeaderRequest, epb.LeaderResponse>): void => {
    const { signal, done } = callSignal(call, stop);
    const emit = (o: Observation): Promise<void> => {
      if (call.write({ header: header(o.revision), kv: o.kv })) return Promise.resolve();
      // Backpressure: wait until grpc-js has flushed, or the call ends.
      return new Promise<void>((resolve) => {
        const finish = (): void => {
          call.off('drain', finish);
          signal.removeEventListener('abort', finish);
          resolve();
        };
        call.on('drain', finish);
        signal.addEventListener('abort', finish, { once: true });
      });
    };
    void observe(c, call.request.name, emit, signal)
      .then((r) => {
        if (r.ok || r.error.kind === 'cancelled') return;
        // etcd's Observe just ends when a read of its in-process client fails (the observer channel
        // closes): a caller that may not read the election gets status OK and no message.
        if (r.error.kind === 'server' && AUTH_READ_FAILURES.has(r.error.error.kind)) call.end();
        else call.emit('error', recipeServiceError(r.error));
      })
      .finally(done);
  };

  return {
    campaign: recipeUnary(stop, campaignCall),
    proclaim: recipeUnary(stop, proclaimCall),
    leader: recipeUnary(stop, leaderCall),
    observe: observeCall,
    resign: recipeUnary(stop, resignCall),
  };
}
