/**
 * The persisted form of a lease in the Lease keyspace:
 * key   = Keyspace.Lease ‖ lease ID (u64 big-endian, two's complement of the int64 ID)
 * value = format byte (1) ‖ granted TTL (i64 BE) ‖ checkpointed remaining TTL (i64 BE, 0 = none)
 * Attached keys are not stored: they are recovered from the MVCC store (each key records its lease).
 */
import { Keyspace, del, keyIn, keyspaceRange, put, type BatchOp, type Engine } from '../storage/engine/index.js';

export interface LeaseRecord {
  readonly id: bigint;
  readonly ttl: bigint;
  readonly remainingTtl: bigint;
}

const FORMAT = 1;

export function leaseKey(id: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, id));
  return keyIn(Keyspace.Lease, b);
}

export function encodeLeaseRecord(r: LeaseRecord): Uint8Array {
  const b = Buffer.alloc(17);
  b[0] = FORMAT;
  b.writeBigInt64BE(r.ttl, 1);
  b.writeBigInt64BE(r.remainingTtl, 9);
  return b;
}

/** Throws on a record this version cannot read (a broken invariant: the keyspace is ours alone). */
export function decodeLeaseRecord(key: Uint8Array, value: Uint8Array): LeaseRecord {
  if (key.byteLength !== 9 || value.byteLength !== 17 || value[0] !== FORMAT) {
    throw new Error(`lease: unreadable lease record (key ${Buffer.from(key).toString('hex')})`);
  }
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return { id: k.readBigInt64BE(1), ttl: v.readBigInt64BE(1), remainingTtl: v.readBigInt64BE(9) };
}

export function putLeaseOp(r: LeaseRecord): BatchOp {
  return put(leaseKey(r.id), encodeLeaseRecord(r));
}

export function delLeaseOp(id: bigint): BatchOp {
  return del(leaseKey(id));
}

/** Every stored lease, in key order. */
export async function loadLeaseRecords(engine: Pick<Engine, 'iterate'>): Promise<LeaseRecord[]> {
  const out: LeaseRecord[] = [];
  for await (const kv of engine.iterate(keyspaceRange(Keyspace.Lease))) out.push(decodeLeaseRecord(kv.key, kv.value));
  return out;
}
