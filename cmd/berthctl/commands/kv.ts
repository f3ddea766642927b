/** `get`, `put`, `del` with etcdctl 3.4's flags, argument rules, messages and exit codes. */
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import type { Services } from '../../../pkg/client/index.js';
import {
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import type { Flags } from '../flags.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printJson } from '../output/json.js';
import { jsonDel, jsonGet, jsonPut, simpleDel, simpleGet, simplePut } from '../output/kv.js';
import { fieldsDel, fieldsGet, fieldsPut } from '../output/fields.js';
import type { Command } from './command.js';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** clientv3.GetPrefixRangeEnd: the first key after every key with this prefix ("\0" when none). */
export function prefixEnd(key: Uint8Array): Uint8Array {
  const end = Uint8Array.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}

/** The [key, rangeEnd) of a get/del: range_end argument, --prefix or --from-key (clientv3's rules for an empty key). */
export function keyRange(key: string, rangeEnd: string | undefined, prefix: boolean, fromKey: boolean): { key: Uint8Array; rangeEnd: Uint8Array } {
  let k = bytes(key);
  if (prefix) {
    if (k.length === 0) return { key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) };
    return { key: k, rangeEnd: prefixEnd(k) };
  }
  if (fromKey) {
    if (k.length === 0) k = Uint8Array.of(0);
    return { key: k, rangeEnd: Uint8Array.of(0) };
  }
  return { key: k, rangeEnd: rangeEnd === undefined ? new Uint8Array(0) : bytes(rangeEnd) };
}

/** Writes KV text whose bytes are latin1-encoded characters (keys and values are raw bytes). */
function writeRaw(ctx: Context, s: string): void {
  ctx.io.stdout.write(Buffer.from(s, 'latin1'));
}

type Unary<Req, Res> = (req: Req, md: Metadata, o: object, cb: (e: ServiceError | null, r: Res) => void) => unknown;

async function call<Req, Res>(ctx: Context, pick: (s: Services) => Unary<Req, Res>, req: Req): Promise<Res> {
  const c = await ctx.client();
  return c.unary<Res>((s, md, o, cb) => void pick(s).call(s.kv, req, md, o, cb));
}

export function checkTableUnsupported(ctx: Context): void {
  if (ctx.writeOut === 'table') throw new CommandError('table not supported as output format', 4);
}

/** The RangeRequest of `get` (also a txn's get line); throws CommandError on a bad combination. */
export function getRequest(f: Flags): RangeRequest {
  const a = f.args;
  if (a.length < 1 || a.length > 2) throw new CommandError('get command needs one argument as key and an optional argument as range_end', Exit.badArgs);
  if (f.bool('prefix') && f.bool('from-key')) throw new CommandError('`--prefix` and `--from-key` cannot be set at the same time, choose one', Exit.badArgs);
  if ((f.bool('prefix') || f.bool('from-key')) && a.length > 1) {
    throw new CommandError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set', Exit.badArgs);
  }
  if (f.bool('keys-only') && f.bool('count-only')) throw new CommandError('`--keys-only` and `--count-only` cannot be set at the same time, choose one', Exit.badArgs);
  const consistency = f.str('consistency');
  if (consistency !== 'l' && consistency !== 's') throw new CommandError(`unknown consistency flag ${JSON.stringify(consistency)}`, Exit.badArgs);
  const order = f.str('order').toUpperCase();
  const orders: Record<string, RangeRequest_SortOrder> = { '': RangeRequest_SortOrder.NONE, ASCEND: RangeRequest_SortOrder.ASCEND, DESCEND: RangeRequest_SortOrder.DESCEND };
  const sortOrder = orders[order];
  if (sortOrder === undefined) throw new CommandError(`bad sort order ${f.str('order')}`, 4);
  const target = f.str('sort-by').toUpperCase();
  const targets: Record<string, RangeRequest_SortTarget> = {
    '': RangeRequest_SortTarget.KEY, KEY: RangeRequest_SortTarget.KEY, CREATE: RangeRequest_SortTarget.CREATE,
    MODIFY: RangeRequest_SortTarget.MOD, VALUE: RangeRequest_SortTarget.VALUE, VERSION: RangeRequest_SortTarget.VERSION,
  };
  const sortTarget = targets[target];
  if (sortTarget === undefined) throw new CommandError(`bad sort target ${f.str('sort-by')}`, 4);
  return {
    ...keyRange(a[0] as string, a[1], f.bool('prefix'), f.bool('from-key')),
    limit: f.int('limit'),
    revision: f.int('rev'),
    // clientv3.WithSort: ascending by key is the server's natural order, sent as no sort.
    sortOrder: sortTarget === RangeRequest_SortTarget.KEY && sortOrder === RangeRequest_SortOrder.ASCEND ? RangeRequest_SortOrder.NONE : sortOrder,
    sortTarget,
    serializable: consistency === 's',
    keysOnly: f.bool('keys-only'),
    countOnly: f.bool('count-only'),
    minModRevision: 0n,
    maxModRevision: 0n,
    minCreateRevision: 0n,
    maxCreateRevision: 0n,
  };
}

