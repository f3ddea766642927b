/**
 * `lease grant | revoke | timetolive | list | keep-alive`. etcdctl prints clientv3's own response
 * structs here, so JSON has the header's fields inline and Go field names ("ID", "TTL", "Error") or
 * clientv3's tags ("id", "ttl", "granted-ttl"); revoke prints the protobuf response.
 */
import type {
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  ResponseHeader,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { errorMessage } from '../../../pkg/client/index.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printJson, type JsonValue } from '../output/json.js';
import { jsonHeader } from '../output/kv.js';
import { fieldsHeader } from '../output/fields.js';
import type { Command } from './command.js';

const hex16 = (id: bigint): string => BigInt.asUintN(64, id).toString(16).padStart(16, '0');

function inlineHeader(h: ResponseHeader | undefined): Record<string, JsonValue | undefined> {
  return (jsonHeader(h) ?? {}) as Record<string, JsonValue | undefined>;
}

function leaseArg(s: string): bigint {
  if (!/^[+-]?[0-9a-fA-F]+$/.test(s)) throw new CommandError(`bad lease ID arg (strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax), expecting ID in Hex`, Exit.badArgs);
  return BigInt(s.startsWith('-') ? `-0x${s.slice(1)}` : `0x${s.replace(/^\+/, '')}`);
}

function noTable(ctx: Context): void {
  if (ctx.writeOut === 'table') throw new CommandError('table not supported as output format', 4);
}

async function grant(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length !== 1) throw new CommandError('lease grant command needs TTL argument', Exit.badArgs);
  if (!/^[+-]?\d+$/.test(a[0] as string)) throw new CommandError(`bad TTL (strconv.ParseInt: parsing ${JSON.stringify(a[0])}: invalid syntax)`, Exit.badArgs);
  const c = await ctx.client();
  let r: LeaseGrantResponse;
  try {
    r = await c.unary<LeaseGrantResponse>((s, md, o, cb) => s.lease.leaseGrant({ TTL: BigInt(a[0] as string), ID: 0n }, md, o, cb));
  } catch (err) {
    throw new CommandError(`failed to grant lease (${errorMessage(err)})`, Exit.error);
  }
  noTable(ctx);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson({ ...inlineHeader(r.header), ID: r.ID, TTL: r.TTL, Error: r.error }));
  else if (ctx.writeOut === 'fields') ctx.io.stdout.write(`${fieldsHeader(r.header)}"ID" : ${r.ID}\n"TTL" : ${r.TTL}\n`);
  else ctx.io.stdout.write(`lease ${hex16(r.ID)} granted with TTL(${r.TTL}s)\n`);
  return Exit.ok;
}

async function revoke(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length !== 1) throw new CommandError('lease revoke command needs 1 argument', Exit.badArgs);
  const id = leaseArg(a[0] as string);
  const c = await ctx.client();
  let r: LeaseRevokeResponse;
  try {
    r = await c.unary<LeaseRevokeResponse>((s, md, o, cb) => s.lease.leaseRevoke({ ID: id }, md, o, cb));
  } catch (err) {
    throw new CommandError(`failed to revoke lease (${errorMessage(err)})`, Exit.error);
  }
  noTable(ctx);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson({ header: jsonHeader(r.header) }));
  else ctx.io.stdout.write(`lease ${hex16(id)} revoked\n`);
  return Exit.ok;
}

async function timetolive(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length !== 1) throw new CommandError('lease timetolive command needs lease ID as argument', Exit.badArgs);
  const id = leaseArg(a[0] as string);
  const keys = ctx.flags.bool('keys');
  const c = await ctx.client();
  const r = await c.unary<LeaseTimeToLiveResponse>((s, md, o, cb) => s.lease.leaseTimeToLive({ ID: id, keys }, md, o, cb));
  noTable(ctx);
  if (ctx.writeOut === 'json') {
    ctx.io.stdout.write(printJson({ ...inlineHeader(r.header), id: r.ID, ttl: r.TTL, 'granted-ttl': r.grantedTTL, keys: r.keys.length === 0 ? null : r.keys }));
  } else if (r.grantedTTL === 0n && r.TTL === -1n) {
    ctx.io.stdout.write(`lease ${hex16(r.ID)} already expired\n`);
  } else {
    let txt = `lease ${hex16(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)`;
    if (keys) txt += `, attached keys([${r.keys.map((k) => Buffer.from(k).toString('latin1')).join(' ')}])`;
    ctx.io.stdout.write(Buffer.from(`${txt}\n`, 'latin1'));
  }
  return Exit.ok;
}

async function list(ctx: Context): Promise<number> {
  const c = await ctx.client();
  const r = await c.unary<LeaseLeasesResponse>((s, md, o, cb) => s.lease.leaseLeases({}, md, o, cb));
  noTable(ctx);
  if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson({ ...inlineHeader(r.header), leases: r.leases.map((l) => ({ id: l.ID })) }));
  else ctx.io.stdout.write(`found ${r.leases.length} leases\n${r.leases.map((l) => `${hex16(l.ID)}\n`).join('')}`);
  return Exit.ok;
}

async function keepAlive(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length !== 1) throw new CommandError('lease keep-alive command needs lease ID as argument', Exit.badArgs);
  const id = leaseArg(a[0] as string);
  noTable(ctx);
  const c = await ctx.client();
  const once = ctx.flags.bool('once');
  const stream = c.services.lease.leaseKeepAlive();
  const print = (r: LeaseKeepAliveResponse): void => {
    if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson({ ...inlineHeader(r.header), ID: r.ID, TTL: r.TTL }));
    else ctx.io.stdout.write(`lease ${hex16(r.ID)} keepalived with TTL(${r.TTL})\n`);
  };
  return new Promise<number>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (code: number, message?: string): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearInterval(timer);
      if (message !== undefined) ctx.io.stderr.write(message);
      stream.cancel();
      resolve(code);
    };
    stream.on('data', (r: LeaseKeepAliveResponse) => {
      if (r.TTL <= 0n) {
        if (once) finish(Exit.error, `Error: etcdserver: requested lease not found\n`);
        else finish(Exit.ok, `lease ${hex16(id)} expired or revoked.\n`);
        return;
      }
      print(r);
      if (once) finish(Exit.ok);
    });
    stream.on('error', (err) => finish(Exit.error, `Error: ${errorMessage(err)}\n`));
    stream.write({ ID: id });
    // Like clientv3's keepalive loop: every third of the TTL (at least every 500 ms here).
    if (!once) timer = setInterval(() => stream.write({ ID: id }), 500);
  });
}

export const leaseCommands: readonly Command[] = [
  { path: ['lease', 'grant'], usage: 'lease grant <ttl>', short: 'Creates leases', flags: [], run: grant },
  { path: ['lease', 'revoke'], usage: 'lease revoke <leaseID>', short: 'Revokes leases', flags: [], run: revoke },
  {
    path: ['lease', 'timetolive'],
    usage: 'lease timetolive <leaseID> [options]',
    short: 'Get lease information',
    flags: [{ name: 'keys', kind: 'bool', def: 'false', help: 'Get keys attached to this lease' }],
    run: timetolive,
  },
  { path: ['lease', 'list'], usage: 'lease list', short: 'List all active leases', flags: [], run: list },
  {
    path: ['lease', 'keep-alive'],
    usage: 'lease keep-alive [options] <leaseID>',
    short: 'Keeps leases alive (renew)',
    flags: [{ name: 'once', kind: 'bool', def: 'false', help: 'Resets the keep-alive time to its original value and exits immediately' }],
    run: keepAlive,
  },
];
