/**
 * `txn [-i]`: etcdctl's stdin format. Three blocks, each ended by an empty line: compares
 * (`mod("k") > "0"`, targets ver/version, c/create, m/mod, val/value, lease), success ops and failure
 * ops (`get|put|del` lines with their flags, arguments quoted like a shell). With -i the block titles
 * are printed before each block.
 */
import {
  Compare_CompareResult,
  Compare_CompareTarget,
  type Compare,
  type RequestOp,
  type TxnRequest,
  type TxnResponse,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { FlagError, Flags, parseFlags } from '../flags.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printJson } from '../output/json.js';
import { jsonTxn, simpleTxn } from '../output/kv.js';
import { fieldsTxn } from '../output/fields.js';
import type { Command } from './command.js';
import { checkTableUnsupported, delRequest, getRequest, kvCommands, putRequest } from './kv.js';

/** Reads lines from stdin; `next()` resolves to undefined at end of input without a final newline (Go's EOF). */
class LineReader {
  #buf = '';
  #done = false;
  readonly #it: AsyncIterator<unknown>;
  constructor(stdin: AsyncIterable<unknown>) {
    this.#it = stdin[Symbol.asyncIterator]();
  }
  async next(): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buf.indexOf('\n');
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      if (this.#done) return undefined;
      const r = await this.#it.next();
      if (r.done === true) this.#done = true;
      else this.#buf += Buffer.isBuffer(r.value) ? r.value.toString('utf8') : String(r.value);
    }
  }
}

/** A Go double-quoted or back-quoted string literal at the start of `s`: [value, rest] or undefined. */
export function goQuoted(s: string): [string, string] | undefined {
  if (s.startsWith('`')) {
    const end = s.indexOf('`', 1);
    return end < 0 ? undefined : [s.slice(1, end), s.slice(end + 1)];
  }
  if (!s.startsWith('"')) return undefined;
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') return [out, s.slice(i + 1)];
    if (c === '\n') return undefined;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = s[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e !== undefined && simple[e] !== undefined) out += simple[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if ((e === 'u' || e === 'U') && /^[0-9a-fA-F]+$/.test(s.slice(i + 1, i + (e === 'u' ? 5 : 9)))) {
      const n = e === 'u' ? 4 : 8;
      out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 1 + n), 16));
      i += n;
    } else if (e !== undefined && /^[0-7]{3}$/.test(s.slice(i, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else return undefined;
  }
  return undefined;
}

/** etcdctl's Argify: whitespace-separated words, "double-quoted" (Go escapes) or 'single-quoted'. */
export function argify(line: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  return (line.match(re) ?? []).map((a) => {
    if (a.startsWith("'")) return a.slice(1, -1);
    if (a.startsWith('"')) {
      const q = goQuoted(a);
      if (q === undefined) throw new CommandError('invalid syntax', Exit.invalidInput);
      return q[0];
    }
    return a;
  });
}

const RESULTS: Record<string, Compare_CompareResult> = { '=': Compare_CompareResult.EQUAL, '!=': Compare_CompareResult.NOT_EQUAL, '<': Compare_CompareResult.LESS, '>': Compare_CompareResult.GREATER };

/** One compare line; throws CommandError (exit 3) with etcdctl's messages. */
export function parseCompare(line: string): Compare {
  const lp = line.indexOf('(');
  if (lp < 0) throw new CommandError(`malformed comparison: ${line}`, Exit.invalidInput);
  const target = line.slice(0, lp);
  const k = goQuoted(line.slice(lp + 1));
  const m = k === undefined ? null : /^\)\s+(\S+)\s+(.*)$/.exec(k[1]);
  const v = m === null ? undefined : goQuoted(m[2] as string);
  if (k === undefined || m === null || v === undefined) {
    // Go's Sscanf("%q) %s %q") stops at the first failure; etcdctl prints what it had scanned.
    const q = (x: string): string => JSON.stringify(x);
    throw new CommandError(`malformed comparison: ${line}; got ${target}(${q(k?.[0] ?? '')}) ${m?.[1] ?? ''} ${q('')}`, Exit.invalidInput);
  }
  const key = Buffer.from(k[0], 'utf8');
  const op = m[1] as string;
  const val = v[0];
  const result = RESULTS[op];
  if (result === undefined) throw new CommandError(`Unknown result op: ${op}`, Exit.invalidInput);
  const int = (base: 10 | 16): bigint => {
    const ok = base === 10 ? /^[+-]?\d+$/.test(val) : /^[+-]?[0-9a-fA-F]+$/.test(val);
    if (!ok) throw new CommandError(`invalid txn compare request: ${line}`, Exit.invalidInput);
    return base === 10 ? BigInt(val) : BigInt(val.startsWith('-') ? `-0x${val.slice(1)}` : `0x${val.replace(/^\+/, '')}`);
  };
  const base = { result, key, rangeEnd: new Uint8Array(0) };
  switch (target) {
    case 'ver':
    case 'version':
      return { ...base, target: Compare_CompareTarget.VERSION, targetUnion: { $case: 'version', value: int(10) } };
    case 'c':
    case 'create':
      return { ...base, target: Compare_CompareTarget.CREATE, targetUnion: { $case: 'createRevision', value: int(10) } };
    case 'm':
    case 'mod':
      return { ...base, target: Compare_CompareTarget.MOD, targetUnion: { $case: 'modRevision', value: int(10) } };
    case 'val':
    case 'value':
      return { ...base, target: Compare_CompareTarget.VALUE, targetUnion: { $case: 'value', value: Buffer.from(val, 'utf8') } };
    case 'lease':
      return { ...base, target: Compare_CompareTarget.LEASE, targetUnion: { $case: 'lease', value: int(16) } };
    default:
      throw new CommandError(`malformed comparison: ${line} (unknown target ${target})`, Exit.invalidInput);
  }
}

