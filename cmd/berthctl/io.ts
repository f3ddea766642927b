/** What a berthctl command may touch of the process, so tests can run commands in-process. */
import type { Readable } from 'node:stream';
import type { Client } from '../../pkg/client/index.js';
import type { Flags } from './flags.js';

export interface Io {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: { write(s: string | Uint8Array): unknown };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly stdin: Readable;
}

/** The exit codes etcdctl uses (etcdctl/ctlv3/command/error.go). */
export const Exit = { ok: 0, error: 1, badConnection: 2, invalidInput: 3, interrupted: 5, badArgs: 128 } as const;

/** A failure a command reports as `Error: <message>` with this exit code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface Context {
  readonly io: Io;
  readonly flags: Flags;
  /** -w / --write-out */
  readonly writeOut: string;
  readonly hex: boolean;
  /** Connects with the global endpoint/timeout/TLS/user flags (once; closed by the runner). */
  client(): Promise<Client>;
  /** A separate client of one endpoint with the same settings; the caller closes it. */
  connect(endpoint: string): Promise<Client>;
}
