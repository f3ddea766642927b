/** Wires the Watch service into a member: the hub is fed by applied writes and leader changes. */
import { LeaderWatch, WatchHub } from '../watch/index.js';
import type { ServiceModule } from '../services.js';
import { componentLogger } from '../../log/index.js';
import { watchService, WatchWireService } from './watch.js';
import { watchPermission } from '../auth/gate.js';
import { memberMetrics, onScrape } from './metrics-registry.js';

/** etcd sends gRPC messages up to max-request-bytes plus this overhead; fragments are cut there. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd cancels hasleader streams after about this many election timeouts without a leader. */
const NO_LEADER_ELECTION_TIMEOUTS = 3;

export const watchModule: ServiceModule = {
  name: 'watch',
  register(ctx, grpcServer) {
    const hub = new WatchHub({
      mvcc: ctx.mvcc,
      header: (rev) => ctx.header(rev),
      progressNotifyIntervalMs: ctx.config.watchProgressNotifyIntervalMs,
      fragmentLimitBytes: ctx.config.maxRequestBytes + GRPC_OVERHEAD_BYTES,
      logger: componentLogger(ctx.logger, 'watch'),
    });
    const auth = ctx.auth;
    const leader = new LeaderWatch(ctx.leader(), NO_LEADER_ELECTION_TIMEOUTS * ctx.config.electionTimeoutMs);
    const drop = ctx.testHooks?.dropWatchPublish;
    let published = 0;
    ctx.onEvents((events, revision) => {
      if (++published === drop) return; // a deliberate defect, only ever set by e2e/robustness
      hub.publish(events, revision);
    });
    ctx.onSnapshotInstalled?.(() => hub.resync());
    ctx.onLeaderChange((l) => leader.update(l));
    ctx.onStop(() => {
      leader.stop();
      hub.stop();
    });
    const m = memberMetrics(ctx);
    // The watch gauges mirror the hub's state at scrape time; events sent is a running total there.
    let eventsSeen = 0;
    onScrape(ctx, () => {
      const s = hub.stats();
      m.mvcc.watchStreamTotal.set(s.streams);
      m.mvcc.watcherTotal.set(s.synced + s.unsynced);
      m.mvcc.slowWatcherTotal.set(s.unsynced);
      if (s.events > eventsSeen) m.mvcc.eventsTotal.inc(s.events - eventsSeen);
      eventsSeen = s.events;
    });
    const failures = {
      receive: m.network.serverStreamFailures.labels({ Type: 'receive', API: 'watch' }),
      send: m.network.serverStreamFailures.labels({ Type: 'send', API: 'watch' }),
    };
    grpcServer.addService(
      WatchWireService,
      watchService({
        hub,
        leader,
        onStreamFailure: (direction) => failures[direction].inc(),
        ...(auth === undefined ? {} : { permitCreate: (call, req) => watchPermission(auth, call, req) }),
      }),
    );
  },
};
