/**
 * Client side of Raft.Snapshot: re-chunks the payload into fixed-size chunks, each with its crc32 and
 * offset, the first carrying the header (the snap message), the last the sha256 of the whole payload.
 * Memory stays at about one chunk plus grpc-js's bounded write buffer: each write that reports
 * backpressure is followed by waiting for 'drain' before the source is read further.
 */
import { createHash } from 'node:crypto';
import type { Client, ClientWritableStream } from '@grpc/grpc-js';
import { SnapshotChunk, type SnapshotHeader } from '../../proto/gen/berthpb/transport.js';
import type { Message } from '../../raft/index.js';
import { crc32 } from './checksum.js';
import { messageToPb } from './codec.js';
import { openSnapshotStream } from './wire.js';

export interface UploadOptions {
  /** The snap message raft produced; travels in the header. */
  readonly message: Message;
  readonly payload: AsyncIterable<Uint8Array>;
  readonly clusterId: bigint;
  readonly from: bigint;
  readonly chunkBytes: number;
  readonly bytesSent: (n: number) => void;
  /** Aborting cancels the call; the upload then resolves as failed. */
  readonly signal: AbortSignal;
}

export type UploadResult = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly reason: string };

const EMPTY = new Uint8Array(0);

function concat(parts: readonly Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  return Buffer.concat(parts, len);
}

/**
 * Uploads `o.payload` for snap message `o.message`. Resolves ok only when the receiver confirmed
 * every byte; never rejects (a failing source or call becomes `ok: false` with the reason).
 */
export async function uploadSnapshot(client: Client, o: UploadOptions): Promise<UploadResult> {
  const m = o.message;
  let call: ClientWritableStream<Uint8Array> | undefined;
  let answered = false;
  const response = new Promise<UploadResult>((resolve) => {
    call = openSnapshotStream(client, (err, res) => {
      answered = true;
      if (err !== null) resolve({ ok: false, reason: err.details || err.message });
      else resolve({ ok: true, bytes: Number(res?.receivedBytes ?? 0n) });
    });
  });
  const c = call as unknown as ClientWritableStream<Uint8Array>;
  const onAbort = (): void => c.cancel();
  if (o.signal.aborted) onAbort();
  o.signal.addEventListener('abort', onAbort, { once: true });

  const header: SnapshotHeader = { clusterId: o.clusterId, from: o.from, to: m.to, message: messageToPb(m), totalBytes: 0n };
  const sha = createHash('sha256');
  let offset = 0;
  let first = true;
  const emit = async (data: Uint8Array, last: boolean): Promise<void> => {
    sha.update(data);
    const bytes = SnapshotChunk.encode({
      header: first ? header : undefined,
      offset: BigInt(offset),
      data,
      crc32: crc32(data),
      last,
      sha256: last ? sha.digest() : EMPTY,
    }).finish();
    first = false;
    offset += data.byteLength;
    o.bytesSent(bytes.byteLength);
    if (!c.write(bytes) && !answered) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          c.off('drain', done);
          resolve();
        };
        c.on('drain', done);
        void response.then(done);
      });
    }
  };

  // The source is read by hand so an answer from the receiver (or a cancel) ends the upload even
  // while the source is blocked in next().
  const it = o.payload[Symbol.asyncIterator]();
  const ANSWERED = Symbol('answered');
  const answeredP = response.then((): typeof ANSWERED => ANSWERED);
  try {
    let parts: Uint8Array[] = [];
    let len = 0;
    for (;;) {
      const step = await Promise.race([it.next(), answeredP]);
      if (step === ANSWERED || answered) {
        void Promise.resolve(it.return?.()).catch(() => undefined);
        break;
      }
      if (step.done === true) break;
      let p = step.value;
      while (len + p.byteLength >= o.chunkBytes && !answered) {
        const take = o.chunkBytes - len;
        parts.push(p.subarray(0, take));
        await emit(concat(parts, o.chunkBytes), false);
        parts = [];
        len = 0;
        p = p.subarray(take);
      }
      if (p.byteLength > 0 && !answered) {
        // The source may reuse its buffer after yielding; keep a copy.
        parts.push(Buffer.from(p));
        len += p.byteLength;
      }
    }
    if (!answered) {
      await emit(concat(parts, len), true);
      c.end();
    }
  } catch (err) {
    c.cancel();
    await response;
    return { ok: false, reason: `snapshot source failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
  const r = await response;
  if (r.ok && r.bytes !== offset) return { ok: false, reason: `receiver confirmed ${r.bytes} of ${offset} bytes` };
  return r;
}
