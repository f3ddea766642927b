/**
 * Wires etcd's concurrency services (v3lockpb.Lock, v3electionpb.Election) into a member. They are
 * recipes over KV and Lease (see docs/concurrency.md): no apply handlers of their own, one event
 * listener feeding the waiters, and a stop signal that ends every waiting call at shutdown.
 */
import { setMaxListeners } from 'node:events';
import { LockService } from '../../proto/gen/v3lockpb/v3lock.js';
import { ElectionService } from '../../proto/gen/v3electionpb/v3election.js';
import { berthError } from '../../errors/index.js';
import { componentLogger } from '../../log/index.js';
import type { ConcurrencyError } from '../concurrency/errors.js';
import { KeyEvents } from '../concurrency/key-events.js';
import type { ServiceModule } from '../services.js';
import { electionService } from './election.js';
import { lockService } from './lock.js';

export const concurrencyModule: ServiceModule = {
  name: 'concurrency',
  register(ctx, grpcServer) {
    const events = new KeyEvents();
    ctx.onEvents((evs, revision) => events.publish(evs, revision));
    const stop = new AbortController();
    // Every waiting call listens to it: no leak warning past 10 concurrent waiters.
    setMaxListeners(0, stop.signal);
    ctx.onStop(() => stop.abort({ kind: 'server', error: berthError('stopped') } satisfies ConcurrencyError));
    const c = { ctx, events, logger: componentLogger(ctx.logger, 'concurrency') };
    grpcServer.addService(LockService, lockService(c, stop.signal));
    grpcServer.addService(ElectionService, electionService(c, stop.signal));
  },
};
