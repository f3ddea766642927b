#!/usr/bin/env node
/** `berthctl`: the command-line client (etcdctl v3's commands, flags and outputs) and snapshot tool. */
import { runBerthctl } from './cli.js';

// grpc-js passes an IP endpoint to TLS as the server name; Node's DEP0123 warning about it would be
// the only line on stderr of a successful command.
process.noDeprecation = true;

process.exitCode = await runBerthctl({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
// A password prompt reads stdin up to one line; a pipe that stays open must not keep the process alive.
process.stdin.destroy();
