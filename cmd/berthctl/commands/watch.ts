/**
 * `watch [options] <key> [range_end]` and `compaction <revision>`. watch prints each response's events
 * (simple: type, [prev kv], kv; json: clientv3's WatchResponse struct) until interrupted; a watch the
 * server cancels (e.g. its start revision was compacted) ends like etcdctl's: the reason on stderr and
 * exit 5.
 */
import type { Event } from '../../../pkg/proto/gen/mvccpb/kv.js';
import { Event_EventType } from '../../../pkg/proto/gen/mvccpb/kv.js';
import type { CompactionResponse, WatchResponse } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import { errorMessage } from '../../../pkg/client/index.js';
import { CommandError, Exit, type Context } from '../io.js';
import { printJson } from '../output/json.js';
import { jsonHeader, jsonKv, simpleKv } from '../output/kv.js';
import type { Command } from './command.js';
import { keyRange } from './kv.js';

export function simpleWatch(events: readonly Event[], o: { hex: boolean }): string {
  let out = '';
  for (const e of events) {
    out += e.type === Event_EventType.DELETE ? 'DELETE\n' : 'PUT\n';
    if (e.prevKv !== undefined) out += simpleKv(e.prevKv, { hex: o.hex, valueOnly: false });
    if (e.kv !== undefined) out += simpleKv(e.kv, { hex: o.hex, valueOnly: false });
  }
  return out;
}

export function jsonWatch(r: WatchResponse): string {
  return printJson({
    Header: jsonHeader(r.header) ?? {},
    Events: r.events.length === 0 ? null : r.events.map((e) => ({
      type: e.type === Event_EventType.DELETE ? 1 : undefined,
      kv: e.kv === undefined ? undefined : jsonKv(e.kv),
      prev_kv: e.prevKv === undefined ? undefined : jsonKv(e.prevKv),
    })),
    CompactRevision: r.compactRevision,
    Canceled: r.canceled,
    Created: false,
  });
}

async function watch(ctx: Context): Promise<number> {
  const f = ctx.flags;
  const a = f.args;
  if (a.length < 1 || a.length > 2) throw new CommandError('watch in non-interactive mode requires one or two arguments as key or prefix, with range end', Exit.badArgs);
  if (f.bool('prefix') && a.length > 1) throw new CommandError('`range_end` and `--prefix` are mutually exclusive', Exit.badArgs);
  if (ctx.writeOut === 'table') throw new CommandError('table not supported as output format', 4);
  const range = keyRange(a[0] as string, a[1], f.bool('prefix'), false);
  const c = await ctx.client();
  const call = c.services.watch.watch();
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number, message: string): void => {
      if (done) return;
      done = true;
      ctx.io.stderr.write(message);
      call.cancel();
      resolve(code);
    };
    call.on('data', (r: WatchResponse) => {
      if (r.created && r.events.length === 0 && !r.canceled) return;
      if (r.events.length > 0) {
        if (ctx.writeOut === 'json') ctx.io.stdout.write(jsonWatch(r));
        else ctx.io.stdout.write(Buffer.from(simpleWatch(r.events, { hex: ctx.hex }), 'latin1'));
      } else if (!r.canceled && f.bool('progress-notify')) {
        ctx.io.stdout.write(`progress notify: ${r.header?.revision ?? 0n}\n`);
      }
      if (r.canceled) {
        const reason = r.compactRevision > 0n ? 'etcdserver: mvcc: required revision has been compacted' : r.cancelReason;
        finish(Exit.interrupted, `watch was canceled (${reason})\nError: watch is canceled by the server\n`);
      }
    });
    call.on('error', (err) => finish(Exit.interrupted, `Error: ${errorMessage(err)}\n`));
    call.on('end', () => finish(Exit.interrupted, 'Error: watch is canceled by the server\n'));
    call.write({
      requestUnion: {
        $case: 'createRequest',
        value: { ...range, startRevision: f.int('rev'), progressNotify: f.bool('progress-notify'), filters: [], prevKv: f.bool('prev-kv'), watchId: 0n, fragment: false },
      },
    });
  });
}

async function compaction(ctx: Context): Promise<number> {
  const a = ctx.flags.args;
  if (a.length !== 1) throw new CommandError('compaction command needs 1 argument', Exit.badArgs);
  if (!/^[+-]?\d+$/.test(a[0] as string)) throw new CommandError(`strconv.ParseInt: parsing ${JSON.stringify(a[0])}: invalid syntax`, Exit.badArgs);
  const rev = BigInt(a[0] as string);
  const c = await ctx.client();
  await c.unary<CompactionResponse>((s, md, o, cb) => s.kv.compact({ revision: rev, physical: ctx.flags.bool('physical') }, md, o, cb));
  ctx.io.stdout.write(`compacted revision ${rev}\n`);
  return Exit.ok;
}

export const watchCommands: readonly Command[] = [
  {
    path: ['watch'],
    usage: 'watch [options] [key or prefix] [range_end]',
    short: 'Watches events stream on keys or prefixes',
    flags: [
      { name: 'prefix', kind: 'bool', def: 'false', help: 'Watch on a prefix if prefix is set' },
      { name: 'rev', kind: 'int', def: '0', help: 'Revision to start watching' },
      { name: 'prev-kv', kind: 'bool', def: 'false', help: 'get the previous key-value pair before the event happens' },
      { name: 'progress-notify', kind: 'bool', def: 'false', help: 'get periodic watch progress notification from server' },
    ],
    run: watch,
  },
  {
    path: ['compaction'],
    usage: 'compaction [options] <revision>',
    short: 'Compacts the event history in etcd',
    flags: [{ name: 'physical', kind: 'bool', def: 'false', help: 'true to wait for compaction to physically remove all old revisions' }],
    run: compaction,
  },
];
