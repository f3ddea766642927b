/**
 * The berthpb.Raft service as this transport puts it on the wire: Hello uses the generated ts-proto
 * serializers; Send and Snapshot carry pre-encoded bytes, so the sender encodes each batch once (and
 * knows its exact size for the queue bound and the byte metrics) and the receiver decodes it where it
 * can answer a malformed batch with a status instead of an exception inside grpc-js.
 */
import {
  Metadata,
  status as Status,
  type Client,
  type ClientUnaryCall,
  type ClientWritableStream,
  type ServerErrorResponse,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  RaftService,
  type HelloRequest,
  type HelloResponse,
  type SendResponse,
  type SnapshotResponse,
} from '../../proto/gen/berthpb/transport.js';

/** Bumped on incompatible changes to proto/berthpb/transport.proto; Hello refuses any other value. */
export const PROTOCOL_VERSION = 1;

/** Trailer keys on a refused Hello/Send/Snapshot, so the caller can log the ids without parsing text. */
export const MD_REASON = 'berth-refusal';
export const MD_CLUSTER_ID = 'berth-cluster-id';
export const MD_MEMBER_ID = 'berth-member-id';

export type Refusal = 'cluster-id-mismatch' | 'member-id-mismatch' | 'protocol-version-mismatch' | 'member-removed';

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function identity(b: Buffer): Buffer {
  return b;
}

export const RAW_RAFT_SERVICE = {
  hello: RaftService.hello,
  send: { ...RaftService.send, requestSerialize: toBuffer, requestDeserialize: identity },
  snapshot: { ...RaftService.snapshot, requestSerialize: toBuffer, requestDeserialize: identity },
} as const satisfies ServiceDefinition;

export type UnaryCallback<T> = (err: ServiceError | null, value?: T) => void;

/** Hello with a deadline; `callback` gets the answer or the refusal/transport error. */
export function callHello(
  client: Client,
  req: HelloRequest,
  opts: { readonly deadlineMs: number; readonly callback: UnaryCallback<HelloResponse> },
): ClientUnaryCall {
  const d = RAW_RAFT_SERVICE.hello;
  const deadline = Date.now() + opts.deadlineMs;
  return client.makeUnaryRequest(d.path, d.requestSerialize, d.responseDeserialize, req, new Metadata(), { deadline }, opts.callback);
}

export function openSendStream(client: Client, cb: UnaryCallback<SendResponse>): ClientWritableStream<Uint8Array> {
  const d = RAW_RAFT_SERVICE.send;
  return client.makeClientStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, new Metadata(), {}, cb);
}

export function openSnapshotStream(client: Client, cb: UnaryCallback<SnapshotResponse>): ClientWritableStream<Uint8Array> {
  const d = RAW_RAFT_SERVICE.snapshot;
  return client.makeClientStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, new Metadata(), {}, cb);
}

/** A status for a server handler's callback; `refusal` adds the machine-readable trailers. */
export function statusError(
  code: Status,
  message: string,
  refusal?: { readonly reason: Refusal; readonly clusterId: bigint; readonly memberId: bigint },
): ServerErrorResponse {
  const metadata = new Metadata();
  if (refusal !== undefined) {
    metadata.set(MD_REASON, refusal.reason);
    metadata.set(MD_CLUSTER_ID, hex(refusal.clusterId));
    metadata.set(MD_MEMBER_ID, hex(refusal.memberId));
  }
  return Object.assign(new Error(message), { code, details: message, metadata });
}

/** Reads a refusal's trailers; undefined when the error is not a refusal by a berth peer. */
export function refusalOf(err: ServiceError): { reason: Refusal; clusterId: string; memberId: string } | undefined {
  if (err.code !== Status.FAILED_PRECONDITION) return undefined;
  const [reason] = err.metadata.get(MD_REASON);
  const [clusterId] = err.metadata.get(MD_CLUSTER_ID);
  const [memberId] = err.metadata.get(MD_MEMBER_ID);
  if (reason !== 'cluster-id-mismatch' && reason !== 'member-id-mismatch' && reason !== 'protocol-version-mismatch' && reason !== 'member-removed') return undefined;
  return { reason, clusterId: String(clusterId ?? ''), memberId: String(memberId ?? '') };
}

/** Member and cluster IDs print as lowercase hex, like etcd's types.ID. */
export function hex(id: bigint): string {
  return id.toString(16);
}
