/** `alarm list | disarm`, `defrag [--cluster]`, `move-leader <hex id>` (etcdctl 3.4's behaviour and outputs). */
import { errorMessage, type Client } from '../../../pkg/client/index.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  type AlarmMember,
  type AlarmResponse,
  type DefragmentResponse,
  type MemberListResponse,
  type MoveLeaderResponse,
  type StatusResponse,
} from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printJson } from '../output/json.js';
import { jsonHeader } from '../output/kv.js';
import { fieldsHeader } from '../output/fields.js';
import type { Command } from './command.js';

const ALARM_NAMES: Record<number, string> = { [AlarmType.NONE]: 'NONE', [AlarmType.NOSPACE]: 'NOSPACE', [AlarmType.CORRUPT]: 'CORRUPT' };

/** Go's `%+v` of a gogo-protobuf AlarmMember (its compact text form). */
function alarmText(a: AlarmMember): string {
  return `${a.memberID === 0n ? '' : `memberID:${a.memberID} `}${a.alarm === AlarmType.NONE ? '' : `alarm:${ALARM_NAMES[a.alarm] ?? a.alarm} `}`;
}

function printAlarms(ctx: Context, r: { header?: AlarmResponse['header']; alarms: AlarmMember[] }): void {
  if (ctx.writeOut === 'table') throw new CommandError('table not supported as output format', 4);
  if (ctx.writeOut === 'json') {
    const alarms = r.alarms.map((a) => ({ memberID: a.memberID === 0n ? undefined : a.memberID, alarm: a.alarm === AlarmType.NONE ? undefined : a.alarm }));
    ctx.io.stdout.write(printJson({ header: jsonHeader(r.header), alarms: alarms.length === 0 ? undefined : alarms }));
  } else if (ctx.writeOut === 'fields') {
    ctx.io.stdout.write(fieldsHeader(r.header) + r.alarms.map((a) => `"MemberID" : ${a.memberID}\n"AlarmType" : ${ALARM_NAMES[a.alarm] ?? a.alarm}\n\n`).join(''));
  } else {
    ctx.io.stdout.write(r.alarms.map((a) => `${alarmText(a)}\n`).join(''));
  }
}

async function alarmList(ctx: Context): Promise<number> {
  const c = await ctx.client();
  const r = await c.unary<AlarmResponse>((s, md, o, cb) => s.maintenance.alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, md, o, cb));
  printAlarms(ctx, r);
  return Exit.ok;
}

/** Like clientv3: list the alarms, disarm each one; the result has the disarmed alarms and no header. */
async function alarmDisarm(ctx: Context): Promise<number> {
  const c = await ctx.client();
  const list = await c.unary<AlarmResponse>((s, md, o, cb) => s.maintenance.alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, md, o, cb));
  const disarmed: AlarmMember[] = [];
  for (const a of list.alarms) {
    const r = await c.unary<AlarmResponse>((s, md, o, cb) => s.maintenance.alarm({ action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: a.memberID, alarm: a.alarm }, md, o, cb));
    disarmed.push(...r.alarms);
  }
  printAlarms(ctx, { alarms: disarmed });
  return Exit.ok;
}

async function withEndpoint<T>(ctx: Context, ep: string, f: (c: Client) => Promise<T>): Promise<T> {
  const c = await ctx.connect(ep);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

async function defrag(ctx: Context): Promise<number> {
  let eps = ctx.flags.list('endpoints');
  if (ctx.flags.bool('cluster')) {
    const c = await ctx.client();
    const r = await c.unary<MemberListResponse>((s, md, o, cb) => s.cluster.memberList({ linearizable: false }, md, o, cb));
    eps = r.members.flatMap((m) => m.clientURLs);
  }
  let failures = 0;
  for (const ep of eps) {
    try {
      await withEndpoint(ctx, ep, (c) => c.unary<DefragmentResponse>((s, md, o, cb) => s.maintenance.defragment({}, md, o, cb)));
      ctx.io.stdout.write(`Finished defragmenting etcd member[${ep}]\n`);
    } catch (err) {
      ctx.io.stderr.write(`Failed to defragment etcd member[${ep}] (${errorMessage(err)})\n`);
      failures++;
    }
  }
  return failures === 0 ? Exit.ok : Exit.error;
}

async function moveLeader(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length !== 1) throw new CommandError('move-leader command needs 1 argument', Exit.badArgs);
  const arg = a[0] as string;
  if (!/^[0-9a-fA-F]+$/.test(arg)) throw new CommandError(`strconv.ParseUint: parsing ${JSON.stringify(arg)}: invalid syntax`, Exit.badArgs);
  const target = BigInt(`0x${arg}`);
  if (target > 0xffffffffffffffffn) throw new CommandError(`strconv.ParseUint: parsing ${JSON.stringify(arg)}: value out of range`, Exit.badArgs);
  const eps = ctx.flags.list('endpoints');
  // The request must go to the leader: find it among the given endpoints (etcdctl's rule).
  for (const ep of eps) {
    const done = await withEndpoint(ctx, ep, async (c) => {
      const st = await c.unary<StatusResponse>((s, md, o, cb) => s.maintenance.status({}, md, o, cb));
      if (st.header?.memberId !== st.leader) return false;
      const r = await c.unary<MoveLeaderResponse>((s, md, o, cb) => s.maintenance.moveLeader({ targetID: target }, md, o, cb));
      if (ctx.writeOut === 'json') ctx.io.stdout.write(printJson({ header: jsonHeader(r.header) }));
      else ctx.io.stdout.write(`Leadership transferred from ${st.leader.toString(16)} to ${target.toString(16)}\n`);
      return true;
    });
    if (done) return Exit.ok;
  }
  throw new CommandError(`no leader endpoint given at [${eps.join(' ')}]`, Exit.badArgs);
}

const clusterFlag = { name: 'cluster', kind: 'bool', def: 'false', help: 'use all endpoints from the cluster member list' } as const;

export const maintenanceCommands: readonly Command[] = [
  { path: ['alarm', 'list'], usage: 'alarm list', short: 'Lists all alarms', flags: [], run: alarmList },
  { path: ['alarm', 'disarm'], usage: 'alarm disarm', short: 'Disarms all alarms', flags: [], run: alarmDisarm },
  { path: ['defrag'], usage: 'defrag', short: 'Defragments the storage of the etcd members with given endpoints', flags: [clusterFlag], run: defrag },
  { path: ['move-leader'], usage: 'move-leader <transferee-member-id>', short: 'Transfers leadership to another etcd cluster member.', flags: [], run: moveLeader },
];
