/**
 * The composition root of one berth member: opens storage, bootstraps or restarts raft, wires the
 * node loop, the applier, the gRPC services and the listeners, and tears it all down in order.
 * No business logic lives here.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { createServer as createNetServer, isIP, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect as tlsConnect, type Server as TlsServer } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { componentLogger } from '../log/index.js';
import { Engine, PowerLossModel } from '../storage/engine/index.js';
import { powerLossArmed, setPowerLossHandler } from '../failpoint/index.js';
import { Wal } from '../storage/wal/index.js';
import { MvccStore } from '../storage/mvcc/index.js';
import { minLeaseTtl, openLessor, recoverAttachments } from '../lease/index.js';
import { MemberStore } from '../membership/members.js';
import type * as pb from '../proto/gen/etcdserverpb/rpc.js';
import { berthError, wireErrorOf } from '../errors/index.js';
import { createMetrics } from '../metrics/index.js';
import type { Event } from '../storage/mvcc/index.js';
import { Applier } from './apply/applier.js';
import { loadAppliedIndex } from './apply/applied-index.js';
import type { CommandCase, CommandHandler } from './apply/applier.js';
import type { MemberContext } from './context.js';
import { SERVICE_MODULES, type HttpRoute } from './services.js';
import { loadOrBootstrap } from './bootstrap.js';
import { IdGenerator } from './ids.js';
import { dispatchPlain, dispatchTls, type ProtocolHandlers } from './listen/protocol-mux.js';
import { createTlsListener } from './listen/tls-listener.js';
import { createInjectorWithHttp } from './listen/h2-http.js';
import { serveDirectBidi } from './listen/direct-bidi.js';
import { serveGrpcConnection } from './listen/h2/server.js';
import { serveDirectUnary } from './listen/direct-unary.js';
import { peerCertificateCommonName, resolveTls, type TlsMaterial } from '../tls/index.js';
import { Proposer } from './propose.js';
import { RaftNode } from './raft-node.js';
import { PeerTransport, PEER_SERVER_OPTIONS } from './transport/index.js';
import { peerAddress } from './transport/peer-url.js';
import { STREAM_ALPN, dialPlain, routePlainPeerConnection, routeTlsPeerConnection, type PeerPortHandlers } from './transport/stream.js';
import { ReadIndexBatcher } from './read-index.js';
import { WaitRegistry, type Outcome } from './wait.js';
import { httpHandler } from './http.js';
import { bindMemberMetrics, trackProposal } from './api/metrics-registry.js';
import { countClientGrpcBytes, PeerMetrics, timedSnapshot, walWriteFeed } from './metrics-feeds.js';
import { PeerTiming } from './peer-timing.js';
import { recordServices } from './gateway/unary-registry.js';
import { redoPendingInstall } from './snapshot/install.js';
import { RaftSnapshots } from './snapshot/raft-snapshots.js';
import { Reconfigurer, peerFailureOf } from './membership/reconfigure.js';
import { MEMBERSHIP_SERVICE, membershipHandlers } from './membership/peer-service.js';
import { Snapshotter } from './snapshot/snapshotter.js';
import { currentAuthHeader, MemberAuth } from './auth/member-auth.js';
import { applyGuard } from './auth/guard.js';
import { guardServices } from './auth/gate.js';
import { gateLearnerCalls } from './learner-gate.js';

export interface RunningMember {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  /** Actual bound client addresses (useful with port 0). */
  readonly clientAddresses: readonly { host: string; port: number }[];
  /** Resolves when the member has stopped (after stop() or a fatal error). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Deliberate defects, for proving that the robustness checkers catch them (e2e/robustness). Only the
 * test entry point e2e/robustness/broken-berth.ts passes these; cmd/berth and startServer never do.
 */
export interface MemberTestHooks {
  /** Serve linearizable reads from local state without ReadIndex (stale reads on followers). */
  readonly localReads?: boolean;
  /** The watch hub drops the events of the n-th (1-based) publish, once. */
  readonly dropWatchPublish?: number;
  /** The applier writes the applied index after, not with, the applied effects. */
  readonly splitAppliedIndex?: boolean;
  /** Raft log appends are written without fsync (writes are acknowledged before they are durable). */
  readonly ackBeforeFsync?: boolean;
  /**
   * Not a defect: the storage engine runs the power-loss model (pkg/storage/engine/power-loss.ts), so
   * the `powerloss` failpoint action can drop unsynced writes. Required by that action.
   */
  readonly powerLoss?: boolean;
}