async function get(ctx: Context): Promise<number> {
  const req = getRequest(ctx.flags);
  checkTableUnsupported(ctx);
  const r = await call<RangeRequest, RangeResponse>(ctx, (s) => s.kv.range as never, req);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson(jsonGet(r)));
  else if (ctx.writeOut === 'fields') writeRaw(ctx, fieldsGet(r));
  else writeRaw(ctx, simpleGet(r, { hex: ctx.hex, valueOnly: ctx.flags.bool('print-value-only') }));
  return Exit.ok;
}

/** etcdctl parses a lease ID as hex int64. */
export function parseLeaseId(s: string): bigint {
  if (!/^[+-]?[0-9a-fA-F]+$/.test(s)) throw new CommandError(`bad lease ID (strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax), expecting ID in Hex`, Exit.badArgs);
  const v = BigInt(s.startsWith('-') ? `-0x${s.slice(1)}` : `0x${s.replace(/^\+/, '')}`);
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) {
    throw new CommandError(`bad lease ID (strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range), expecting ID in Hex`, Exit.badArgs);
  }
  return v;
}

async function readStdin(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The PutRequest of `put` (value from the arguments or `stdinValue`); throws CommandError on bad input. */
export function putRequest(f: Flags, stdinValue: string | undefined): PutRequest {
  const a = f.args;
  if (a.length === 0) throw new CommandError('put command needs 1 argument and input from stdin or 2 arguments', Exit.badArgs);
  let value = a[1];
  if (value === undefined && !f.bool('ignore-value')) {
    if (stdinValue === undefined || stdinValue === '') throw new CommandError('put command needs 1 argument and input from stdin or 2 arguments', Exit.badArgs);
    value = stdinValue;
  }
  if (value !== undefined && f.bool('ignore-value')) throw new CommandError('put command needs only 1 argument when --ignore-value is set', Exit.badArgs);
  const leaseStr = f.str('lease');
  const lease = leaseStr === '0' || leaseStr === '' ? 0n : parseLeaseId(leaseStr);
  if (lease !== 0n && f.bool('ignore-lease')) throw new CommandError('put command needs only 1 argument when --ignore-lease is set', Exit.badArgs);
  return {
    key: bytes(a[0] as string),
    value: bytes(value ?? ''),
    lease,
    prevKv: f.bool('prev-kv'),
    ignoreValue: f.bool('ignore-value'),
    ignoreLease: f.bool('ignore-lease'),
  };
}

async function put(ctx: Context): Promise<number> {
  const f = ctx.flags;
  const needStdin = f.args.length === 1 && !f.bool('ignore-value');
  const req = putRequest(f, needStdin ? await readStdin(ctx) : undefined);
  checkTableUnsupported(ctx);
  const r = await call<PutRequest, PutResponse>(ctx, (s) => s.kv.put as never, req);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson(jsonPut(r)));
  else if (ctx.writeOut === 'fields') writeRaw(ctx, fieldsPut(r));
  else writeRaw(ctx, simplePut(r, { hex: ctx.hex, valueOnly: false }));
  return Exit.ok;
}

