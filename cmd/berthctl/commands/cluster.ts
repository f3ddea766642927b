/** `member list`, `endpoint health | status [--cluster]` (etcdctl 3.4 rows, tables and JSON). */
import { errorMessage, type Client } from '../../../pkg/client/index.js';
import type { AlarmResponse, HashKVResponse, MemberListResponse, RangeResponse, StatusResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printJson, type JsonValue } from '../output/json.js';
import { jsonHeader } from '../output/kv.js';
import { jsonMember } from '../output/member.js';
import { humanBytes, renderTable } from '../output/table.js';
import { fieldsHeader, goQuote } from '../output/fields.js';
import type { Command } from './command.js';

const hex = (id: bigint): string => id.toString(16);

/** Go's time.Duration String() for a duration in nanoseconds. */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const frac = (v: bigint, unit: bigint, suffix: string): string => {
    const whole = v / unit;
    const rest = (v % unit).toString().padStart(unit.toString().length - 1, '0').replace(/0+$/, '');
    return `${whole}${rest === '' ? '' : `.${rest}`}${suffix}`;
  };
  if (ns < 1000n) return `${ns}ns`;
  if (ns < 1_000_000n) return frac(ns, 1000n, 'µs');
  if (ns < 1_000_000_000n) return frac(ns, 1_000_000n, 'ms');
  const h = ns / 3_600_000_000_000n;
  const m = (ns / 60_000_000_000n) % 60n;
  const s = frac(ns % 60_000_000_000n, 1_000_000_000n, 's');
  return h > 0n ? `${h}h${m}m${s}` : m > 0n ? `${m}m${s}` : s;
}

function memberRows(r: MemberListResponse): string[][] {
  return r.members.map((m) => [hex(m.ID), m.name === '' ? 'unstarted' : 'started', m.name, m.peerURLs.join(','), m.clientURLs.join(','), String(m.isLearner)]);
}

async function memberList(ctx: Context): Promise<number> {
  const c = await ctx.client();
  const r = await c.unary<MemberListResponse>((s, md, o, cb) => s.cluster.memberList({ linearizable: false }, md, o, cb));
  const rows = memberRows(r);
  if (ctx.writeOut === 'json') {
    ctx.io.stdout.write(printJson({ header: jsonHeader(r.header), members: r.members.map(jsonMember) }));
  } else if (ctx.writeOut === 'fields') {
    let out = fieldsHeader(r.header);
    for (const m of r.members) {
      out += `"ID" : ${m.ID}\n"Name" : ${goQuote(m.name)}\n`;
      out += m.peerURLs.map((u) => `"PeerURL" : ${goQuote(u)}\n`).join('') + m.clientURLs.map((u) => `"ClientURL" : ${goQuote(u)}\n`).join('');
      out += `"IsLearner" : ${m.isLearner}\n\n`;
    }
    ctx.io.stdout.write(Buffer.from(out, 'latin1'));
  } else if (ctx.writeOut === 'table') {
    ctx.io.stdout.write(renderTable(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], rows));
  } else {
    ctx.io.stdout.write(rows.map((row) => `${row.join(', ')}\n`).join(''));
  }
  return Exit.ok;
}

/** The endpoints a command addresses: --endpoints, or every member's client URLs with --cluster. */
async function targets(ctx: Context): Promise<string[]> {
  if (!ctx.flags.bool('cluster')) return ctx.flags.list('endpoints');
  const c = await ctx.client();
  const r = await c.unary<MemberListResponse>((s, md, o, cb) => s.cluster.memberList({ linearizable: false }, md, o, cb));
  return r.members.flatMap((m) => m.clientURLs);
}

