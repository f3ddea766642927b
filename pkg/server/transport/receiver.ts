/**
 * Server side of berthpb.Raft. Every call is checked against this member's cluster id (and the member
 * id the sender addressed) before anything reaches raft, so a misconfigured member never mixes two
 * clusters' logs. A batch is decoded completely before any of its messages is delivered: a malformed
 * batch delivers nothing and ends the stream with INVALID_ARGUMENT.
 */
import {
  status as Status,
  type sendUnaryData,
  type ServerErrorResponse,
  type ServerReadableStream,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import {
  RaftBatch,
  type HelloRequest,
  type HelloResponse,
  type SendResponse,
  type SnapshotResponse,
} from '../../proto/gen/berthpb/transport.js';
import type { Message } from '../../raft/index.js';
import { messageFromPb } from './codec.js';
import type { ReceivedSnapshot, TransportLogger } from './options.js';
import { receiveSnapshot } from './snapshot-receiver.js';
import { FrameReader, MAX_FRAME_BYTES, refusalFrame } from './stream.js';
import { PROTOCOL_VERSION, hex, statusError, type Refusal } from './wire.js';

export interface ReceiverOptions {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly serverVersion: string;
  readonly snapshotDir: string;
  readonly maxSnapshotBytes: number;
  readonly onMessage: (m: Message) => void;
  readonly onSnapshot: (s: ReceivedSnapshot) => void | Promise<void>;
  readonly isRemoved: (id: bigint) => boolean;
  readonly bytesReceived: (from: bigint, n: number) => void;
  /** A snapshot upload finished (handed over) or failed; `from` is undefined before its header was read. */
  readonly snapshotReceived?: (from: bigint | undefined, ok: boolean, seconds: number) => void;
  /** A raft stream broke or carried a malformed batch; `from` is undefined before its first batch. */
  readonly receiveFailed?: (from: bigint | undefined) => void;
  readonly logger: TransportLogger;
  /** Hello tells senders that this peer port also takes raft streams (stream.ts). */
  readonly acceptsStreams?: boolean;
}

/** Why a call or stream is refused: a gRPC status (with refusal trailers) or a stream's refusal frame. */
interface Refused {
  readonly code: Status;
  readonly message: string;
  readonly refusal?: { readonly reason: Refusal; readonly clusterId: bigint; readonly memberId: bigint };
}

function asStatus(r: Refused): ServerErrorResponse {
  return statusError(r.code, r.message, r.refusal);
}

function refusalIds(r: Refused): { reason?: Refusal; clusterId?: string; memberId?: string } {
  return r.refusal === undefined ? {} : { reason: r.refusal.reason, clusterId: hex(r.refusal.clusterId), memberId: hex(r.refusal.memberId) };
}

/** A refused raft stream is closed this long after its refusal frame at the latest. */
const STREAM_CLOSE_MS = 1000;

/** At most this many distinct (sender, cluster id) refusals are remembered for log-once. */
const MAX_REFUSALS_LOGGED = 1024;

export class Receiver {
  readonly #o: ReceiverOptions;
  /** Ends an active call with UNAVAILABLE; used by stop(). */
  readonly #active = new Set<() => void>();
  readonly #uploads = new Set<Promise<void>>();
  readonly #refusalsLogged = new Set<string>();
  #stopped = false;

  constructor(opts: ReceiverOptions) {
    this.#o = opts;
  }

  handlers(): UntypedServiceImplementation {
    return {
      hello: (call: ServerUnaryCall<HelloRequest, HelloResponse>, cb: sendUnaryData<HelloResponse>) => this.#hello(call.request, cb),
      send: (call: ServerReadableStream<Buffer, SendResponse>, cb: sendUnaryData<SendResponse>) => this.#send(call, cb),
      snapshot: (call: ServerReadableStream<Buffer, SnapshotResponse>, cb: sendUnaryData<SnapshotResponse>) => {
        const p = this.#snapshot(call, cb);
        this.#uploads.add(p);
        void p.finally(() => this.#uploads.delete(p));
      },
    };
  }

  /** Ends every open stream with UNAVAILABLE and waits for uploads to clean up their files. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const end of [...this.#active]) end();
    await Promise.allSettled([...this.#uploads]);
  }

  #refuseCluster(from: bigint, clusterId: bigint): Refused {
    const key = `${hex(from)}/${hex(clusterId)}`;
    if (!this.#refusalsLogged.has(key) && this.#refusalsLogged.size < MAX_REFUSALS_LOGGED) {
      this.#refusalsLogged.add(key);
      this.#o.logger.warn(
        {
          'local-member-id': hex(this.#o.memberId),
          'remote-peer-id': hex(from),
          'local-cluster-id': hex(this.#o.clusterId),
          'remote-cluster-id': hex(clusterId),
        },
        'request cluster ID mismatch',
      );
    }
    return this.#refused(
      Status.FAILED_PRECONDITION,
      `transport: cluster ID mismatch: this member's cluster ID is ${hex(this.#o.clusterId)}, the sender's is ${hex(clusterId)}`,
      'cluster-id-mismatch',
    );
  }

  #refuseMember(to: bigint): Refused {
    return this.#refused(
      Status.FAILED_PRECONDITION,
      `transport: member ID mismatch: this member is ${hex(this.#o.memberId)}, the sender addressed ${hex(to)}`,
      'member-id-mismatch',
    );
  }

  #refuseRemoved(from: bigint): Refused {
    return this.#refused(Status.FAILED_PRECONDITION, `transport: member ${hex(from)} has been permanently removed from the cluster`, 'member-removed');
  }

  #refused(code: Status, message: string, reason?: Refusal): Refused {
    return { code, message, ...(reason !== undefined ? { refusal: { reason, clusterId: this.#o.clusterId, memberId: this.#o.memberId } } : {}) };
  }

  #hello(req: HelloRequest, cb: sendUnaryData<HelloResponse>): void {
    if (this.#stopped) return cb(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    if (req.clusterId !== this.#o.clusterId) return cb(asStatus(this.#refuseCluster(req.from, req.clusterId)));
    if (this.#o.isRemoved(req.from)) return cb(asStatus(this.#refuseRemoved(req.from)));
    if (req.to !== 0n && req.to !== this.#o.memberId) return cb(asStatus(this.#refuseMember(req.to)));
    if (req.protocolVersion !== PROTOCOL_VERSION) {
      return cb(
        asStatus(
          this.#refused(
            Status.FAILED_PRECONDITION,
            `transport: peer protocol version mismatch: this member speaks ${PROTOCOL_VERSION}, the sender ${req.protocolVersion}`,
            'protocol-version-mismatch',
          ),
        ),
      );
    }
    cb(null, {
      clusterId: this.#o.clusterId,
      memberId: this.#o.memberId,
      serverVersion: this.#o.serverVersion,
      protocolVersion: PROTOCOL_VERSION,
      raftStream: this.#o.acceptsStreams === true,
    });
  }

  /**
   * Checks and delivers one encoded RaftBatch (from either path). Returns why the stream must end,
   * or undefined; `from` is the sender once a batch named it.
   */
  #accept(bytes: Uint8Array, stream: { from: bigint | undefined }): Refused | undefined {
    let batch: RaftBatch;
    try {
      batch = RaftBatch.decode(bytes);
    } catch {
      this.#o.receiveFailed?.(stream.from);
      return this.#refused(Status.INVALID_ARGUMENT, 'transport: malformed raft batch');
    }
    if (batch.clusterId !== this.#o.clusterId) return this.#refuseCluster(batch.from, batch.clusterId);
    if (batch.to !== this.#o.memberId) return this.#refuseMember(batch.to);
    if (this.#o.isRemoved(batch.from)) return this.#refuseRemoved(batch.from);
    stream.from = batch.from;
    this.#o.bytesReceived(batch.from, bytes.byteLength);
    const msgs: Message[] = [];
    for (const pm of batch.messages) {
      const m = messageFromPb(pm);
      if (!m.ok) {
        this.#o.logger.warn({ 'remote-peer-id': hex(batch.from), error: m.error.message }, 'dropped malformed raft batch');
        this.#o.receiveFailed?.(stream.from);
        return this.#refused(Status.INVALID_ARGUMENT, m.error.message);
      }
      if (m.value.to !== this.#o.memberId || m.value.from !== batch.from) {
        const where = `message from ${hex(m.value.from)} to ${hex(m.value.to)} in a batch from ${hex(batch.from)} to ${hex(batch.to)}`;
        this.#o.receiveFailed?.(stream.from);
        return this.#refused(Status.INVALID_ARGUMENT, `transport: ${where}`);
      }
      msgs.push(m.value);
    }
    for (const m of msgs) {
      try {
        this.#o.onMessage(m);
      } catch (err) {
        this.#o.logger.error({ err, type: m.type, 'remote-peer-id': hex(m.from) }, 'raft message handler failed');
      }
    }
    return undefined;
  }

  #send(call: ServerReadableStream<Buffer, SendResponse>, cb: sendUnaryData<SendResponse>): void {
    if (this.#stopped) return cb(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    let batches = 0n;
    let finished = false;
    const stream: { from: bigint | undefined } = { from: undefined };
    const finish = (err: ServerErrorResponse | null): void => {
      if (finished) return;
      finished = true;
      this.#active.delete(stop);
      // Keep reading whatever the sender still writes until it sees the status; it is discarded.
      call.resume();
      if (err === null) cb(null, { batches });
      else cb(err);
    };
    const stop = (): void => finish(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    this.#active.add(stop);
    call.on('data', (buf: Buffer) => {
      if (finished) return;
      // Decode from a plain Uint8Array view: the entries' bytes are subarrays of it, and raft and
      // apply should see Uint8Array, not Buffer (which compares and serialises differently).
      const refused = this.#accept(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), stream);
      if (refused !== undefined) return finish(asStatus(refused));
      batches++;
    });
    call.on('end', () => finish(null));
    call.on('error', () => {
      if (!finished && !this.#stopped) this.#o.receiveFailed?.(stream.from);
      finish(statusError(Status.CANCELLED, 'transport: stream failed'));
    });
    call.on('cancelled', () => finish(statusError(Status.CANCELLED, 'transport: cancelled')));
  }

  /**
   * A raft stream connection (stream.ts), its preface already read; `rest` is what followed it.
   * Same checks as Send; a refusal is sent as one frame before the connection is closed.
   */
  serveStream(conn: Duplex, rest: Uint8Array): void {
    let finished = false;
    const stream: { from: bigint | undefined } = { from: undefined };
    const finish = (r: Refused | undefined): void => {
      if (finished) return;
      finished = true;
      this.#active.delete(stop);
      if (conn.destroyed) return;
      if (r === undefined) {
        conn.destroy();
        return;
      }
      // Discard whatever still arrives; close once the refusal is out (or after a bound).
      conn.on('data', () => {});
      conn.resume();
      conn.end(refusalFrame({ code: r.code, message: r.message, ...refusalIds(r) }));
      setTimeout(() => conn.destroy(), STREAM_CLOSE_MS).unref();
    };
    const stop = (): void => finish(this.#refused(Status.UNAVAILABLE, 'transport: stopped'));
    if (this.#stopped) return stop();
    this.#active.add(stop);
    const reader = new FrameReader(MAX_FRAME_BYTES, (f) => {
      if (finished) return;
      const refused = this.#accept(f, stream);
      if (refused !== undefined) finish(refused);
    });
    const onData = (chunk: Uint8Array): void => {
      if (finished) return;
      const tooLarge = reader.push(chunk);
      if (tooLarge !== undefined) {
        this.#o.receiveFailed?.(stream.from);
        finish(this.#refused(Status.INVALID_ARGUMENT, tooLarge));
      }
    };
    conn.on('error', () => {
      if (!finished && !this.#stopped) this.#o.receiveFailed?.(stream.from);
      finish(undefined);
    });
    conn.on('close', () => {
      if (!finished && !reader.idle && !this.#stopped) this.#o.receiveFailed?.(stream.from);
      finish(undefined);
    });
    conn.on('end', () => finish(undefined));
    if (rest.byteLength > 0) onData(rest);
    conn.on('data', onData);
    conn.resume();
  }

  async #snapshot(call: ServerReadableStream<Buffer, SnapshotResponse>, cb: sendUnaryData<SnapshotResponse>): Promise<void> {
    if (this.#stopped) return cb(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    // A cancelled or stopped upload must not leave the read loop waiting forever.
    const abort = (): void => {
      call.destroy(new Error('transport: snapshot upload aborted'));
    };
    this.#active.add(abort);
    call.on('cancelled', abort);
    const t0 = performance.now();
    let from: bigint | undefined;
    const done = (ok: boolean): void => this.#o.snapshotReceived?.(from, ok, (performance.now() - t0) / 1000);
    const r = await receiveSnapshot(call, {
      clusterId: this.#o.clusterId,
      memberId: this.#o.memberId,
      snapshotDir: this.#o.snapshotDir,
      maxSnapshotBytes: this.#o.maxSnapshotBytes,
      bytesReceived: (f, n) => {
        from = f;
        this.#o.bytesReceived(f, n);
      },
    });
    this.#active.delete(abort);
    if (!r.ok) {
      if (!this.#stopped) done(false);
      if (r.error.code === Status.DATA_LOSS || r.error.code === Status.INVALID_ARGUMENT) {
        this.#o.logger.warn({ error: r.error.message }, 'refused snapshot upload');
      }
      return cb(this.#stopped ? statusError(Status.UNAVAILABLE, 'transport: stopped') : r.error);
    }
    if (this.#stopped) {
      await rm(r.path, { force: true });
      return cb(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    }
    this.#o.logger.info(
      { 'remote-peer-id': hex(r.from), index: r.message.snapshot?.metadata.index, bytes: r.bytes },
      'received snapshot',
    );
    try {
      await this.#o.onSnapshot({ message: r.message, path: r.path, bytes: r.bytes });
    } catch (err) {
      this.#o.logger.error({ err, path: r.path }, 'snapshot handler failed');
      await rm(r.path, { force: true });
      done(false);
      return cb(statusError(Status.INTERNAL, 'transport: snapshot handler failed'));
    }
    done(true);
    cb(null, { receivedBytes: BigInt(r.bytes) });
  }
}
