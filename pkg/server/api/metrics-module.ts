/**
 * Prometheus metrics (`/metrics`, etcd's metric names from pkg/metrics) and the health endpoints, on
 * the client port and, with --listen-metrics-urls, on separate listeners serving only /metrics and
 * the health paths (as etcd does); an https metrics URL uses the client TLS material.
 */
import { createServer, type Server } from 'node:http';
import type { Server as TlsServer } from 'node:tls';
import { createTlsListener } from '../listen/tls-listener.js';
import { componentLogger } from '../../log/index.js';
import type { MemberContext } from '../context.js';
import type { HttpRoute, ServiceModule } from '../services.js';
import { spaceQuota } from '../alarm/space-quota.js';
import { healthRoutes } from './metrics-health.js';
import { memberMetrics, proposalStats, runScrapeHooks } from './metrics-registry.js';
import { Counter, Gauge, type Histogram } from 'prom-client';
import { GRPC_CODE_LABELS, tally, type Metrics, type Tally } from '../../metrics/index.js';
import { observeCalls, type CallObserver, type CallType } from '../gateway/unary-registry.js';

/** Sets the gauges that mirror live state; called before each scrape. */
function refresh(ctx: MemberContext): void {
  const m = memberMetrics(ctx);
  const leader = ctx.leader();
  m.server.hasLeader.set(leader !== 0n ? 1 : 0);
  m.server.isLeader.set(leader !== 0n && leader === ctx.memberId ? 1 : 0);
  m.server.isLearner.set(ctx.members.get(ctx.memberId)?.isLearner === true ? 1 : 0);
  m.server.proposalsCommitted.set(ctx.raftStatus().commit);
  m.server.proposalsApplied.set(ctx.appliedIndex());
  m.server.proposalsPending.set(proposalStats(ctx).pending);
  const size = ctx.mvcc.size();
  m.mvcc.dbTotalSizeInBytes.set(Number(size.dbSize));
  m.mvcc.dbTotalSizeInUseInBytes.set(Number(size.dbSizeInUse));
  m.mvcc.currentRevision.set(Number(ctx.mvcc.currentRevision));
  m.mvcc.compactRevision.set(Number(ctx.mvcc.compactRevision));
  runScrapeHooks(ctx);
}

interface MethodChildren {
  readonly labels: { readonly grpc_type: CallType; readonly grpc_service: string; readonly grpc_method: string };
  readonly started: Tally;
  readonly msgReceived: Tally;
  readonly msgSent: Tally;
  readonly handling: Histogram.Internal<'grpc_type' | 'grpc_service' | 'grpc_method'> | undefined;
  /** By gRPC code, bound on first use. */
  readonly handled: (Tally | undefined)[];
}

/** At most this many client_api_version values get a cached child (clients choose the value). */
const MAX_CACHED_API_VERSIONS = 16;

/**
 * go-grpc-prometheus's grpc_server_* (handling_seconds only with --metrics=extensive, as etcd) and
 * etcd's etcd_server_client_requests_total (type "unary" or "stream", client_api_version from the
 * client's `client-api-version` metadata, "unknown" without it). Tallies (pkg/metrics/tally.ts) are
 * made once per method, so a call costs additions, not prom-client's label hashing.
 */
