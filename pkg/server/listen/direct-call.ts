/**
 * What the direct HTTP/2 paths (direct-unary.ts, direct-bidi.ts) share: the headers and trailers
 * grpc-js sends, the metadata a handler sees, `grpc-timeout` parsing, the peer and TLS identity of a
 * stream, how a handler's error becomes a status, and trailers-only answers. Each piece mirrors what
 * grpc-js 1.14 does (server-interceptors.ts, server-call.ts), so a client cannot tell the paths apart.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { TLSSocket } from 'node:tls';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { GrpcStream } from './grpc-stream.js';

export const OK_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
export const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };

/** Headers grpc-js keeps out of the metadata a handler sees. */
const NOT_METADATA = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];
const DEADLINE = /(\d{1,8})\s*([HMSmun])/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Options of both direct paths. */
export interface DirectOptions {
  /** grpc.max_receive_message_length of the grpc.Server (-1: unlimited). */
  readonly maxReceiveBytes: number;
  /** The methods taken (default: the path's own set); 'all': every recorded method of the kind. */
  readonly paths?: ReadonlySet<string> | 'all';
}

/** The method path of a request a direct path may take (in `paths`, or `defaults`); undefined otherwise. */
export function directPath(headers: IncomingHttpHeaders, o: DirectOptions, defaults: ReadonlySet<string>): string | undefined {
  const path = headers[':path'];
  return typeof path !== 'string' || (o.paths !== 'all' && !(o.paths ?? defaults).has(path)) ? undefined : path;
}

/** The request's `grpc-encoding` ("identity" without one). */
export function requestEncoding(headers: IncomingHttpHeaders): string {
  const enc = headers['grpc-encoding'];
  return typeof enc === 'string' ? enc : 'identity';
}

/**
 * A received message's bytes, decompressed when its compressed flag is set, as grpc-js does: gzip and
 * deflate; a flagged message under "identity" is taken as is; another encoding is UNIMPLEMENTED; bytes
 * that do not inflate are INTERNAL; more than `max` bytes inflated is RESOURCE_EXHAUSTED.
 */
export function messageBytes(flag: number, payload: Buffer, encoding: string, max: number): Buffer | CallStatus {
  if (flag === 0 || encoding === 'identity') return payload;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    return { code: status.UNIMPLEMENTED, details: `Received message compressed with unsupported encoding "${encoding}"` };
  }
  try {
    return (encoding === 'gzip' ? gunzipSync : inflateSync)(payload, max === -1 ? {} : { maxOutputLength: max });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      return { code: status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${String(max)}` };
    }
    return { code: status.INTERNAL, details: 'Failed to decompress message' };
  }
}

/** A final status: code, message and trailing metadata. */
export interface CallStatus {
  readonly code: status;
  readonly details: string;
  readonly metadata?: Metadata | undefined;
}

/** The request's metadata as a grpc-js handler sees it. */
export function callMetadata(headers: IncomingHttpHeaders): Metadata {
  const md = Metadata.fromHttp2Headers(headers);
  for (const h of NOT_METADATA) md.remove(h);
  return md;
}

/** A `grpc-timeout` value in milliseconds, or undefined when grpc-js could not parse it. */
export function timeoutMs(value: string): number | undefined {
  const m = DEADLINE.exec(value);
  if (m === null) return undefined;
  return (Number(m[1]) * (UNIT_MS[m[2] as string] as number)) | 0;
}

/** grpc-js's answer to an unparsable `grpc-timeout`. */
export function badTimeout(value: string): CallStatus {
  return { code: status.INTERNAL, details: `Invalid grpc-timeout value "${value}"` };
}

export const DEADLINE_EXCEEDED: CallStatus = { code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' };

/** "address:port" of the client, as grpc-js's getPeer(). */
export function peerOf(stream: GrpcStream): string {
  const sock = stream.socket;
  if (sock?.remoteAddress === undefined) return 'unknown';
  return sock.remotePort !== undefined ? `${sock.remoteAddress}:${String(sock.remotePort)}` : sock.remoteAddress;
}

/** grpc-js's getAuthContext(): the verified client certificate over TLS. */
export function authContextOf(stream: GrpcStream): { transportSecurityType?: string; sslPeerCertificate?: unknown } {
  const sock = stream.socket;
  if (!(sock instanceof TLSSocket) || !sock.authorized) return {};
  const cert = sock.getPeerCertificate();
  return { transportSecurityType: 'ssl', sslPeerCertificate: cert.raw !== undefined ? cert : undefined };
}

/** The status a handler's error becomes (grpc-js's serverErrorToStatus). */
export function statusOfError(err: Partial<ServiceError> | Error): CallStatus {
  const e = err as Partial<ServiceError>;
  const known = typeof e.code === 'number' && Number.isInteger(e.code);
  const code = known ? (e.code as status) : status.UNKNOWN;
  const details = known && typeof e.details === 'string' ? e.details : 'message' in err ? String(err.message) : 'Unknown Error';
  return { code, details, metadata: e.metadata instanceof Metadata ? e.metadata : undefined };
}

/** The trailers of a response that had headers. */
export function statusTrailers(s: CallStatus): Record<string, string | string[]> {
  return { 'grpc-status': String(s.code), 'grpc-message': encodeURI(s.details), ...(s.metadata?.toHttp2Headers() ?? {}) } as Record<string, string | string[]>;
}

/** Answers with a status and nothing else (HEADERS with END_STREAM). */
export function trailersOnly(stream: GrpcStream, s: CallStatus): void {
  stream.trailersOnly({
    'grpc-status': String(s.code),
    'grpc-message': encodeURI(s.details),
    ':status': 200,
    'content-type': 'application/grpc+proto',
    ...(s.metadata?.toHttp2Headers() ?? {}),
  });
}

/** A length-prefixed message too large for the receive limit: grpc-js's words. */
export function tooLarge(len: number, max: number): CallStatus {
  return { code: status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${String(len)} vs ${String(max)})` };
}

/** What a call view reads from the call it belongs to. */
export interface CallOwner {
  readonly stream: GrpcStream;
  readonly deadline: number;
  readonly path: string;
  readonly host: string;
}

/** The getters every grpc-js call object has, over a direct call; the paths' views extend it. */
export class CallView extends EventEmitter {
  cancelled = false;
  readonly #owner: CallOwner;

  constructor(
    readonly metadata: Metadata,
    owner: CallOwner,
  ) {
    super();
    this.#owner = owner;
  }

  getPeer(): string {
    return peerOf(this.#owner.stream);
  }
  getDeadline(): number {
    return this.#owner.deadline;
  }
  getPath(): string {
    return this.#owner.path;
  }
  getHost(): string {
    return this.#owner.host;
  }
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: unknown } {
    return authContextOf(this.#owner.stream);
  }
}
