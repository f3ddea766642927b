/** `snapshot save | status | restore` (etcdctl 3.4's flags and outputs; restore adds etcdutl's bump flags). */
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../../../pkg/client/index.js';
import { parseInitialCluster, parseUrlList } from '../../../pkg/config/urls.js';
import { snapshotFileStatus, type SnapshotStatus } from '../../../pkg/server/snapshot/file-status.js';
import { restoreSnapshot } from '../../../pkg/server/snapshot/restore.js';
import { CommandError, Exit, type Context } from '../io.js';
import { humanBytes, renderTable } from '../output/table.js';
import { printJson } from '../output/json.js';
import type { Command } from './command.js';
import { fsyncDir } from '../../../pkg/server/snapshot/fsync-dir.js';

const SHA256_BYTES = 32;

async function save(ctx: Context): Promise<number> {
  const args = ctx.flags.args;
  if (args.length !== 1) throw new CommandError('snapshot save expects one argument', Exit.badArgs);
  const endpoints = ctx.flags.list('endpoints');
  if (endpoints.length !== 1) {
    throw new CommandError(`snapshot must be requested to one selected node, not multiple [${endpoints.join(' ')}]`, Exit.interrupted);
  }
  const path = args[0] as string;
  const part = `${path}.part`;
  const client = await ctx.client();
  const tty = ctx.io.stderr.isTTY === true;
  const fh = await open(part, 'w', 0o600);
  try {
    // Like etcdctl: no deadline unless --command-timeout was given explicitly.
    const deadline = ctx.flags.isSet('command-timeout') ? { deadline: Date.now() + ctx.flags.ms('command-timeout') } : {};
    const stream = client.services.maintenance.snapshot({}, deadline);
    const hash = createHash('sha256');
    // The last 32 bytes received are the trailer, not yet known to be the last: hold them back.
    let tail = Buffer.alloc(0);
    let received = 0;
    let lastShown = 0;
    try {
      for await (const msg of stream as AsyncIterable<{ blob: Uint8Array; remainingBytes: bigint }>) {
        const blob = Buffer.from(msg.blob.buffer, msg.blob.byteOffset, msg.blob.byteLength);
        await fh.write(blob);
        received += blob.length;
        const joined = tail.length === 0 ? blob : Buffer.concat([tail, blob]);
        if (joined.length > SHA256_BYTES) hash.update(joined.subarray(0, joined.length - SHA256_BYTES));
        tail = Buffer.from(joined.subarray(Math.max(0, joined.length - SHA256_BYTES)));
        if (tty && (received - lastShown >= 1 << 20 || msg.remainingBytes === 0n)) {
          lastShown = received;
          const total = received + Number(msg.remainingBytes);
          ctx.io.stderr.write(`\rreceived ${humanBytes(received)} of ${humanBytes(total)} (${Math.floor((received * 100) / Math.max(total, 1))}%)`);
        }
      }
    } catch (err) {
      throw new CommandError(errorMessage(err), Exit.interrupted);
    } finally {
      if (tty && lastShown > 0) ctx.io.stderr.write('\n');
    }
    if (received % 512 !== SHA256_BYTES || tail.length !== SHA256_BYTES) throw new CommandError('sha256 checksum not found', Exit.interrupted);
    if (!hash.digest().equals(tail)) throw new CommandError('sha256 checksum mismatch', Exit.interrupted);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
  await fh.close();
  await rename(part, path);
  await fsyncDir(dirname(path));
  ctx.io.stdout.write(`Snapshot saved at ${path}\n`);
  return Exit.ok;
}

/** Renders a snapshot status in the -w formats (simple, json, table, fields). */
export function formatSnapshotStatus(s: SnapshotStatus, writeOut: string): string {
  const hex = s.hash.toString(16);
  switch (writeOut) {
    case 'json':
      return printJson({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize });
    case 'table':
      return renderTable(['hash', 'revision', 'total keys', 'total size'], [[hex, String(s.revision), String(s.totalKey), humanBytes(s.totalSize)]]);
    case 'fields':
      return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
    default:
      return `${hex}, ${s.revision}, ${s.totalKey}, ${humanBytes(s.totalSize)}\n`;
  }
}

async function status(ctx: Context): Promise<number> {
  if (ctx.flags.args.length !== 1) throw new CommandError('snapshot status requires exactly one argument', Exit.badArgs);
  let s: SnapshotStatus;
  try {
    s = await snapshotFileStatus(ctx.flags.args[0] as string);
  } catch (err) {
    throw new CommandError(errorMessage(err), Exit.error);
  }
  ctx.io.stdout.write(formatSnapshotStatus(s, ctx.writeOut));
  return Exit.ok;
}

async function restore(ctx: Context): Promise<number> {
  const f = ctx.flags;
  if (f.args.length !== 1) throw new CommandError('snapshot restore requires exactly one argument', Exit.badArgs);
  const cluster = parseInitialCluster(f.str('initial-cluster'));
  if (!cluster.ok) throw new CommandError(cluster.reason, Exit.error);
  const peers = parseUrlList(f.str('initial-advertise-peer-urls'));
  if (!peers.ok) throw new CommandError(peers.reason, Exit.error);
  const bump = f.int('bump-revision');
  if (bump < 0n) throw new CommandError('--bump-revision must be non-negative', Exit.badArgs);
  if (f.bool('mark-compacted') && bump === 0n) throw new CommandError('--mark-compacted requires --bump-revision', Exit.badArgs);
  const name = f.str('name');
  const r = await restoreSnapshot({
    snapshotPath: f.args[0] as string,
    name,
    initialCluster: cluster.value,
    initialClusterToken: f.str('initial-cluster-token'),
    advertisePeerUrls: peers.value.map((u) => u.url),
    dataDir: f.str('data-dir') === '' ? `${name}.etcd` : f.str('data-dir'),
    skipHashCheck: f.bool('skip-hash-check'),
    bumpRevision: bump,
    markCompacted: f.bool('mark-compacted'),
  });
  if (!r.ok) throw new CommandError(r.message, Exit.error);
  return Exit.ok;
}

export const snapshotCommands: readonly Command[] = [
  { path: ['snapshot', 'save'], usage: 'snapshot save <filename>', short: 'Stores an etcd node backend snapshot to a given file', flags: [], run: save },
  { path: ['snapshot', 'status'], usage: 'snapshot status <filename>', short: 'Gets backend snapshot status of a given file', flags: [], run: status },
  {
    path: ['snapshot', 'restore'],
    usage: 'snapshot restore <filename> [options]',
    short: 'Restores an etcd member snapshot to an etcd directory',
    flags: [
      { name: 'data-dir', kind: 'string', def: '', help: 'Path to the data directory' },
      { name: 'initial-cluster', kind: 'string', def: 'default=http://localhost:2380', help: 'Initial cluster configuration for restore bootstrap' },
      { name: 'initial-cluster-token', kind: 'string', def: 'etcd-cluster', help: 'Initial cluster token for the etcd cluster during restore bootstrap' },
      { name: 'initial-advertise-peer-urls', kind: 'string', def: 'http://localhost:2380', help: "List of this member's peer URLs to advertise to the rest of the cluster" },
      { name: 'name', kind: 'string', def: 'default', help: 'Human-readable name for this member' },
      { name: 'skip-hash-check', kind: 'bool', def: 'false', help: 'Ignore snapshot integrity hash value (required if copied from data directory)' },
      { name: 'bump-revision', kind: 'int', def: '0', help: 'How much to increase the latest revision after restore' },
      { name: 'mark-compacted', kind: 'bool', def: 'false', help: 'Mark the latest revision after restore as the point of scheduled compaction (requires --bump-revision > 0)' },
    ],
    run: restore,
  },
];
