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
import { PROTOCOL_VERSION, hex, statusError } from './wire.js';

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
}

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

  #refuseCluster(from: bigint, clusterId: bigint): ServerErrorResponse {
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
    return statusError(
      Status.FAILED_PRECONDITION,
      `transport: cluster ID mismatch: this member's cluster ID is ${hex(this.#o.clusterId)}, the sender's is ${hex(clusterId)}`,
      { reason: 'cluster-id-mismatch', clusterId: this.#o.clusterId, memberId: this.#o.memberId },
    );
  }

  #refuseMember(to: bigint): ServerErrorResponse {
    return statusError(
      Status.FAILED_PRECONDITION,
      `transport: member ID mismatch: this member is ${hex(this.#o.memberId)}, the sender addressed ${hex(to)}`,
      { reason: 'member-id-mismatch', clusterId: this.#o.clusterId, memberId: this.#o.memberId },
    );
  }

  #refuseRemoved(from: bigint): ServerErrorResponse {
    return statusError(Status.FAILED_PRECONDITION, `transport: member ${hex(from)} has been permanently removed from the cluster`, {
      reason: 'member-removed',
      clusterId: this.#o.clusterId,
      memberId: this.#o.memberId,
    });
  }

  #hello(req: HelloRequest, cb: sendUnaryData<HelloResponse>): void {
    if (this.#stopped) return cb(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    if (req.clusterId !== this.#o.clusterId) return cb(this.#refuseCluster(req.from, req.clusterId));
    if (this.#o.isRemoved(req.from)) return cb(this.#refuseRemoved(req.from));
    if (req.to !== 0n && req.to !== this.#o.memberId) return cb(this.#refuseMember(req.to));
    if (req.protocolVersion !== PROTOCOL_VERSION) {
      return cb(
        statusError(
          Status.FAILED_PRECONDITION,
          `transport: peer protocol version mismatch: this member speaks ${PROTOCOL_VERSION}, the sender ${req.protocolVersion}`,
          { reason: 'protocol-version-mismatch', clusterId: this.#o.clusterId, memberId: this.#o.memberId },
        ),
      );
    }
    cb(null, {
      clusterId: this.#o.clusterId,
      memberId: this.#o.memberId,
      serverVersion: this.#o.serverVersion,
      protocolVersion: PROTOCOL_VERSION,
    });
  }

  #send(call: ServerReadableStream<Buffer, SendResponse>, cb: sendUnaryData<SendResponse>): void {
    if (this.#stopped) return cb(statusError(Status.UNAVAILABLE, 'transport: stopped'));
    let batches = 0n;
    let finished = false;
    let from: bigint | undefined;
    const failed = (): void => this.#o.receiveFailed?.(from);
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
      let batch: RaftBatch;
      try {
        // Decode from a plain Uint8Array view: the entries' bytes are subarrays of it, and raft and
        // apply should see Uint8Array, not Buffer (which compares and serialises differently).
        batch = RaftBatch.decode(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
      } catch {
        failed();
        return finish(statusError(Status.INVALID_ARGUMENT, 'transport: malformed raft batch'));
      }
      if (batch.clusterId !== this.#o.clusterId) return finish(this.#refuseCluster(batch.from, batch.clusterId));
      if (batch.to !== this.#o.memberId) return finish(this.#refuseMember(batch.to));
      if (this.#o.isRemoved(batch.from)) return finish(this.#refuseRemoved(batch.from));
      from = batch.from;
      this.#o.bytesReceived(batch.from, buf.byteLength);
      const msgs: Message[] = [];
      for (const pm of batch.messages) {
        const m = messageFromPb(pm);
        if (!m.ok) {
          this.#o.logger.warn({ 'remote-peer-id': hex(batch.from), error: m.error.message }, 'dropped malformed raft batch');
          failed();
          return finish(statusError(Status.INVALID_ARGUMENT, m.error.message));
        }
        if (m.value.to !== this.#o.memberId || m.value.from !== batch.from) {
          const where = `message from ${hex(m.value.from)} to ${hex(m.value.to)} in a batch from ${hex(batch.from)} to ${hex(batch.to)}`;
          failed();
          return finish(statusError(Status.INVALID_ARGUMENT, `transport: ${where}`));
        }
        msgs.push(m.value);
      }
      batches++;
      for (const m of msgs) {
        try {
          this.#o.onMessage(m);
        } catch (err) {
          this.#o.logger.error({ err, type: m.type, 'remote-peer-id': hex(m.from) }, 'raft message handler failed');
        }
      }
    });
    call.on('end', () => finish(null));
    call.on('error', () => {
      if (!finished && !this.#stopped) failed();
      finish(statusError(Status.CANCELLED, 'transport: stream failed'));
    });
    call.on('cancelled', () => finish(statusError(Status.CANCELLED, 'transport: cancelled')));
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
