/**
 * JSON naming of etcd's grpc-gateway: etcd 3.4/3.5 use grpc-gateway v1's default marshaler,
 * `JSONPb{OrigName: true}` (EmitDefaults false, enums as names, 64-bit integers as strings, bytes as
 * base64), so responses carry the .proto field names: `cluster_id`, `create_revision`, but `dbSize`,
 * `ID`, `peerURLs` where the .proto itself is camel-cased. Requests are accepted under both names.
 *
 * ts-proto's toJSON emits lowerCamelCase JSON names; the only names that differ from the .proto ones
 * are those with underscores, listed here (every snake_case field of etcdserverpb, mvccpb, authpb,
 * v3lockpb, v3electionpb).
 */
const SNAKE_FIELDS = [
  'cancel_reason', 'cancel_request', 'cluster_id', 'compact_revision', 'count_only', 'create_request', 'create_revision',
  'hash_revision', 'ignore_lease', 'ignore_value', 'keys_only', 'max_create_revision', 'max_mod_revision', 'member_id',
  'min_create_revision', 'min_mod_revision', 'mod_revision', 'no_password', 'prev_kv', 'prev_kvs', 'progress_notify',
  'progress_request', 'range_end', 'range_response', 'remaining_bytes', 'request_delete_range',
  'request_put', 'request_range', 'request_txn', 'response_delete_range', 'response_put', 'response_range',
  'response_txn', 'sort_order', 'sort_target', 'start_revision', 'watch_id', 'target_union', 'request_union',
  'response_union', 'fragment',
] as const;

function camel(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

const TO_PROTO: ReadonlyMap<string, string> = new Map(SNAKE_FIELDS.map((s) => [camel(s), s]));

/**
 * The one clash: ResponseHeader's `raft_term` and StatusResponse's `raftTerm` share the JSON name
 * `raftTerm`, so it is renamed only inside a `header` object (the only place a ResponseHeader sits).
 */
function protoName(key: string, parent: string | undefined): string {
  if (key === 'raftTerm') return parent === 'header' ? 'raft_term' : key;
  return TO_PROTO.get(key) ?? key;
}

/** Renames the keys of a ts-proto toJSON result to the .proto field names, recursively. */
export function toProtoNames(v: unknown, parent?: string): unknown {
  if (Array.isArray(v)) return v.map((e) => toProtoNames(e, parent));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[protoName(k, parent)] = toProtoNames(val, k);
  return out;
}
