/**
 * Request/response shapes of the MVCC store, mirroring etcd's etcdserverpb/mvccpb messages field
 * for field (camelCase, int64 → bigint, bytes → Uint8Array). A later server layer maps protobuf to
 * these. Optional request fields default like proto3 (0, false, empty).
 */

export interface KeyValue {
  key: Uint8Array;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Uint8Array;
  lease: bigint;
}

export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface Event {
  type: EventType;
  /** For DELETE: only key and modRevision (the deletion's revision) are set, like etcd. */
  kv: KeyValue;
  /** The key's previous live value, when asked for and when the key existed before this event. */
  prevKv?: KeyValue;
}

/** Only the revision is known to MVCC; the server fills cluster/member id and raft term. */
export interface ResponseHeader {
  revision: bigint;
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: bigint;
  revision?: bigint;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: bigint;
  maxModRevision?: bigint;
  minCreateRevision?: bigint;
  maxCreateRevision?: bigint;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: bigint;
}

export interface PutRequest {
  key: Uint8Array;
  value?: Uint8Array;
  lease?: bigint;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: bigint;
  prevKvs: KeyValue[];
}

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/**
 * etcd's target_union is a oneof; here the field matching `target` is read and a missing one
 * counts as 0 / empty (what etcd does when the oneof holds another member).
 */
export interface Compare {
  result: CompareResult;
  target: CompareTarget;
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  version?: bigint;
  createRevision?: bigint;
  modRevision?: bigint;
  value?: Uint8Array;
  lease?: bigint;
}

/** RequestOp's oneof; `{}` models an empty op (etcd rejects it with "key not found"). */
export type RequestOp =
  | { requestRange: RangeRequest }
  | { requestPut: PutRequest }
  | { requestDeleteRange: DeleteRangeRequest }
  | { requestTxn: TxnRequest }
  | Record<string, never>;

export type ResponseOp =
  | { responseRange: RangeResponse }
  | { responsePut: PutResponse }
  | { responseDeleteRange: DeleteRangeResponse }
  | { responseTxn: TxnResponse };

export interface TxnRequest {
  compare?: Compare[];
  success?: RequestOp[];
  failure?: RequestOp[];
}

export interface TxnResponse {
  /** Top level: the revision after the txn. Nested txn responses carry revision 0, like etcd. */
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: bigint;
  physical?: boolean;
}

export interface CompactionResponse {
  header: ResponseHeader;
}

export interface HashKVResponse {
  header: ResponseHeader;
  hash: number;
  compactRevision: bigint;
  /** The revision the hash covers (the request's, or current when it asked for 0). */
  hashRevision: bigint;
}
