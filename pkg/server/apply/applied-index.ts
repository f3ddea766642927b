/**
 * The applied index record: written ONLY inside the batch that carries the effects of the entry it
 * names (architecture invariant 3), so after a crash the state and the index always agree.
 */
import { Keyspace, keyIn, put, type BatchOp, type Engine } from '../../storage/engine/index.js';

const KEY = keyIn(Keyspace.Meta, Buffer.from('applied-index'));

export interface AppliedIndex {
  readonly index: number;
  readonly term: number;
}

export function appliedIndexOp(a: AppliedIndex): BatchOp {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(BigInt(a.index), 0);
  b.writeBigUInt64BE(BigInt(a.term), 8);
  return put(KEY, b);
}

export async function loadAppliedIndex(engine: Engine): Promise<AppliedIndex> {
  const v = await engine.get(KEY);
  if (v === undefined) return { index: 0, term: 0 };
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return { index: Number(b.readBigUInt64BE(0)), term: Number(b.readBigUInt64BE(8)) };
}
