/**
 * etcdctl's renderings of KV responses: `simple` (key and value lines, "OK", deleted counts,
 * SUCCESS/FAILURE) and `json` (Go's encoding/json over the gogo-protobuf structs: snake_case names,
 * zero values omitted, bytes as base64, oneofs as {"Response":{"ResponsePut":…}}).
 */
import type { KeyValue } from '../../../pkg/proto/gen/mvccpb/kv.js';
import type {
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import type { JsonValue } from './json.js';

export interface SimpleOptions {
  readonly hex: boolean;
  readonly valueOnly: boolean;
}

function bytesText(b: Uint8Array, hex: boolean): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (!hex) return buf.toString('latin1');
  return [...buf].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('');
}

/** printKV: the key line (unless value-only) and the value line. Bytes are written raw (latin1 = 1:1). */
export function simpleKv(kv: KeyValue, o: SimpleOptions): string {
  const v = `${bytesText(kv.value, o.hex)}\n`;
  return o.valueOnly ? v : `${bytesText(kv.key, o.hex)}\n${v}`;
}

export function simpleGet(r: RangeResponse, o: SimpleOptions): string {
  return r.kvs.map((kv) => simpleKv(kv, o)).join('');
}

export function simplePut(r: PutResponse, o: SimpleOptions): string {
  return `OK\n${r.prevKv !== undefined ? simpleKv(r.prevKv, o) : ''}`;
}

export function simpleDel(r: DeleteRangeResponse, o: SimpleOptions): string {
  return `${r.deleted}\n${r.prevKvs.map((kv) => simpleKv(kv, o)).join('')}`;
}

export function simpleTxn(r: TxnResponse, o: SimpleOptions): string {
  let out = r.succeeded ? 'SUCCESS\n' : 'FAILURE\n';
  for (const op of r.responses) {
    out += '\n';
    const u = op.response;
    if (u?.$case === 'responseDeleteRange') out += simpleDel(u.value, o);
    else if (u?.$case === 'responsePut') out += simplePut(u.value, o);
    else if (u?.$case === 'responseRange') out += simpleGet(u.value, o);
  }
  return out;
}

const nz = (v: bigint): bigint | undefined => (v === 0n ? undefined : v);
const nonEmpty = (b: Uint8Array): Uint8Array | undefined => (b.byteLength === 0 ? undefined : b);

export function jsonHeader(h: ResponseHeader | undefined): JsonValue | undefined {
  if (h === undefined) return undefined;
  return { cluster_id: nz(h.clusterId), member_id: nz(h.memberId), revision: nz(h.revision), raft_term: nz(h.raftTerm) };
}

export function jsonKv(kv: KeyValue): JsonValue {
  return {
    key: nonEmpty(kv.key),
    create_revision: nz(kv.createRevision),
    mod_revision: nz(kv.modRevision),
    version: nz(kv.version),
    value: nonEmpty(kv.value),
    lease: nz(kv.lease),
  };
}

const list = (kvs: readonly KeyValue[]): JsonValue | undefined => (kvs.length === 0 ? undefined : kvs.map(jsonKv));

export function jsonGet(r: RangeResponse): JsonValue {
  return { header: jsonHeader(r.header), kvs: list(r.kvs), more: r.more ? true : undefined, count: nz(r.count) };
}

export function jsonPut(r: PutResponse): JsonValue {
  return { header: jsonHeader(r.header), prev_kv: r.prevKv === undefined ? undefined : jsonKv(r.prevKv) };
}

export function jsonDel(r: DeleteRangeResponse): JsonValue {
  return { header: jsonHeader(r.header), deleted: nz(r.deleted), prev_kvs: list(r.prevKvs) };
}

function jsonOp(op: ResponseOp): JsonValue {
  const u = op.response;
  if (u === undefined) return {};
  if (u.$case === 'responseRange') return { Response: { ResponseRange: jsonGet(u.value) } };
  if (u.$case === 'responsePut') return { Response: { ResponsePut: jsonPut(u.value) } };
  if (u.$case === 'responseDeleteRange') return { Response: { ResponseDeleteRange: jsonDel(u.value) } };
  return { Response: { ResponseTxn: jsonTxn(u.value) } };
}

export function jsonTxn(r: TxnResponse): JsonValue {
  return { header: jsonHeader(r.header), succeeded: r.succeeded ? true : undefined, responses: r.responses.length === 0 ? undefined : r.responses.map(jsonOp) };
}
