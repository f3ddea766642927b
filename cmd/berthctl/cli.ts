/**
 * What `berthctl` does with its inputs, apart from process globals so tests run it in-process: find
 * the command named by the leading words, parse the global and the command's flags (etcdctl's names,
 * defaults and ETCDCTL_* variables), run it, and turn failures into etcdctl's `Error: …` line and
 * exit code. The command table is the list of modules below: a new command is one more entry.
 */
import { Client, errorMessage, TlsHandshakeError } from '../../pkg/client/index.js';
import { BERTH_VERSION } from '../../pkg/config/index.js';
import type { Command } from './commands/command.js';
import { snapshotCommands } from './commands/snapshot.js';
import { kvCommands } from './commands/kv.js';
import { txnCommands } from './commands/txn.js';
import { leaseCommands } from './commands/lease.js';
import { clusterCommands } from './commands/cluster.js';
import { watchCommands } from './commands/watch.js';
import { maintenanceCommands } from './commands/maintenance.js';
import { membershipCommands } from './commands/membership.js';
import { authCommands } from './commands/auth.js';
import { FlagError, Flags, parseFlags, type FlagSpec } from './flags.js';
import { clientOptions, CONNECTION_FLAGS, userFromFlags } from './connection.js';
import { CommandError, Exit, type Context, type Io } from './io.js';

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'endpoints', kind: 'strings', env: 'ETCDCTL_ENDPOINTS', def: '127.0.0.1:2379', help: 'gRPC endpoints' },
  { name: 'dial-timeout', kind: 'duration', env: 'ETCDCTL_DIAL_TIMEOUT', def: '2s', help: 'dial timeout for client connections' },
  { name: 'command-timeout', kind: 'duration', env: 'ETCDCTL_COMMAND_TIMEOUT', def: '5s', help: 'timeout for short running command (excluding dial timeout)' },
  { name: 'keepalive-time', kind: 'duration', env: 'ETCDCTL_KEEPALIVE_TIME', def: '2s', help: 'keepalive time for client connections' },
  { name: 'keepalive-timeout', kind: 'duration', env: 'ETCDCTL_KEEPALIVE_TIMEOUT', def: '6s', help: 'keepalive timeout for client connections' },
  { name: 'write-out', short: 'w', kind: 'string', env: 'ETCDCTL_WRITE_OUT', def: 'simple', help: 'set the output format (fields, json, protobuf, simple, table)' },
  { name: 'hex', kind: 'bool', env: 'ETCDCTL_HEX', def: 'false', help: 'print byte strings as hex encoded strings' },
  { name: 'debug', kind: 'bool', env: 'ETCDCTL_DEBUG', def: 'false', help: 'enable client-side debug logging' },
  ...CONNECTION_FLAGS,
  { name: 'help', short: 'h', kind: 'bool', def: 'false', help: 'help for berthctl' },
];

const versionCommand: Command = {
  path: ['version'],
  usage: 'version',
  short: 'Prints the version of berthctl',
  flags: [],
  run: async (ctx) => {
    ctx.io.stdout.write(`berthctl version: ${BERTH_VERSION}\nAPI version: 3.4\n`);
    return Exit.ok;
  },
};

export const COMMANDS: readonly Command[] = [...kvCommands, ...txnCommands, ...watchCommands, ...leaseCommands, ...clusterCommands, ...membershipCommands, ...authCommands, ...maintenanceCommands, ...snapshotCommands, versionCommand];

const WRITE_OUT = new Set(['simple', 'json', 'table', 'fields', 'protobuf']);

/** The command named by the first positional words of argv (global flags may come before them). */
function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | { group: string[] } | undefined {
  const valued = new Set(GLOBAL_FLAGS.filter((f) => f.kind !== 'bool').flatMap((f) => [`--${f.name}`, ...(f.short === undefined ? [] : [`-${f.short}`])]));
  const words: number[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (valued.has(a)) i++;
      continue;
    }
    words.push(i);
  }
  const names = words.map((i) => argv[i] as string);
  const two = COMMANDS.find((c) => c.path.length === 2 && c.path[0] === names[0] && c.path[1] === names[1]);
  const one = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === names[0]);
  const command = two ?? one;
  if (command === undefined) {
    if (names[0] !== undefined && COMMANDS.some((c) => c.path[0] === names[0])) return { group: names.slice(0, 1) };
    return undefined;
  }
  const drop = new Set(words.slice(0, command.path.length));
  return { command, rest: argv.filter((_, i) => !drop.has(i)) };
}

function usage(): string {
  const lines = COMMANDS.map((c) => `\t${c.usage.padEnd(40)}${c.short}`);
  return `NAME:\n\tberthctl - A simple command line client for berth (etcd v3 API).\n\nUSAGE:\n\tberthctl [flags] <command>\n\nCOMMANDS:\n${lines.join('\n')}\n`;
}

/** Runs berthctl; resolves to the exit code. Never throws. */
export async function runBerthctl(io: Io): Promise<number> {
  const found = findCommand(io.argv);
  if (found === undefined || 'group' in found) {
    if (io.argv.length === 0 || io.argv.includes('-h') || io.argv.includes('--help')) {
      io.stdout.write(usage());
      return Exit.ok;
    }
    const what = found === undefined ? io.argv.find((a) => !a.startsWith('-')) : undefined;
    io.stderr.write(found !== undefined ? `Error: ${found.group[0] ?? ''} needs a subcommand\n` : `Error: unknown command ${JSON.stringify(what ?? '')} for "berthctl"\n`);
    return Exit.error;
  }
  const { command, rest } = found;
  let flags: Flags;
  try {
    flags = new Flags(parseFlags(rest, [...GLOBAL_FLAGS, ...command.flags], io.env));
  } catch (err) {
    if (err instanceof FlagError) {
      io.stderr.write(`Error: ${err.message}\n`);
      return Exit.error;
    }
    throw err;
  }
  if (flags.bool('help')) {
    io.stdout.write(`Usage:\n  berthctl ${command.usage}\n\n${command.short}\n`);
    return Exit.ok;
  }
  const writeOut = flags.str('write-out');
  if (!WRITE_OUT.has(writeOut)) {
    io.stderr.write(`Error: unknown output format ${JSON.stringify(writeOut)} (use simple, json, table or fields)\n`);
    return Exit.badArgs;
  }
  let client: Client | undefined;
  let user: Promise<{ name: string; password: string } | undefined> | undefined;
  const connect = async (endpoints: readonly string[]): Promise<Client> => {
    user ??= userFromFlags(flags, io);
    const opts = clientOptions(flags, endpoints, await user);
    try {
      return await Client.connect(opts);
    } catch (err) {
      // etcdctl 3.4 dials lazily: a refused TLS handshake shows up as a failed command (exit 1).
      throw new CommandError(errorMessage(err), err instanceof TlsHandshakeError ? Exit.error : Exit.badConnection);
    }
  };
  const ctx: Context = {
    io,
    flags,
    writeOut,
    hex: flags.bool('hex'),
    client: async () => {
      client ??= await connect(flags.list('endpoints'));
      return client;
    },
    connect: (endpoint) => connect([endpoint]),
  };
  try {
    return await command.run(ctx);
  } catch (err) {
    const code = err instanceof CommandError ? err.exitCode : Exit.error;
    io.stderr.write(`Error: ${errorMessage(err)}\n`);
    return code;
  } finally {
    client?.close();
  }
}