export async function startMember(cfg: Config, root: Logger, hooks: MemberTestHooks = {}): Promise<RunningMember> {
  const log = componentLogger(root, 'server');
  // TLS first: a missing certificate for an https URL stops the start before storage is opened.
  const tlsLog = componentLogger(root, 'tls');
  const clientTls = resolveTls(cfg, 'client', tlsLog);
  const peerTls = resolveTls(cfg, 'peer', tlsLog);
  const dbDir = join(cfg.dataDir, 'member', 'db');
  mkdirSync(dbDir, { recursive: true });
  if (powerLossArmed() && hooks.powerLoss !== true) throw new Error('BERTH_FAILPOINTS: the powerloss action needs the power-loss storage model, which only the robustness test entry point enables');
  const powerLoss = hooks.powerLoss === true ? new PowerLossModel() : undefined;
  const engine = await Engine.open(dbDir, powerLoss !== undefined ? { powerLoss } : {});
  if (powerLoss !== undefined) setPowerLossHandler(() => powerLoss.lose());
  const closers: (() => Promise<void>)[] = [() => engine.close()];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'error while stopping');
      }
    }
  };
  try {
    // Created before the context exists: the WAL, applier and transport feed them from the start.
    const metrics = createMetrics();
    const wal = await Wal.open(engine, { onWrite: walWriteFeed(metrics) });
    closers.push(() => wal.close());
    // A raft snapshot install interrupted by a crash is finished before anything reads state.
    const snapDir = join(cfg.dataDir, 'member', 'snap');
    mkdirSync(snapDir, { recursive: true });
    const redone = await redoPendingInstall(engine, snapDir);
    if (redone !== undefined) log.info({ 'snapshot-index': redone.index }, 'finished an interrupted snapshot install');
    const members = await MemberStore.load(engine);
    const boot = await loadOrBootstrap(cfg, { engine, wal, members, peerCredentials: (url) => peerCredentials(url, peerTls, tlsLog) });
    if (!boot.ok) throw new Error(boot.message);
    const memberId = boot.memberId;
    if (members.isRemoved(memberId)) throw new Error(`the member has been permanently removed from the cluster (member ${memberId.toString(16)})`);
    // `lessor` is opened below (it recovers attachments from the store), before raft applies anything.
    const mvcc = await MvccStore.open(engine, {
      maxTxnOps: cfg.maxTxnOps,
      leaseExists: (id) => lessor.exists(id),
      onCompactionRemoved: (n) => metrics.mvcc.dbCompactionKeysTotal.inc(n),
      onCompactionDone: (ms) => metrics.mvcc.dbCompactionTotalDurationMs.observe(ms),
    });
    closers.push(() => mvcc.close());
    const applied = await loadAppliedIndex(engine);
    const auth = await MemberAuth.open(engine, cfg);
    closers.push(async () => auth.stop());

    let term = 0;
    let leader = 0n;
    const header = (revision: bigint): pb.ResponseHeader => ({
      clusterId: members.clusterId,
      memberId,
      revision,
      raftTerm: BigInt(term),
    });

    const waits = new WaitRegistry();
    const electionTicks = Math.max(2, Math.round(cfg.electionTimeoutMs / cfg.heartbeatIntervalMs));
    const lessor = await openLessor(engine, mvcc, { minTtl: minLeaseTtl(electionTicks, cfg.heartbeatIntervalMs), expiredRetryMs: 5000 + 2 * cfg.electionTimeoutMs,
      checkpointIntervalMs: cfg.enableLeaseCheckpoint ? 300_000 : undefined, persistCheckpoints: cfg.enableLeaseCheckpointPersist });
    const requestTimeoutMs = 5000 + 2 * cfg.electionTimeoutMs;
    const eventListeners: ((events: readonly Event[], revision: bigint) => void)[] = [];
    const leaderListeners = new Set<(leader: bigint, term: number) => void>();
    const handlers: Partial<Record<CommandCase, CommandHandler>> = {};
    const snapshotListeners: (() => Promise<void> | void)[] = [];

    // Like etcd (its client listeners serve nothing until ReadyNotify, i.e. until this member's join is
    // applied through raft), client connections are accepted but held until the member knows a leader
    // and has applied what was committed then. Otherwise a restarting member answers clients with
    // "etcdserver: no leader" while its peers serve fine, and kube-apiserver's round-robin client turns
    // that into HTTP 500s.
    let ready = false;
    let readyAt: number | undefined;
    const heldSockets = new Set<Socket>();
    const whenReady: (() => void)[] = [];
    const checkReady = (): void => {
      if (ready || leader === 0n) return;
      readyAt ??= node.status().commit;
      if (applier.appliedIndex < readyAt) return;
      ready = true;
      log.info({ appliedIndex: applier.appliedIndex }, 'ready to serve client requests');
      for (const f of whenReady.splice(0)) f();
    };

    const reads = new ReadIndexBatcher({
      // node is declared below; the batcher only calls this after start.
      request: (ctx) => node.readIndex(ctx).ok,
      appliedIndex: () => applier.appliedIndex,
      timeoutMs: requestTimeoutMs,
      retryMs: cfg.electionTimeoutMs,
      onSlow: () => metrics.server.slowReadIndexes.inc(),
      onFailed: () => metrics.server.readIndexesFailed.inc(),
    });
    const applyLog = componentLogger(root, 'apply');
    const applier = new Applier({
      engine,
      mvcc,
      waits,
      logger: applyLog,
      applied,
      handlers,
      onConfChange: (cc, c) => reconfig.apply(cc, c),
      installSnapshot: (snap) => snapshots.confirmInstalled(snap),
      guard: applyGuard(auth, (id) => lessor.timeToLive(id, true)?.keys ?? []),
      onBackendCommit: (seconds) => metrics.disk.backendCommitDuration.observe(seconds),
      slowApplyMs: cfg.warningApplyDurationMs,
      onSlowApply: (index, ms) => {
        metrics.server.slowApply.inc();
        applyLog.warn({ index, took: `${ms.toFixed(1)}ms`, 'expected-duration': `${cfg.warningApplyDurationMs}ms` }, 'apply request took too long');
      },
      ...(hooks.splitAppliedIndex === true ? { splitAppliedIndex: true } : {}),
    });
    const snapshotter: Snapshotter = new Snapshotter({
      wal,
      snapshotCount: cfg.snapshotCount,
      catchupEntries: cfg.snapshotCatchupEntries,
      confState: () => node.status().config,
      logger: componentLogger(root, 'snapshot'),
    });
    const snapshots: RaftSnapshots = new RaftSnapshots({
      engine,
      wal,
      memberId,
      snapDir,
      logger: componentLogger(root, 'snapshot'),
      node: () => node,
      applier: () => applier,
      suspend: () => mvcc.suspend(),
      reload: async () => {
        await mvcc.reload();
        await lessor.reload(engine);
        await recoverAttachments(lessor, mvcc);
        await members.reload(engine);
        for (const l of snapshotListeners) await l();
        reconfig.afterSnapshotInstalled();
      },
      applying: (inProgress) => metrics.server.snapshotApplyInProgress.set(inProgress ? 1 : 0),
      onInstalled: (index) => {
        snapshotter.onInstalled(index);
        reads.onApplied(index);
      },
      onFatal: (err) => fatal(err),
    });

    // Peer traffic: raft messages and snapshots over gRPC on --listen-peer-urls.
    const peerServer = new grpc.Server(PEER_SERVER_OPTIONS);
    const peerMetrics = new PeerMetrics(metrics, memberId);
    const timing = new PeerTiming({
      heartbeatMs: cfg.heartbeatIntervalMs,
      staleMs: cfg.electionTimeoutMs,
      late: () => metrics.server.heartbeatSendFailures.inc(),
      roundTrip: (peer, seconds) => peerMetrics.roundTrip(peer, seconds),
    });
    const transport = new PeerTransport({
      clusterId: members.clusterId,
      memberId,
      server: peerServer,
      snapshotDir: snapDir,
      onMessage: (m) => {
        timing.received(m);
        node.step(m);
      },
      onSnapshot: (s) => snapshots.receive(s),
      onUnreachable: (id) => node.reportUnreachable(id),
      onSnapshotStatus: (id, ok) => node.reportSnapshot(id, ok),
      snapshotSource: (m) => timedSnapshot(snapshots.source(m), metrics),
      isRemoved: (id) => reconfig.isRemovedPeer(id),
      onRemoved: () => removedFromCluster(),
      logger: componentLogger(root, 'transport'),
      metrics: peerMetrics.transport(),
      credentials: (url) => peerCredentials(url, peerTls, tlsLog),
      dialStream: (url) => dialPeerStream(url, peerTls, tlsLog),
      acceptsStreams: true,
      serverVersion: cfg.emulatedEtcdVersion,
    });

    let fatal: (err: unknown) => void = () => {};
    const node = new RaftNode({
      raft: {
        id: memberId,
        electionTick: electionTicks,
        heartbeatTick: 1,
        rand: (n) => randomInt(n),
        applied: wal.snapshot().metadata.index,
        checkQuorum: true,
        preVote: cfg.preVote,
        maxSizePerMsg: 1024 * 1024,
        maxInflightMsgs: 512,
        maxUncommittedEntriesSize: 1 << 30,
        readOnlyOption: cfg.leaseReads ? 'lease-based' : 'safe',
      },
      wal,
      transport: {
        send: (msgs) => {
          timing.sent(msgs);
          transport.send(msgs);
        },
      },
      stateMachine: applier,
      tickMs: cfg.heartbeatIntervalMs,
      logger: componentLogger(root, 'raft'),
      ...(hooks.ackBeforeFsync === true ? { unsyncedLog: true } : {}),
      onSoftState: (s, t) => {
        term = t;
        if (s.lead !== leader) {
          leader = s.lead;
          timing.reset();
          log.info({ leader: leader.toString(16), term }, 'leader changed');
          for (const l of leaderListeners) l(leader, term);
          checkReady();
        }
      },
      onReadState: (rs) => reads.onReadState(rs.requestCtx, rs.index),
      onApplied: (index) => {
        reads.onApplied(index);
        snapshotter.onApplied(index);
        checkReady();
      },
      onFatal: (err) => fatal(err),
    });
    closers.push(async () => {
      reads.failAll('stopped');
      waits.failAll(berthError('stopped'));
      await node.stop();
    });

    const ids = new IdGenerator(memberId, Date.now());
    const proposer = new Proposer({
      node,
      waits,
      ids,
      maxRequestBytes: cfg.maxRequestBytes,
      timeoutMs: requestTimeoutMs,
      maxPending: 5000,
    });

    const reconfig: Reconfigurer = new Reconfigurer({
      memberId,
      strictReconfigCheck: cfg.strictReconfigCheck,
      timeoutMs: requestTimeoutMs,
      pollMs: cfg.heartbeatIntervalMs,
      members,
      engine,
      waits,
      nextRequestId: () => ids.next(),
      status: () => node.status(),
      proposeConfChange: (cc) => node.proposeConfChange(cc),
      activeSince: (id) => transport.activeSince(id),
      peersChanged: () => transport.setPeers(reconfig.peers()),
      removedSelf: () => removedFromCluster(),
      logger: componentLogger(root, 'membership'),
      peerCredentials: (url) => peerCredentials(url, peerTls, tlsLog),
      onPromote: (failure) =>
        failure === undefined ? metrics.server.learnerPromoteSuccesses.inc() : metrics.server.learnerPromoteFailures.inc({ Reason: wireErrorOf(failure).message }),
    });
    peerServer.addService(
      MEMBERSHIP_SERVICE,
      membershipHandlers({
        clusterId: () => members.clusterId,
        members: () => members.list(),
        promote: async (id) => {
          const o = await reconfig.promoteAsLeader(id);
          return o.ok ? { ok: true, members: o.value.members } : { ok: false, failure: peerFailureOf(o.error) };
        },
      }),
    );
    // Like etcd: a member removed from the cluster stops shortly after (10 ticks, so the reply to a
    // MemberRemove of itself can still leave).
    let removedOnce = false;
    const removedFromCluster = (): void => {
      if (removedOnce) return;
      removedOnce = true;
      log.error({ memberId: memberId.toString(16) }, 'the member has been permanently removed from the cluster');
      setTimeout(() => fatal(new Error('the member has been permanently removed from the cluster')), 10 * cfg.heartbeatIntervalMs).unref();
    };

    const ctx: MemberContext = {
      config: cfg,
      logger: root,
      memberId,
      members,
      engine,
      mvcc,
      ids,
      auth,
      header,
      // Client calls run with their auth header in scope (auth/gate.ts); server-originated ones have none.
      propose: (request, hdr) => trackProposal(ctx, proposer.propose(request, hdr ?? currentAuthHeader())),
      linearizableRead: hooks.localReads === true ? () => Promise.resolve({ ok: true, value: undefined }) : () => reads.wait(),
      appliedCommitted: () => reads.waitApplied(node.commitIndex()),
      raftStatus: () => node.status(),
      appliedIndex: () => applier.appliedIndex,
      leader: () => leader,
      term: () => term,
      transferLeadership: (to) => transferLeadership(to),
      reconfig,
      publishEvents: (events, revision) => {
        for (const l of eventListeners) l(events, revision);
      },
      onEvents: (l) => void eventListeners.push(l),
      onLeaderChange: (l) => void leaderListeners.add(l),
      registerHandler: (kind, h) => {
        if (handlers[kind] !== undefined) throw new Error(`apply handler for ${kind} registered twice`);
        handlers[kind] = h;
      },
      onStop: (fn) => void closers.push(async () => fn()),
      onSnapshotInstalled: (fn) => void snapshotListeners.push(fn),
      clientTls,
      testHooks: hooks,
    };
    bindMemberMetrics(ctx, metrics);

    const transferLeadership = (to: bigint): Promise<Outcome<void>> =>
      new Promise((resolve) => {
        if (leader === to) return resolve({ ok: true, value: undefined });
        let done = false;
        const timer = setTimeout(() => finish({ ok: false, error: berthError('timeout') }), requestTimeoutMs);
        const listener = (l: bigint): void => {
          if (l === to) finish({ ok: true, value: undefined });
        };
        const finish = (o: Outcome<void>): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          leaderListeners.delete(listener);
          resolve(o);
        };
        leaderListeners.add(listener);
        node.transferLeader(to);
      });

    // gRPC and HTTP share each client listener.
    const maxReceiveBytes = cfg.maxRequestBytes + 512 * 1024;
    const grpcServer = new grpc.Server({
      'grpc.max_receive_message_length': maxReceiveBytes,
      'grpc.max_send_message_length': 2 ** 31 - 1,
      'grpc.http2.min_time_between_pings_ms': cfg.grpcKeepaliveMinTimeMs,
      'grpc.http2.max_pings_without_data': 0,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_concurrent_streams': cfg.maxConcurrentStreams > 2 ** 31 - 1 ? 2 ** 31 - 1 : cfg.maxConcurrentStreams,
    });
    recordServices(grpcServer);
    // With client-cert-auth, a verified client certificate's CN is the user of calls without a token (etcd).
    // (JSON gateway calls are not grpc-js calls and have no auth context: no CN for them.)
    auth.setCertUser((call) => {
      const c = call as Partial<Parameters<typeof peerCertificateCommonName>[0]>;
      return typeof c.getAuthContext === 'function' ? peerCertificateCommonName(c as Parameters<typeof peerCertificateCommonName>[0]) : undefined;
    });
    // A learner refuses client calls (etcd's interceptor); checked before the auth gate, like etcd.
    gateLearnerCalls(grpcServer, () => members.get(memberId)?.isLearner === true);
    guardServices(grpcServer, auth, () => reads.wait());
    countClientGrpcBytes(grpcServer, metrics);
    const routes: Record<string, HttpRoute> = {};
    for (const m of SERVICE_MODULES) {
      const r = m.register(ctx, grpcServer);
      if (r?.http !== undefined) Object.assign(routes, r.http);
    }
    const httpRequests = httpHandler({ version: cfg.emulatedEtcdVersion, routes });
    const http: HttpServer = createHttpServer(httpRequests);
    // HTTP/2 requests that are not gRPC (curl over TLS negotiates h2) go to the same HTTP handler.
    // The KV methods, Watch and LeaseKeepAlive are answered on direct HTTP/2 paths
    // (listen/direct-unary.ts, listen/direct-bidi.ts), the rest by grpc-js.
    const { injector, routed } = createInjectorWithHttp(
      grpcServer,
      grpc.ServerCredentials.createInsecure(),
      httpRequests,
      (stream, headers) => serveDirectUnary(grpcServer, stream, headers, { maxReceiveBytes }) || serveDirectBidi(grpcServer, stream, headers, { maxReceiveBytes }),
    );
    if (!routed) log.warn({}, 'HTTP requests over HTTP/2 cannot be routed with this grpc-js version; they get 415');
    // Every accepted client socket, so none outlives the member (a health probe's keep-alive socket
    // kept a stopped process alive otherwise); destroyed after the gRPC/HTTP servers closed theirs.
    const clientSockets = new Set<Socket>();
    closers.push(async () => {
      for (const sock of clientSockets) sock.destroy();
    });
    closers.push(async () => {
      injector.destroy();
      grpcServer.forceShutdown();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    });

    const listeners: (NetServer | TlsServer)[] = [];
    const clientAddresses: { host: string; port: number }[] = [];
    const clientHandlers: ProtocolHandlers = { h2: (c) => injector.injectConnection(c), http1: (c) => http.emit('connection', c) };
    // gRPC connections (plain text and TLS) are served by berth's own HTTP/2 server
    // (listen/h2/server.ts, docs/grpc-h2.md); BERTH_GRPC_H2=off leaves them to node:http2 + grpc-js.
    if (process.env.BERTH_GRPC_H2 !== 'off') {
      const opts = { maxReceiveBytes, maxConcurrentStreams: Math.min(cfg.maxConcurrentStreams, 2 ** 31 - 1) };
      clientHandlers.grpc = (sock) => void serveGrpcConnection(grpcServer, sock, opts);
    }
    const track = (socket: Socket): void => {
      clientSockets.add(socket);
      socket.once('close', () => clientSockets.delete(socket));
    };
    // Until the member knows a leader and has applied what was committed then, accepted connections
    // are held (not read), like etcd: a restarted member would otherwise answer "no leader".
    const gate = (socket: Socket, serve: () => void): void => {
      if (ready) return serve();
      heldSockets.add(socket);
      socket.once('close', () => heldSockets.delete(socket));
      whenReady.push(() => {
        heldSockets.delete(socket);
        if (!socket.destroyed) serve();
      });
    };
    // Registered before binding, so listeners bound before a failing one are closed too.
    closers.push(async () => {
      for (const l of listeners) l.close(); // stop accepting; open connections are ended by the gRPC/HTTP closer next
      for (const sock of heldSockets) sock.destroy();
    });
    for (const u of cfg.listenClientUrls) {
      if (u.scheme !== 'http' && u.scheme !== 'https') throw new Error(`client URL scheme ${u.scheme} is not supported yet: ${u.url}`);
      const srv: NetServer | TlsServer =
        u.secure && clientTls !== undefined
          ? createTlsListener({
              material: clientTls,
              alpn: ['h2', 'http/1.1'],
              logger: tlsLog,
              side: 'client',
              onConnection: (socket) => {
                track(socket);
                gate(socket, () => dispatchTls(socket, clientHandlers));
              },
            })
          : createNetServer((socket) => {
              track(socket);
              // fixAuthority: etcdctl 3.4 sends ":authority: http://host:port" (endpoint status/hashkv/defrag
              // --cluster), which Node's HTTP/2 rejects; the wrapper normalises it (listen/authority-fix.ts).
              gate(socket, () =>
                dispatchPlain(socket, clientHandlers, {
                  fixAuthority: true,
                  onTlsHandshake: (s) =>
                    tlsLog.warn({ side: 'client', 'remote-addr': `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}`, address: u.url }, 'rejected connection: TLS handshake on a plain-text port'),
                }),
              );
            });
      listeners.push(srv);
      await listen(srv, u.port, bindHost(u.host));
      const addr = srv.address();
      if (addr !== null && typeof addr === 'object') clientAddresses.push({ host: addr.address, port: addr.port });
      log.info({ address: u.url }, 'serving client traffic');
    }

    // The peer port: gRPC (Hello, snapshots, membership, Send from older members) through the server's
    // connection injector, and raft streams (transport/stream.ts) told apart by their first bytes
    // (plain text) or ALPN (TLS).
    const peerListeners: (NetServer | TlsServer)[] = [];
    const peerSockets = new Set<Socket>();
    const peerInjector = peerServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const peerHandlers: PeerPortHandlers = {
      h2: (conn) => peerInjector.injectConnection(conn),
      stream: (conn, rest) => transport.serveStream(conn, rest),
    };
    closers.push(async () => {
      for (const l of peerListeners) l.close();
      for (const sock of peerSockets) sock.destroy();
      peerInjector.destroy();
    });
    const trackPeer = (socket: Socket): void => {
      peerSockets.add(socket);
      socket.once('close', () => peerSockets.delete(socket));
    };
    for (const u of cfg.listenPeerUrls) {
      if (u.scheme !== 'http' && u.scheme !== 'https') throw new Error(`peer URL scheme ${u.scheme} is not supported yet: ${u.url}`);
      const srv: NetServer | TlsServer =
        u.secure && peerTls !== undefined
          ? createTlsListener({
              material: peerTls,
              alpn: ['h2', STREAM_ALPN],
              logger: tlsLog,
              side: 'peer',
              checkClientSan: !cfg.peerSkipClientSanVerification,
              onConnection: (socket) => {
                trackPeer(socket);
                routeTlsPeerConnection(socket, peerHandlers);
              },
            })
          : createNetServer((socket) => {
              trackPeer(socket);
              routePlainPeerConnection(socket, peerHandlers);
            });
      peerListeners.push(srv);
      await listen(srv, u.port, bindHost(u.host));
      log.info({ address: u.url }, 'serving peer traffic');
    }
    transport.start();
    transport.setPeers(reconfig.peers());
    closers.push(async () => {
      await transport.stop();
      peerServer.forceShutdown();
    });
    node.start();
    if (node.status().config.voters.length === 1 && node.status().config.voters[0] === memberId) node.campaign();

    let resolveStopped: () => void = () => {};
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    let stopping: Promise<void> | undefined;
    // A leader hands leadership to its most caught-up voter before stopping, so the cluster does not
    // wait an election timeout (bounded: stopping never hangs on it).
    const handOff = async (): Promise<void> => {
      const st = node.status();
      if (st.role !== 'leader') return;
      let best: bigint | undefined;
      let bestMatch = -1;
      for (const [id, pr] of st.progress) {
        if (id === memberId || pr.isLearner || !pr.recentActive) continue;
        if (pr.match > bestMatch) {
          best = id;
          bestMatch = pr.match;
        }
      }
      if (best === undefined) return;
      log.info({ to: best.toString(16) }, 'transferring leadership before stopping');
      const timer = new Promise<void>((r) => setTimeout(r, 2 * cfg.electionTimeoutMs).unref());
      await Promise.race([transferLeadership(best), timer]);
    };
    const stop = (): Promise<void> => {
      stopping ??= handOff().catch(() => {}).then(closeAll).then(() => {
        log.info('stopped');
        resolveStopped();
      });
      return stopping;
    };
    fatal = (err) => {
      log.error({ err }, 'fatal error, stopping');
      void stop();
    };
    log.info({ memberId: memberId.toString(16), clusterId: members.clusterId.toString(16), fresh: boot.fresh }, 'member started');
    return { memberId, clusterId: members.clusterId, clientAddresses, stopped, stop };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function listen(srv: NetServer | TlsServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      resolve();
    });
  });
}

