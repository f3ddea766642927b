/**
 * The recorded history of a robustness run, as plain JSON-able data (kept on failure). Keys and
 * values are strings; revisions, versions and lease IDs are numbers (they stay far below 2^53).
 */

export interface Kv {
  readonly key: string;
  readonly value: string;
  readonly create: number;
  readonly mod: number;
  readonly version: number;
  readonly lease: number;
}

export interface RangeOp {
  readonly kind: 'range';
  readonly key: string;
  /** '' = the single key `key`. */
  readonly end: string;
  readonly limit: number;
  /** 0 = the latest revision. */
  readonly revision: number;
}
export interface PutOp {
  readonly kind: 'put';
  readonly key: string;
  readonly value: string;
  readonly lease: number;
  readonly prevKv: boolean;
}
export interface DeleteOp {
  readonly kind: 'delete';
  readonly key: string;
  readonly end: string;
  readonly prevKv: boolean;
}
export interface Compare {
  readonly key: string;
  readonly target: 'mod' | 'version' | 'create' | 'value';
  readonly op: '=' | '!=' | '<' | '>';
  readonly value: number | string;
}
export type TxnStep = RangeOp | PutOp | DeleteOp;
export interface TxnOp {
  readonly kind: 'txn';
  readonly compares: readonly Compare[];
  readonly success: readonly TxnStep[];
  readonly failure: readonly TxnStep[];
}
export interface LeaseGrantOp {
  readonly kind: 'leaseGrant';
  readonly id: number;
  readonly ttl: number;
}
export interface LeaseRevokeOp {
  readonly kind: 'leaseRevoke';
  readonly id: number;
}
export interface CompactOp {
  readonly kind: 'compact';
  readonly revision: number;
}
export type Op = RangeOp | PutOp | DeleteOp | TxnOp | LeaseGrantOp | LeaseRevokeOp | CompactOp;

export interface RangeResult {
  readonly kind: 'range';
  readonly kvs: readonly Kv[];
  readonly count: number;
  readonly more: boolean;
}
export interface PutResult {
  readonly kind: 'put';
  readonly prev: Kv | null;
}
export interface DeleteResult {
  readonly kind: 'delete';
  readonly deleted: number;
  readonly prevs: readonly Kv[];
}
export type StepResult = RangeResult | PutResult | DeleteResult;
export interface TxnResult {
  readonly kind: 'txn';
  readonly succeeded: boolean;
  readonly results: readonly StepResult[];
}
export type Result = StepResult | TxnResult | { readonly kind: 'leaseGrant' | 'leaseRevoke' | 'compact' };

export interface Operation {
  readonly id: number;
  readonly client: number;
  readonly endpoint: string;
  readonly op: Op;
  /** ms since the run started, when the request was sent. */
  readonly call: number;
  /** when the answer arrived; null = unknown outcome (error, timeout, crash). */
  ret: number | null;
  /** header revision of a successful answer. */
  rev: number;
  result: Result | null;
  error: string | null;
  /** A definite failure: the request certainly had no effect (e.g. compacted, lease not found). */
  definiteFailure: boolean;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: Kv;
  readonly prev: Kv | null;
}

export interface WatchResponseRecord {
  readonly at: number;
  readonly rev: number;
  readonly events: readonly WatchEvent[];
  readonly progress: boolean;
  readonly canceled: boolean;
  readonly compactRevision: number;
}

/** One watch session: a created watch on one endpoint until it ended. */
export interface WatchSession {
  readonly id: number;
  readonly watcher: number;
  readonly endpoint: string;
  readonly key: string;
  readonly end: string;
  /** As requested (0 = from now). */
  readonly startRevision: number;
  readonly prevKv: boolean;
  /** Header revision of the created response (the start is createdRev+1 when startRevision is 0). */
  createdRev: number;
  readonly responses: WatchResponseRecord[];
  /** Main watchers cover the whole keyspace from revision 1 and feed the revision log. */
  readonly main: boolean;
}

export interface History {
  readonly seed: number;
  readonly members: number;
  readonly prefix: string;
  readonly operations: Operation[];
  readonly watches: WatchSession[];
  /** Per member after heal: full range of the prefix and HashKV at one revision. */
  final: { endpoint: string; rev: number; kvs: Kv[]; hash: number; hashRev: number; compactRev: number }[];
}
