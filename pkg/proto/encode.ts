/**
 * Protobuf encoding through one reused writer, for the hot paths (client responses, proposals, raft
 * batches, watch responses).
 *
 * Why: ts-proto's `X.encode(m).finish()` starts a new BinaryWriter per message. Its buffer starts at
 * 128 bytes and doubles (each step a zeroed allocation plus a copy), a nested message longer than 127
 * bytes shifts its bytes to widen the length prefix, and finish() copies the result out. A writer
 * that is kept has its buffer grown already; finish() still returns a fresh copy, so no two results
 * share memory and a result stays valid after the next encode.
 *
 * Invariants: encoding is synchronous and no encode starts another from inside itself, so one writer
 * is enough (a nested call would still be correct: it gets a writer of its own). An encode that
 * throws leaves the writer reset. After a result above KEEP_BYTES the writer is replaced, so one huge
 * response does not pin a huge buffer.
 *
 * Tested by test/proto/encode.test.ts (byte-for-byte equal to ts-proto's own encode, independence of
 * results, recovery after a throwing encode).
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** A ts-proto message type: anything with `encode(message, writer)`. */
export interface Encodable<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

/** The largest result after which the writer's buffer is kept for the next encode. */
export const KEEP_BYTES = 1 << 20;

let shared = new BinaryWriter();
let busy = false;

/** `type.encode(message).finish()`, through the shared writer. */
export function encodeMessage<T>(type: Encodable<T>, message: T): Uint8Array {
  if (busy) return type.encode(message).finish();
  busy = true;
  try {
    const out = type.encode(message, shared).finish();
    if (out.byteLength > KEEP_BYTES) shared = new BinaryWriter();
    return out;
  } catch (err) {
    shared = new BinaryWriter();
    throw err;
  } finally {
    busy = false;
  }
}

/** encodeMessage as a Buffer over the same bytes (no copy). */
export function encodeToBuffer<T>(type: Encodable<T>, message: T): Buffer {
  const u = encodeMessage(type, message);
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