/**
 * Credentials for dialing one peer URL: https uses the peer TLS material (verifying the remote
 * against --peer-trusted-ca-file, or not at all for auto TLS, as etcd); http is plain text.
 */
function peerCredentials(url: string, tls: TlsMaterial | undefined, log: Logger): grpc.ChannelCredentials {
  if (!url.startsWith('https://')) return grpc.credentials.createInsecure();
  if (tls === undefined) return grpc.credentials.createSsl();
  tls.reloadIfChanged(log);
  const verify = tls.verifyRemote;
  return grpc.credentials.createFromSecureContext(tls.dialContext(), verify ? {} : { rejectUnauthorized: false, checkServerIdentity: () => undefined });
}

/**
 * A connecting socket to a peer's raft stream: plain TCP for http://, TLS with the peer material and
 * the raft-stream ALPN for https:// (verified like the gRPC dial: CA, and the URL's host unless the
 * material is self-signed). Undefined (use gRPC) for https:// without peer TLS material.
 */
function dialPeerStream(url: string, tls: TlsMaterial | undefined, log: Logger): Socket | undefined {
  const a = peerAddress(url);
  if (!a.ok || !a.secure) return dialPlain(url);
  if (tls === undefined) return undefined;
  tls.reloadIfChanged(log);
  const verify = tls.verifyRemote;
  return tlsConnect({
    host: a.host,
    port: a.port,
    ...(isIP(a.host) === 0 ? { servername: a.host } : {}),
    secureContext: tls.dialContext(),
    ALPNProtocols: [STREAM_ALPN],
    ...(verify ? {} : { rejectUnauthorized: false, checkServerIdentity: () => undefined }),
  });
}

/** Like etcd (Go resolves "localhost" to 127.0.0.1 first), bind IPv4 loopback for "localhost". */
function bindHost(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}