const specsOf = (name: string) => kvCommands.find((c) => c.path[0] === name)?.flags ?? [];

/** One op line (`put k v`, `get k --prefix`, `del k`). */
export function parseOp(line: string): RequestOp {
  const args = argify(line);
  const invalid = new CommandError(`invalid txn request: ${line}`, Exit.invalidInput);
  if (args.length < 2) throw new CommandError(`invalid txn compare request: ${line}`, Exit.invalidInput);
  const [name, ...rest] = args as [string, ...string[]];
  if (name !== 'get' && name !== 'put' && name !== 'del') throw invalid;
  let f: Flags;
  try {
    f = new Flags(parseFlags(rest, specsOf(name)));
  } catch (err) {
    if (err instanceof FlagError) throw invalid;
    throw err;
  }
  if (name === 'get') return { request: { $case: 'requestRange', value: getRequest(f) } };
  if (name === 'put') return { request: { $case: 'requestPut', value: putRequest(f, undefined) } };
  return { request: { $case: 'requestDeleteRange', value: delRequest(f) } };
}

async function txn(ctx: Context): Promise<number> {
  if (ctx.flags.args.length !== 0) throw new CommandError('txn command does not accept argument', Exit.badArgs);
  const interactive = ctx.flags.bool('interactive');
  const reader = new LineReader(ctx.io.stdin as AsyncIterable<unknown>);
  const block = async <T>(title: string, parse: (line: string) => T): Promise<T[]> => {
    if (interactive) ctx.io.stdout.write(`${title}\n`);
    const out: T[] = [];
    for (;;) {
      const raw = await reader.next();
      if (raw === undefined) throw new CommandError('EOF', Exit.invalidInput);
      const line = raw.trim();
      if (line === '') return out;
      out.push(parse(line));
    }
  };
  const compare = await block('compares:', parseCompare);
  const success = await block('success requests (get, put, del):', parseOp);
  const failure = await block('failure requests (get, put, del):', parseOp);
  const client = await ctx.client();
  const req: TxnRequest = { compare, success, failure };
  // etcdctl's txn has no command timeout (context.Background()); the client's is used here.
  const r = await client.unary<TxnResponse>((s, md, o, cb) => s.kv.txn(req, md, o, cb));
  checkTableUnsupported(ctx);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson(jsonTxn(r)));
  else if (ctx.writeOut === 'fields') ctx.io.stdout.write(Buffer.from(fieldsTxn(r), 'latin1'));
  else ctx.io.stdout.write(Buffer.from(simpleTxn(r, { hex: ctx.hex, valueOnly: false }), 'latin1'));
  return Exit.ok;
}

export const txnCommands: readonly Command[] = [
  {
    path: ['txn'],
    usage: 'txn [options]',
    short: 'Txn processes all the requests in one transaction',
    flags: [{ name: 'interactive', short: 'i', kind: 'bool', def: 'false', help: 'Input transaction in interactive mode' }],
    run: txn,
  },
];
