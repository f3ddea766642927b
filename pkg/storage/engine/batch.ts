/**
 * A write batch is plain data: an ordered list of operations applied atomically by Engine.write.
 */
export type BatchOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array }
  /**
   * Deletes every key in [gte, lt), including keys put earlier in the same batch. The binding has no
   * native DeleteRange, so Engine.write expands it into point deletes of the keys present when the
   * batch is written (bounded by `maxDeleteRangeKeys`). Keys written to the range by a concurrent,
   * unrelated write between the expansion and the commit survive: callers serialise writers of a range.
   */
  | { readonly type: 'delRange'; readonly gte: Uint8Array; readonly lt: Uint8Array };

export interface WriteOptions {
  /** fsync the RocksDB WAL before resolving. Default false. */
  readonly sync?: boolean;
}

export function put(key: Uint8Array, value: Uint8Array): BatchOp {
  return { type: 'put', key, value };
}

export function del(key: Uint8Array): BatchOp {
  return { type: 'del', key };
}

export function delRange(gte: Uint8Array, lt: Uint8Array): BatchOp {
  return { type: 'delRange', gte, lt };
}

/** Approximate bytes the batch adds to RocksDB's WAL; useful for bounding batch size. */
export function batchBytes(ops: readonly BatchOp[]): number {
  let n = 12;
  for (const op of ops) {
    if (op.type === 'put') n += op.key.byteLength + op.value.byteLength + 11;
    else if (op.type === 'del') n += op.key.byteLength + 6;
    else n += op.gte.byteLength + op.lt.byteLength + 11;
  }
  return n;
}
