#!/usr/bin/env node
/** `berthctl`: the command-line client (etcdctl v3's commands, flags and outputs) and snapshot tool. */
import { runBerthctl } from './cli.js';

process.exitCode = await runBerthctl({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