/** The DeleteRangeRequest of `del`; throws CommandError on a bad combination. */
export function delRequest(f: Flags): DeleteRangeRequest {
  const a = f.args;
  if (a.length < 1 || a.length > 2) throw new CommandError('del command needs one argument as key and an optional argument as range_end', Exit.badArgs);
  if (f.bool('prefix') && f.bool('from-key')) throw new CommandError('`--prefix` and `--from-key` cannot be set at the same time, choose one', Exit.badArgs);
  if ((f.bool('prefix') || f.bool('from-key')) && a.length > 1) {
    throw new CommandError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set', Exit.badArgs);
  }
  return { ...keyRange(a[0] as string, a[1], f.bool('prefix'), f.bool('from-key')), prevKv: f.bool('prev-kv') };
}

async function del(ctx: Context): Promise<number> {
  const req = delRequest(ctx.flags);
  checkTableUnsupported(ctx);
  const r = await call<DeleteRangeRequest, DeleteRangeResponse>(ctx, (s) => s.kv.deleteRange as never, req);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson(jsonDel(r)));
  else if (ctx.writeOut === 'fields') writeRaw(ctx, fieldsDel(r));
  else writeRaw(ctx, simpleDel(r, { hex: ctx.hex, valueOnly: false }));
  return Exit.ok;
}

export const kvCommands: readonly Command[] = [
  {
    path: ['get'],
    usage: 'get [options] <key> [range_end]',
    short: 'Gets the key or a range of keys',
    flags: [
      { name: 'consistency', kind: 'string', def: 'l', help: 'Linearizable(l) or Serializable(s)' },
      { name: 'order', kind: 'string', def: '', help: 'Order of results; ASCEND or DESCEND (ASCEND by default)' },
      { name: 'sort-by', kind: 'string', def: '', help: 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION' },
      { name: 'limit', kind: 'int', def: '0', help: 'Maximum number of results' },
      { name: 'prefix', kind: 'bool', def: 'false', help: 'Get keys with matching prefix' },
      { name: 'from-key', kind: 'bool', def: 'false', help: 'Get keys that are greater than or equal to the given key using byte compare' },
      { name: 'rev', kind: 'int', def: '0', help: 'Specify the kv revision' },
      { name: 'keys-only', kind: 'bool', def: 'false', help: 'Get only the keys' },
      { name: 'count-only', kind: 'bool', def: 'false', help: 'Get only the count' },
      { name: 'print-value-only', kind: 'bool', def: 'false', help: 'Only write values when using the "simple" output format' },
    ],
    run: get,
  },
  {
    path: ['put'],
    usage: 'put [options] <key> <value> (<value> can also be given from stdin)',
    short: 'Puts the given key into the store',
    flags: [
      { name: 'lease', kind: 'string', def: '0', help: 'lease ID (in hexadecimal) to attach to the key' },
      { name: 'prev-kv', kind: 'bool', def: 'false', help: 'return the previous key-value pair before modification' },
      { name: 'ignore-value', kind: 'bool', def: 'false', help: 'updates the key using its current value' },
      { name: 'ignore-lease', kind: 'bool', def: 'false', help: 'updates the key using its current lease' },
    ],
    run: put,
  },
  {
    path: ['del'],
    usage: 'del [options] <key> [range_end]',
    short: 'Removes the specified key or range of keys [key, range_end)',
    flags: [
      { name: 'prefix', kind: 'bool', def: 'false', help: 'delete keys with matching prefix' },
      { name: 'prev-kv', kind: 'bool', def: 'false', help: 'return deleted key-value pairs' },
      { name: 'from-key', kind: 'bool', def: 'false', help: 'delete keys that are greater than or equal to the given key using byte compare' },
    ],
    run: del,
  },
];
