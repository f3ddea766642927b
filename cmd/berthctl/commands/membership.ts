/**
 * `member add <name> --peer-urls=… [--learner]`, `member remove|update|promote <hex id>` with etcdctl
 * 3.4's argument rules, messages and outputs: simple (`Member <%16x> added to cluster <%16x>` and, for
 * add, the ETCD_* block a new member starts with), json and protobuf of the response (output/response.ts).
 */
import {
  MemberAddResponse,
  MemberPromoteResponse,
  MemberRemoveResponse,
  MemberUpdateResponse,
  type ResponseHeader,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printResponse } from '../output/response.js';
import { jsonHeader } from '../output/kv.js';
import { jsonMember, jsonMembers } from '../output/member.js';
import { goQuote } from '../output/fields.js';
import type { Command } from './command.js';

/** Go's %16x: lower-case hex, space-padded to 16. */
const hex16 = (v: bigint): string => v.toString(16).padStart(16, ' ');

/** strconv.ParseUint(s, 16, 64) as the member commands report it. */
export function parseMemberId(s: string): bigint {
  const bad = (why: string): CommandError => new CommandError(`bad member ID arg (strconv.ParseUint: parsing ${JSON.stringify(s)}: ${why}), expecting ID in Hex`, Exit.badArgs);
  if (!/^[0-9a-fA-F]+$/.test(s)) throw bad('invalid syntax');
  const v = BigInt(`0x${s}`);
  if (v > 0xffffffffffffffffn) throw bad('value out of range');
  return v;
}

const peerUrls = (ctx: Context): string => ctx.flags.str('peer-urls');

function oneId(ctx: Context): bigint {
  if (ctx.flags.args.length !== 1) throw new CommandError('member ID is not provided', Exit.badArgs);
  return parseMemberId(ctx.flags.args[0] as string);
}

const clusterId = (h: ResponseHeader | undefined): bigint => h?.clusterId ?? 0n;

async function memberAdd(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length < 1) throw new CommandError('member name not provided', Exit.badArgs);
  if (a.length > 1) {
    const hints = a.filter((s) => s.toLowerCase().startsWith('http')).map((s) => `, did you mean --peer-urls=${s}`);
    throw new CommandError(`too many arguments${hints.join('')}`, Exit.badArgs);
  }
  const name = a[0] as string;
  const urls = peerUrls(ctx);
  if (urls === '') throw new CommandError('member peer urls not provided', Exit.badArgs);
  const c = await ctx.client();
  const r = await c.unary<MemberAddResponse>((s, md, o, cb) => s.cluster.memberAdd({ peerURLs: urls.split(','), isLearner: ctx.flags.bool('learner') }, md, o, cb));
  const newId = r.member?.ID ?? 0n;
  printResponse(ctx, MemberAddResponse, r, () => ({ header: jsonHeader(r.header), member: r.member === undefined ? undefined : jsonMember(r.member), members: jsonMembers(r.members) }), () => {
    const conf = r.members.flatMap((m) => m.peerURLs.map((u) => `${m.ID === newId ? name : m.name}=${u}`));
    return (
      `Member ${hex16(newId)} added to cluster ${hex16(clusterId(r.header))}\n\n` +
      `ETCD_NAME=${goQuote(name)}\nETCD_INITIAL_CLUSTER=${goQuote(conf.join(','))}\n` +
      `ETCD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(urls)}\nETCD_INITIAL_CLUSTER_STATE="existing"\n`
    );
  });
  return Exit.ok;
}

async function memberRemove(ctx: Context): Promise<number> {
  const id = oneId(ctx);
  const c = await ctx.client();
  const r = await c.unary<MemberRemoveResponse>((s, md, o, cb) => s.cluster.memberRemove({ ID: id }, md, o, cb));
  printResponse(ctx, MemberRemoveResponse, r, () => ({ header: jsonHeader(r.header), members: jsonMembers(r.members) }), () => `Member ${hex16(id)} removed from cluster ${hex16(clusterId(r.header))}\n`);
  return Exit.ok;
}

async function memberUpdate(ctx: Context): Promise<number> {
  const id = oneId(ctx);
  const urls = peerUrls(ctx);
  if (urls === '') throw new CommandError('member peer urls not provided', Exit.badArgs);
  const c = await ctx.client();
  const r = await c.unary<MemberUpdateResponse>((s, md, o, cb) => s.cluster.memberUpdate({ ID: id, peerURLs: urls.split(',') }, md, o, cb));
  printResponse(ctx, MemberUpdateResponse, r, () => ({ header: jsonHeader(r.header), members: jsonMembers(r.members) }), () => `Member ${hex16(id)} updated in cluster ${hex16(clusterId(r.header))}\n`);
  return Exit.ok;
}

async function memberPromote(ctx: Context): Promise<number> {
  const id = oneId(ctx);
  const c = await ctx.client();
  const r = await c.unary<MemberPromoteResponse>((s, md, o, cb) => s.cluster.memberPromote({ ID: id }, md, o, cb));
  printResponse(ctx, MemberPromoteResponse, r, () => ({ header: jsonHeader(r.header), members: jsonMembers(r.members) }), () => `Member ${hex16(id)} promoted in cluster ${hex16(clusterId(r.header))}\n`);
  return Exit.ok;
}

export const membershipCommands: readonly Command[] = [
  {
    path: ['member', 'add'],
    usage: 'member add <memberName> [options]',
    short: 'Adds a member into the cluster',
    flags: [
      { name: 'peer-urls', kind: 'string', def: '', help: 'comma separated peer URLs for the new member.' },
      { name: 'learner', kind: 'bool', def: 'false', help: 'indicates if the new member is raft learner' },
    ],
    run: memberAdd,
  },
  { path: ['member', 'remove'], usage: 'member remove <memberID>', short: 'Removes a member from the cluster', flags: [], run: memberRemove },
  {
    path: ['member', 'update'],
    usage: 'member update <memberID> [options]',
    short: 'Updates a member in the cluster',
    flags: [{ name: 'peer-urls', kind: 'string', def: '', help: 'comma separated peer URLs for the updated member.' }],
    run: memberUpdate,
  },
  { path: ['member', 'promote'], usage: 'member promote <memberID>', short: 'Promotes a non-voting member in the cluster', flags: [], run: memberPromote },
];
