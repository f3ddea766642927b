/**
 * JSON the way etcdctl's `-w json` prints it (Go's encoding/json over the response structs): one
 * line, int64/uint64 as plain numbers (bigints here, never rounded), []byte as base64, fields with
 * zero values omitted by the caller (Go's omitempty).
 */
export type JsonValue = string | number | bigint | boolean | null | Uint8Array | readonly JsonValue[] | { readonly [k: string]: JsonValue | undefined };

export function toJson(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return goString(v);
  if (v instanceof Uint8Array) return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  if (Array.isArray(v)) return `[${v.map((x: JsonValue) => toJson(x)).join(',')}]`;
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v as { readonly [k: string]: JsonValue | undefined })) {
    if (x !== undefined) parts.push(`${goString(k)}:${toJson(x)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Go's json string escaping (HTML-safe: <, >, & as \u003c etc.). */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One JSON document and a newline, as etcdctl prints it. */
export function printJson(v: JsonValue): string {
  return `${toJson(v)}\n`;
}
