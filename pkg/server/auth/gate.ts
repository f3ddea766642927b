/**
 * The auth gate in front of every gRPC service (and the JSON gateway, which calls the same recorded
 * handlers): identifies the caller, applies the checks etcd makes before a request reaches raft or
 * the store, and runs the handler with the caller's auth header in scope so proposals are stamped
 * with it (the applier re-checks writes at apply time against that user and auth revision).
 *
 * API-time checks (etcd): Range needs READ on its range; Maintenance Defragment/Snapshot/Hash/HashKV/
 * MoveLeader/Downgrade and Cluster MemberAdd/Remove/Update/Promote need the root role. Everything
 * else is checked at apply (see guard.ts) or, for Watch, per create request (watchPermission).
 */
import { status } from '@grpc/grpc-js';
import type { Metadata, Server, ServiceError } from '@grpc/grpc-js';
import { checkAdmin, checkOp, type AuthInfo } from '../../auth/index.js';
import { berthError, wireErrorOf, type ErrorKind } from '../../errors/index.js';
import type * as pb from '../../proto/gen/etcdserverpb/rpc.js';
import { toServiceError } from '../errors.js';
import { runAs, type MemberAuth } from './member-auth.js';
import { wrapServices, type MethodHandler } from '../service-wrap.js';

const ADMIN_PATHS: ReadonlySet<string> = new Set([
  '/etcdserverpb.Maintenance/Defragment',
  '/etcdserverpb.Maintenance/Snapshot',
  '/etcdserverpb.Maintenance/Hash',
  '/etcdserverpb.Maintenance/HashKV',
  '/etcdserverpb.Maintenance/MoveLeader',
  '/etcdserverpb.Maintenance/Downgrade',
  '/etcdserverpb.Cluster/MemberAdd',
  '/etcdserverpb.Cluster/MemberRemove',
  '/etcdserverpb.Cluster/MemberUpdate',
  '/etcdserverpb.Cluster/MemberPromote',
]);

/** Calls that need no identity: Authenticate itself (etcd skips token parsing for it). */
const ANONYMOUS_PATHS: ReadonlySet<string> = new Set(['/etcdserverpb.Auth/Authenticate']);

interface AnyCall {
  readonly metadata: Metadata;
  readonly request?: unknown;
  emit(event: 'error', err: ServiceError): boolean;
}

type Handler = (call: AnyCall, cb?: (err: ServiceError | null, value?: unknown) => void) => void;

/** Resolves once this member has applied every write acknowledged before the call (ReadIndex). */
export type LinearizableRead = () => Promise<{ readonly ok: boolean }>;

/**
 * identify(), but a token this member does not know yet gets one ReadIndex round first: a simple
 * token is created by an Authenticate entry that another member may have applied (and answered)
 * before this one, so the client may present it here a moment early.
 */
async function identifyCaughtUp(auth: MemberAuth, call: AnyCall, read: LinearizableRead): Promise<ReturnType<MemberAuth['identify']>> {
  const id = auth.identify(call.metadata, call);
  if (id.ok || id.error.kind !== 'invalidAuthToken') return id;
  await read().catch(() => undefined);
  return auth.identify(call.metadata, call);
}

/** The API-time check of one call; undefined = go ahead. */
async function precheck(auth: MemberAuth, path: string, call: AnyCall, read: LinearizableRead): Promise<{ readonly error?: ErrorKind; readonly info?: AuthInfo }> {
  const id = await identifyCaughtUp(auth, call, read);
  if (!id.ok) return { error: id.error.kind };
  if (id.info === undefined) return {};
  if (path === '/etcdserverpb.KV/Range') {
    const r = call.request as pb.RangeRequest | undefined;
    // Like etcd, a linearizable read is checked against the auth state after its ReadIndex round
    // (an auth change acknowledged elsewhere is seen); a failed round is reported by the handler's own.
    // etcd reads the token only then: a token dropped meanwhile (password change) is invalid, and a
    // simple token valid now carries the current auth revision (not "revision of auth store is old").
    let info = id.info;
    if (r?.serializable !== true) {
      await read();
      const now = auth.identify(call.metadata, call);
      if (!now.ok) return { error: now.error.kind };
      if (now.info === undefined) return {};
      info = now.info;
    }
    const e = checkOp(auth.store, info, r?.key ?? new Uint8Array(), r?.rangeEnd ?? new Uint8Array(), 'read');
    return e === undefined ? { info } : { error: e };
  }
  if (ADMIN_PATHS.has(path)) {
    const e = checkAdmin(auth.store, id.info);
    return e === undefined ? { info: id.info } : { error: e };
  }
  return { info: id.info };
}

