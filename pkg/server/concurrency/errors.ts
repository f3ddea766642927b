/**
 * Failures of the lock and election recipes. etcd runs these services on an in-process client, so
 * every error reaches the caller as gRPC code UNKNOWN carrying the message text: the recipes' own
 * errors ("election: not leader", ...) and the server errors of the KV/Lease calls they make
 * ("etcdserver: requested lease not found", ...). Measured against etcd 3.4.23.
 */
import { status } from '@grpc/grpc-js';
import { toGrpcStatus, wireErrorOf, type BerthError, type WireError } from '../../errors/index.js';

export type RecipeErrorKind = 'electionNotLeader' | 'electionNoLeader' | 'missingLeaderKey' | 'sessionExpired' | 'cancelled';

export type ConcurrencyError = { readonly kind: RecipeErrorKind } | { readonly kind: 'server'; readonly error: BerthError };

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ConcurrencyError };

const KINDS = {
  electionNotLeader: 'electionNotLeader',
  electionNoLeader: 'electionNoLeader',
  missingLeaderKey: 'electionMissingLeaderKey',
  sessionExpired: 'mutexSessionExpired',
  cancelled: 'cancelled',
} as const satisfies { readonly [K in RecipeErrorKind]: string };

export function fail(kind: RecipeErrorKind): Result<never> {
  return { ok: false, error: { kind } };
}

export function serverFail(error: BerthError): Result<never> {
  return { ok: false, error: { kind: 'server', error } };
}

/** The wire form: code UNKNOWN with etcd's text (CANCELLED for a call the client gave up on). */
export function concurrencyWireError(e: ConcurrencyError): WireError {
  // etcd's recipes run on an in-process client: server errors surface as Unknown with their text.
  if (e.kind === 'server') return { code: status.UNKNOWN, message: toGrpcStatus(e.error).message };
  return wireErrorOf(KINDS[e.kind]);
}

/** True for the failure every call gets while the member shuts down (not worth a warning). */
export function stopping(e: ConcurrencyError): boolean {
  return e.kind === 'server' && e.error.kind === 'stopped';
}
