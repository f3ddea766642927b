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
import { memberMetrics, proposalStats } from './metrics-registry.js';
import { Counter, Gauge } from 'prom-client';
import { GRPC_CODE_LABELS } from '../../metrics/index.js';
import { observeCalls } from '../gateway/unary-registry.js';

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
}

export const metricsModule: ServiceModule = {
  name: 'metrics',
  register(ctx, grpcServer) {
    const m = memberMetrics(ctx);
    observeCalls(grpcServer, (path, type) => {
      const slash = path.lastIndexOf('/');
      const labels = { grpc_type: type, grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1) };
      m.grpc.started.inc(labels);
      if (type === 'unary' || type === 'server_stream') m.grpc.msgReceived.inc(labels);
      return (code) => {
        m.grpc.handled.inc({ ...labels, grpc_code: GRPC_CODE_LABELS[code] ?? 'Unknown' });
        if (type === 'unary' && code === 0) m.grpc.msgSent.inc(labels);
      };
    });
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