function grpcObserver(m: Metrics, extensive: boolean): CallObserver {
  const methods = new Map<string, MethodChildren>();
  const requests = { unary: new Map<string, Tally>(), stream: new Map<string, Tally>() };
  const method = (path: string, type: CallType): MethodChildren => {
    let c = methods.get(path);
    if (c === undefined) {
      const slash = path.lastIndexOf('/');
      const labels = { grpc_type: type, grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
      c = {
        labels,
        started: tally(m.grpc.started, labels),
        msgReceived: tally(m.grpc.msgReceived, labels),
        msgSent: tally(m.grpc.msgSent, labels),
        handling: extensive ? m.grpc.handlingSeconds.labels(labels) : undefined,
        handled: [],
      };
      methods.set(path, c);
    }
    return c;
  };
  const clientRequest = (type: 'unary' | 'stream', version: string): void => {
    const cache = requests[type];
    let c = cache.get(version);
    if (c === undefined) {
      const labels = { type, client_api_version: version };
      if (cache.size >= MAX_CACHED_API_VERSIONS) return m.server.clientRequests.inc(labels);
      cache.set(version, (c = tally(m.server.clientRequests, labels)));
    }
    c.inc();
  };
  return (path, type, metadata) => {
    const c = method(path, type);
    c.started.inc();
    if (type === 'unary' || type === 'server_stream') c.msgReceived.inc();
    const v = metadata?.get('client-api-version')[0];
    clientRequest(type === 'unary' ? 'unary' : 'stream', typeof v === 'string' && v !== '' ? v : 'unknown');
    const t0 = c.handling === undefined ? 0 : performance.now();
    return (code) => {
      let h = c.handled[code];
      if (h === undefined) c.handled[code] = h = tally(m.grpc.handled, { ...c.labels, grpc_code: GRPC_CODE_LABELS[code] ?? 'Unknown' });
      h.inc();
      if (type === 'unary' && code === 0) c.msgSent.inc();
      c.handling?.observe((performance.now() - t0) / 1000);
    };
  };
}

export const metricsModule: ServiceModule = {
  name: 'metrics',
  register(ctx, grpcServer) {
    const m = memberMetrics(ctx);
    const extensive = ctx.config.metrics === 'extensive';
    // Like go-grpc-prometheus, the latency histogram is not exported at all unless enabled.
    if (!extensive) m.registry.removeSingleMetric('grpc_server_handling_seconds');
    observeCalls(grpcServer, grpcObserver(m, extensive));
    const log = componentLogger(ctx.logger, 'metrics');
    const version = ctx.config.emulatedEtcdVersion;
    m.server.version.set({ server_version: version }, 1);
    m.server.id.set({ server_id: ctx.memberId.toString(16) }, 1);
    m.cluster.version.set({ cluster_version: version.split('.').slice(0, 2).join('.') }, 1);
    m.server.quotaBackendBytes.set(ctx.config.quotaBackendBytes ?? 0);
    let lastLeader = 0n;
    ctx.onLeaderChange((leader) => {
      if (leader !== 0n && leader !== lastLeader) m.server.leaderChangesSeen.inc();
      if (leader !== 0n) lastLeader = leader;
    });
    const healthSuccess = new Counter({ name: 'etcd_server_health_success', help: 'The total number of successful health checks', registers: [m.registry] });
    const healthFailures = new Counter({ name: 'etcd_server_health_failures', help: 'The total number of failed health checks', registers: [m.registry] });
    const checkGauge = new Gauge({ name: 'etcd_server_healthcheck', help: 'The result of each kind of healthcheck.', labelNames: ['type', 'name'], registers: [m.registry] });
    const checkCounter = new Counter({
      name: 'etcd_server_healthchecks_total',
      help: 'The total number of each kind of healthcheck.',
      labelNames: ['type', 'name', 'status'],
      registers: [m.registry],
    });
    const health = healthRoutes(ctx, spaceQuota(ctx), (type, name, ok) => {
      if (type === 'health') (ok ? healthSuccess : healthFailures).inc();
      else {
        checkGauge.set({ type, name }, ok ? 1 : 0);
        checkCounter.inc({ type, name, status: ok ? 'success' : 'error' });
      }
    });
    const metrics: HttpRoute = (_req, res) => {
      refresh(ctx);
      m.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': m.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          log.warn({ err }, 'metrics collection failed');
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('metrics collection failed\n');
        },
      );
    };
    const routes: Record<string, HttpRoute> = { '/metrics': metrics, ...health };
    serveMetricsUrls(ctx, routes);
    return { http: routes };
  },
};

/**
 * Binds the --listen-metrics-urls listeners (http, or https with the client TLS material). A bind
 * failure is logged, not fatal.
 */
function serveMetricsUrls(ctx: MemberContext, routes: Readonly<Record<string, HttpRoute>>): void {
  const log = componentLogger(ctx.logger, 'metrics');
  const servers: Server[] = [];
  const tlsListeners: TlsServer[] = [];
  for (const u of ctx.config.listenMetricsUrls) {
    if (u.scheme !== 'http' && (u.scheme !== 'https' || ctx.clientTls === undefined)) {
      log.error({ address: u.url }, 'metrics URL scheme is not supported; not serving it');
      continue;
    }
    const srv = createServer((req, res) => {
      const route = routes[(req.url ?? '/').split('?')[0] ?? '/'];
      if (route !== undefined) return route(req, res);
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    });
    servers.push(srv);
    const listener: Server | TlsServer =
      u.scheme === 'https' && ctx.clientTls !== undefined
        ? createTlsListener({
            material: ctx.clientTls,
            alpn: ['http/1.1'],
            logger: componentLogger(ctx.logger, 'tls'),
            side: 'client',
            onConnection: (socket) => srv.emit('connection', socket),
          })
        : srv;
    if (listener !== srv) tlsListeners.push(listener as TlsServer);
    listener.on('error', (err) => log.error({ err, address: u.url }, 'metrics listener failed'));
    listener.listen(u.port, u.host, () => log.info({ address: u.url }, 'serving metrics'));
  }
  ctx.onStop(async () => {
    for (const l of tlsListeners) l.close();
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.closeAllConnections();
            if (!s.listening) return r();
            s.close(() => r());
          }),
      ),
    );
  });
}

