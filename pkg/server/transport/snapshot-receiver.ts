/**
 * Server side of Raft.Snapshot: reads chunks in order, checks each chunk's crc32, its offset and the
 * bounds, streams the payload to a temp file (memory stays at about one chunk: the call is read
 * with backpressure and each write is awaited), checks the final sha256, fsyncs, and only then hands
 * the file to the caller. On any failure the partial file is removed and the sender gets a status:
 * FAILED_PRECONDITION for a foreign cluster or member, DATA_LOSS for a checksum mismatch,
 * INVALID_ARGUMENT for a malformed upload.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { status as Status, type ServerErrorResponse, type ServerReadableStream } from '@grpc/grpc-js';
import { SnapshotChunk, type SnapshotResponse } from '../../proto/gen/berthpb/transport.js';
import type { Message } from '../../raft/index.js';
import { crc32 } from './checksum.js';
import { messageFromPb } from './codec.js';
import { hex, statusError } from './wire.js';
import { failpoint } from '../../failpoint/index.js';

export interface SnapshotReceiveContext {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly snapshotDir: string;
  readonly maxSnapshotBytes: number;
  readonly bytesReceived: (from: bigint, n: number) => void;
}

export type SnapshotReceiveResult =
  | { readonly ok: true; readonly message: Message; readonly path: string; readonly bytes: number; readonly from: bigint }
  | { readonly ok: false; readonly error: ServerErrorResponse };

function bad(code: Status, message: string): { ok: false; error: ServerErrorResponse } {
  return { ok: false, error: statusError(code, `transport: ${message}`) };
}

async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await fh.write(data, done, data.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Consumes the whole upload. Never throws: I/O errors become INTERNAL. The returned file is fsynced
 * and renamed to its final `.snap` name.
 */
export async function receiveSnapshot(
  call: ServerReadableStream<Buffer, SnapshotResponse>,
  ctx: SnapshotReceiveContext,
): Promise<SnapshotReceiveResult> {
  let fh: FileHandle | undefined;
  let partPath: string | undefined;
  try {
    failpoint('snapshot-receive-before');
    const r = await consume(call, ctx, async (p) => {
      partPath = p;
      fh = await open(p, 'wx', 0o600);
      return fh;
    });
    if (fh !== undefined) {
      if (r.ok) await fh.sync();
      await fh.close();
      fh = undefined;
    }
    if (!r.ok) {
      if (partPath !== undefined) await rm(partPath, { force: true });
      return r;
    }
    const finalPath = (partPath as string).replace(/\.part$/, '.snap');
    await rename(partPath as string, finalPath);
    failpoint('snapshot-receive-after');
    return { ...r, path: finalPath };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    if (partPath !== undefined) await rm(partPath, { force: true }).catch(() => undefined);
    return bad(Status.INTERNAL, `snapshot receive failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function consume(
  call: ServerReadableStream<Buffer, SnapshotResponse>,
  ctx: SnapshotReceiveContext,
  create: (path: string) => Promise<FileHandle>,
): Promise<SnapshotReceiveResult> {
  let fh: FileHandle | undefined;
  let message: Message | undefined;
  let from = 0n;
  let total = 0;
  let received = 0;
  const sha = createHash('sha256');
  for await (const buf of call as AsyncIterable<Buffer>) {
    let chunk: SnapshotChunk;
    try {
      chunk = SnapshotChunk.decode(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    } catch {
      return bad(Status.INVALID_ARGUMENT, 'malformed snapshot chunk');
    }
    if (message === undefined) {
      const h = chunk.header;
      if (h === undefined) return bad(Status.INVALID_ARGUMENT, 'snapshot upload did not start with a header');
      if (h.clusterId !== ctx.clusterId) {
        return {
          ok: false,
          error: statusError(
            Status.FAILED_PRECONDITION,
            `transport: cluster ID mismatch: this member's cluster ID is ${hex(ctx.clusterId)}, the sender's is ${hex(h.clusterId)}`,
            { reason: 'cluster-id-mismatch', clusterId: ctx.clusterId, memberId: ctx.memberId },
          ),
        };
      }
      if (h.to !== ctx.memberId) {
        return {
          ok: false,
          error: statusError(
            Status.FAILED_PRECONDITION,
            `transport: member ID mismatch: this member is ${hex(ctx.memberId)}, the sender addressed ${hex(h.to)}`,
            { reason: 'member-id-mismatch', clusterId: ctx.clusterId, memberId: ctx.memberId },
          ),
        };
      }
      if (h.message === undefined) return bad(Status.INVALID_ARGUMENT, 'snapshot header carries no message');
      const m = messageFromPb(h.message);
      if (!m.ok) return bad(Status.INVALID_ARGUMENT, m.error.message.replace(/^transport: /, ''));
      if (m.value.type !== 'snap' || m.value.snapshot === undefined) {
        return bad(Status.INVALID_ARGUMENT, `snapshot header carries a ${m.value.type} message`);
      }
      if (h.totalBytes > BigInt(ctx.maxSnapshotBytes)) {
        return bad(Status.INVALID_ARGUMENT, `snapshot of ${h.totalBytes} bytes exceeds the limit of ${ctx.maxSnapshotBytes}`);
      }
      message = m.value;
      from = h.from;
      total = Number(h.totalBytes);
      const name = `snap-${hex(from)}-${m.value.snapshot.metadata.index}-${randomBytes(6).toString('hex')}.part`;
      fh = await create(join(ctx.snapshotDir, name));
    } else if (chunk.header !== undefined) {
      return bad(Status.INVALID_ARGUMENT, 'snapshot header repeated after the first chunk');
    }
    ctx.bytesReceived(from, buf.byteLength);
    if (chunk.offset !== BigInt(received)) {
      return bad(Status.INVALID_ARGUMENT, `snapshot chunk at offset ${chunk.offset}, expected ${received}`);
    }
    if (crc32(chunk.data) !== chunk.crc32) {
      return bad(Status.DATA_LOSS, `snapshot chunk at offset ${received} failed its crc32 check`);
    }
    const limit = total > 0 ? total : ctx.maxSnapshotBytes;
    if (received + chunk.data.byteLength > limit) {
      return bad(Status.INVALID_ARGUMENT, `snapshot payload exceeds ${total > 0 ? 'the announced size' : 'the limit'} of ${limit} bytes`);
    }
    await writeAll(fh as FileHandle, chunk.data, received);
    sha.update(chunk.data);
    received += chunk.data.byteLength;
    if (chunk.last) {
      if (total > 0 && received !== total) {
        return bad(Status.INVALID_ARGUMENT, `snapshot ended at ${received} bytes, announced ${total}`);
      }
      if (!sha.digest().equals(chunk.sha256)) return bad(Status.DATA_LOSS, 'snapshot payload failed its sha256 check');
      return { ok: true, message, path: '', bytes: received, from };
    }
  }
  return bad(Status.INVALID_ARGUMENT, `snapshot upload ended after ${received} bytes without its last chunk`);
}
