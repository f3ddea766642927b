/**
 * etcdctl's `-w fields`: one `"Name" : value` line per field, strings in Go's %q quoting, the header's
 * four fields first.
 */
import type { KeyValue } from '../../../pkg/proto/gen/mvccpb/kv.js';
import type { DeleteRangeResponse, PutResponse, RangeResponse, ResponseHeader, TxnResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';

/**
 * Go's %q of a byte string: printable UTF-8 kept, the usual escapes, other bytes as \xNN. The result is
 * a byte string (one char per byte, write it with Buffer.from(s, 'latin1')).
 */
export function goQuote(input: Uint8Array | string): string {
  const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 34: '\\"', 92: '\\\\' };
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    if (named[c] !== undefined) {
      out += named[c];
      i++;
    } else if (c >= 0x20 && c < 0x7f) {
      out += String.fromCharCode(c);
      i++;
    } else if (c < 0x80) {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
    } else {
      const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
      const seq = len === 0 ? undefined : b.subarray(i, i + len);
      const text = seq === undefined || seq.length < len ? undefined : seq.toString('utf8');
      if (text !== undefined && !text.includes('\ufffd') && Buffer.from(text, 'utf8').equals(seq as Buffer)) {
        out += (seq as Buffer).toString('latin1');
        i += len;
      } else {
        out += `\\x${c.toString(16).padStart(2, '0')}`;
        i++;
      }
    }
  }
  return `${out}"`;
}

export function fieldsHeader(h: ResponseHeader | undefined): string {
  return `"ClusterID" : ${h?.clusterId ?? 0n}\n"MemberID" : ${h?.memberId ?? 0n}\n"Revision" : ${h?.revision ?? 0n}\n"RaftTerm" : ${h?.raftTerm ?? 0n}\n`;
}

function fieldsKv(pfx: string, kv: KeyValue): string {
  return (
    `"${pfx}Key" : ${goQuote(kv.key)}\n"${pfx}CreateRevision" : ${kv.createRevision}\n"${pfx}ModRevision" : ${kv.modRevision}\n` +
    `"${pfx}Version" : ${kv.version}\n"${pfx}Value" : ${goQuote(kv.value)}\n"${pfx}Lease" : ${kv.lease}\n`
  );
}

export function fieldsGet(r: RangeResponse): string {
  return `${fieldsHeader(r.header)}${r.kvs.map((kv) => fieldsKv('', kv)).join('')}"More" : ${r.more}\n"Count" : ${r.count}\n`;
}

export function fieldsPut(r: PutResponse): string {
  return `${fieldsHeader(r.header)}${r.prevKv === undefined ? '' : fieldsKv('Prev', r.prevKv)}`;
}

export function fieldsDel(r: DeleteRangeResponse): string {
  return `${fieldsHeader(r.header)}"Deleted" : ${r.deleted}\n${r.prevKvs.map((kv) => fieldsKv('Prev', kv)).join('')}`;
}

export function fieldsTxn(r: TxnResponse): string {
  let out = `${fieldsHeader(r.header)}"Succeeded" : ${r.succeeded}\n`;
  for (const op of r.responses) {
    const u = op.response;
    if (u?.$case === 'responseDeleteRange') out += fieldsDel(u.value);
    else if (u?.$case === 'responsePut') out += fieldsPut(u.value);
    else if (u?.$case === 'responseRange') out += fieldsGet(u.value);
  }
  return out;
}