function wrap(auth: MemberAuth, read: LinearizableRead, path: string, unaryLike: boolean, streamingRequest: boolean, h: Handler): Handler {
  if (ANONYMOUS_PATHS.has(path)) return h;
  return (call, cb) => {
    // Auth off: no identity, no scope (AsyncLocalStorage costs every promise of the call). The
    // guard treats a client command without a header as anonymous, should auth be enabled before
    // it applies.
    if (!auth.store.enabled) return h(call, cb);
    const again = (): ReturnType<MemberAuth['identify']> => auth.identify(call.metadata, call);
    // Client-streaming calls (Watch, LeaseKeepAlive) are checked per message by their services.
    if (streamingRequest) {
      const id = auth.identify(call.metadata, call);
      if (id.ok || id.error.kind !== 'invalidAuthToken') return runAs(id.ok ? id.info : undefined, () => h(call, cb), again);
      // The stream's token may not be applied here yet: start it once caught up (its messages wait).
      void identifyCaughtUp(auth, call, read).then((caughtUp) => runAs(caughtUp.ok ? caughtUp.info : undefined, () => h(call, cb), again));
      return;
    }
    const fail = (err: ServiceError): void => {
      if (unaryLike && cb !== undefined) cb(err);
      else call.emit('error', err);
    };
    let started = false;
    precheck(auth, path, call, read)
      .then((r) => {
        if (r.error !== undefined) return fail(path.startsWith('/etcdserverpb.Maintenance/') ? maintenanceAuthError(r.error) : toServiceError(berthError(r.error)));
        started = true;
        runAs(r.info, () => h(call, cb), again);
      })
      .catch((err: unknown) => {
        // Never an unhandled rejection; a handler that threw synchronously has not answered.
        if (!started || unaryLike) fail(toServiceError(berthError('internal', err instanceof Error ? err.message : String(err))));
      });
  };
}

/** Wraps `server.addService` so every service added afterwards goes through the gate. */
export function guardServices(server: Server, auth: MemberAuth, read: LinearizableRead): void {
  wrapServices(server, (def, handler) => wrap(auth, read, def.path, !def.responseStream, def.requestStream, handler as Handler) as MethodHandler);
}

/**
 * Whether a watch create request of `call` may proceed: undefined, or etcd's cancel reason (invalid
 * token, old revision, no user, else permission denied). The key is normalised as etcd does.
 */
export function watchPermission(auth: MemberAuth, call: AnyCall, req: pb.WatchCreateRequest): string | undefined {
  if (!auth.store.enabled) return undefined;
  const id = auth.identify(call.metadata, call);
  let kind: ErrorKind | undefined;
  if (!id.ok) kind = id.error.kind;
  else {
    const key = req.key.byteLength === 0 ? Uint8Array.of(0) : req.key;
    kind = checkOp(auth.store, id.info, key, req.rangeEnd, 'read');
  }
  if (kind === undefined) return undefined;
  const reason: ErrorKind = kind === 'invalidAuthToken' || kind === 'authOldRevision' || kind === 'userEmpty' ? kind : 'permissionDenied';
  // etcd 3.4 puts the Go rendering of the gRPC status error into cancel_reason.
  const w = wireErrorOf(reason);
  return `rpc error: code = ${GO_CODE_NAMES[w.code] ?? String(w.code)} desc = ${w.message}`;
}

const GO_CODE_NAMES: Readonly<Record<number, string>> = { 3: 'InvalidArgument', 7: 'PermissionDenied', 16: 'Unauthenticated' };

/**
 * etcd 3.4's Maintenance admin check returns the auth package's own error, unconverted: gRPC code
 * Unknown with "auth: ..." (e.g. "auth: permission denied"), unlike every other service.
 */
function maintenanceAuthError(kind: ErrorKind): ServiceError {
  const err = toServiceError(berthError(kind));
  const message = wireErrorOf(kind).message.replace(/^etcdserver: /, 'auth: ');
  return Object.assign(err, { code: status.UNKNOWN, details: message, message });
}
