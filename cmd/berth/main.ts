#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * `berth`: the server binary. Accepts etcd's flags, ETCD_* / BERTH_* environment variables and
 * --config-file; see `berth --help`.
 */
import { startServer } from '../../pkg/server/index.js';
import { runCli } from './cli.js';

process.exitCode = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  start: startServer,
});