async function withEndpoint<T>(ctx: Context, ep: string, f: (c: Client) => Promise<T>): Promise<T> {
  const c = await ctx.connect(ep);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

interface Health {
  readonly endpoint: string;
  readonly health: boolean;
  readonly took: string;
  readonly error: string;
}

async function endpointHealth(ctx: Context): Promise<number> {
  const eps = await targets(ctx);
  const results = await Promise.all(
    eps.map(async (ep): Promise<Health> => {
      const start = process.hrtime.bigint();
      try {
        await withEndpoint(ctx, ep, async (c) => {
          try {
            await c.unary<RangeResponse>((s, md, o, cb) =>
              s.kv.range({
                key: Buffer.from('health'), rangeEnd: new Uint8Array(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false,
                keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
              }, md, o, cb));
          } catch (err) {
            // Permission denied still proves the cluster commits (etcdctl's rule).
            if (errorMessage(err) !== 'etcdserver: permission denied') throw err;
          }
          const alarms = await c.unary<AlarmResponse>((s, md, o, cb) => s.maintenance.alarm({ action: 0, memberID: 0n, alarm: 0 }, md, o, cb));
          if (alarms.alarms.length > 0) {
            const names = ['NONE', 'NOSPACE', 'CORRUPT'];
            throw new Error(`Active Alarm(s): ${alarms.alarms.map((a) => `memberID:${a.memberID} alarm:${names[a.alarm] ?? a.alarm} `).join('')}`.trimEnd());
          }
        });
        return { endpoint: ep, health: true, took: goDuration(process.hrtime.bigint() - start), error: '' };
      } catch (err) {
        return { endpoint: ep, health: false, took: goDuration(process.hrtime.bigint() - start), error: errorMessage(err) };
      }
    }),
  );
  if (ctx.writeOut === 'json') {
    ctx.io.stdout.write(printJson(results.map((h) => ({ endpoint: h.endpoint, health: h.health, took: h.took, error: h.error === '' ? undefined : h.error }))));
  } else if (ctx.writeOut === 'table') {
    ctx.io.stdout.write(renderTable(['endpoint', 'health', 'took', 'error'], results.map((h) => [h.endpoint, String(h.health), h.took, h.error])));
  } else {
    for (const h of results) {
      ctx.io.stderr.write(
        h.health ? `${h.endpoint} is healthy: successfully committed proposal: took = ${h.took}\n` : `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error}\n`,
      );
    }
  }
  if (results.some((h) => !h.health)) throw new CommandError('unhealthy cluster', Exit.error);
  return Exit.ok;
}

async function endpointStatus(ctx: Context): Promise<number> {
  const eps = await targets(ctx);
  const out: { ep: string; r: StatusResponse }[] = [];
  let failed = false;
  for (const ep of eps) {
    try {
      out.push({ ep, r: await withEndpoint(ctx, ep, (c) => c.unary<StatusResponse>((s, md, o, cb) => s.maintenance.status({}, md, o, cb))) });
    } catch (err) {
      failed = true;
      ctx.io.stderr.write(`Failed to get the status of endpoint ${ep} (${errorMessage(err)})\n`);
    }
  }
  const rows = out.map(({ ep, r }) => [
    ep, hex(r.header?.memberId ?? 0n), r.version, humanBytes(Number(r.dbSize)), String(r.leader === r.header?.memberId), String(r.isLearner),
    String(r.raftTerm), String(r.raftIndex), String(r.raftAppliedIndex), r.errors.join(', '),
  ]);
  if (ctx.writeOut === 'json') {
    const nz = (v: bigint): bigint | undefined => (v === 0n ? undefined : v);
    const status = (r: StatusResponse): JsonValue => ({
      header: jsonHeader(r.header), version: r.version === '' ? undefined : r.version, dbSize: nz(r.dbSize), leader: nz(r.leader),
      raftIndex: nz(r.raftIndex), raftTerm: nz(r.raftTerm), raftAppliedIndex: nz(r.raftAppliedIndex),
      errors: r.errors.length === 0 ? undefined : r.errors, dbSizeInUse: nz(r.dbSizeInUse), isLearner: r.isLearner ? true : undefined,
    });
    ctx.io.stdout.write(printJson(out.map(({ ep, r }) => ({ Endpoint: ep, Status: status(r) }))));
  } else if (ctx.writeOut === 'fields') {
    for (const { ep, r } of out) {
      ctx.io.stdout.write(Buffer.from(
        `${fieldsHeader(r.header)}"Version" : ${goQuote(r.version)}\n"DBSize" : ${r.dbSize}\n"Leader" : ${r.leader}\n"IsLearner" : ${r.isLearner}\n` +
          `"RaftIndex" : ${r.raftIndex}\n"RaftTerm" : ${r.raftTerm}\n"RaftAppliedIndex" : ${r.raftAppliedIndex}\n"Errors" : [${r.errors.join(' ')}]\n"Endpoint" : ${goQuote(ep)}\n\n`,
        'latin1',
      ));
    }
  } else if (ctx.writeOut === 'table') {
    ctx.io.stdout.write(renderTable(['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'], rows));
  } else {
    ctx.io.stdout.write(rows.map((row) => `${row.join(', ')}\n`).join(''));
  }
  return failed ? Exit.error : Exit.ok;
}

async function endpointHashKv(ctx: Context): Promise<number> {
  const eps = await targets(ctx);
  const rev = ctx.flags.int('rev');
  const out: { ep: string; r: HashKVResponse }[] = [];
  let lastError: string | undefined;
  for (const ep of eps) {
    try {
      out.push({ ep, r: await withEndpoint(ctx, ep, (c) => c.unary<HashKVResponse>((s, md, o, cb) => s.maintenance.hashKv({ revision: rev }, md, o, cb))) });
    } catch (err) {
      lastError = errorMessage(err);
      ctx.io.stderr.write(`Failed to get the hash of endpoint ${ep} (${lastError})\n`);
    }
  }
  if (ctx.writeOut === 'json') {
    const nz = (v: bigint): bigint | undefined => (v === 0n ? undefined : v);
    ctx.io.stdout.write(printJson(out.map(({ ep, r }) => ({
      Endpoint: ep,
      HashKV: { header: jsonHeader(r.header), hash: r.hash === 0 ? undefined : r.hash, compact_revision: nz(r.compactRevision) },
    }))));
  } else if (ctx.writeOut === 'table') {
    ctx.io.stdout.write(renderTable(['endpoint', 'hash'], out.map(({ ep, r }) => [ep, String(r.hash)])));
  } else if (ctx.writeOut === 'fields') {
    ctx.io.stdout.write(Buffer.from(out.map(({ ep, r }) => `${fieldsHeader(r.header)}"Endpoint" : ${goQuote(ep)}\n"Hash" : ${r.hash}\n\n`).join(''), 'latin1'));
  } else {
    ctx.io.stdout.write(out.map(({ ep, r }) => `${ep}, ${r.hash}\n`).join(''));
  }
  if (lastError !== undefined) throw new CommandError(lastError, Exit.error);
  return Exit.ok;
}

const clusterFlag = { name: 'cluster', kind: 'bool', def: 'false', help: 'use all endpoints from the cluster member list' } as const;

export const clusterCommands: readonly Command[] = [
  { path: ['member', 'list'], usage: 'member list', short: 'Lists all members in the cluster', flags: [], run: memberList },
  { path: ['endpoint', 'health'], usage: 'endpoint health', short: 'Checks the healthiness of endpoints specified in `--endpoints` flag', flags: [clusterFlag], run: endpointHealth },
  {
    path: ['endpoint', 'hashkv'],
    usage: 'endpoint hashkv',
    short: 'Prints the KV history hash for each endpoint in --endpoints',
    flags: [clusterFlag, { name: 'rev', kind: 'int', def: '0', help: 'maximum revision to hash (default: all revisions)' }],
    run: endpointHashKv,
  },
  { path: ['endpoint', 'status'], usage: 'endpoint status', short: 'Prints out the status of endpoints specified in `--endpoints` flag', flags: [clusterFlag], run: endpointStatus },
];
