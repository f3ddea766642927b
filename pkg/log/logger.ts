/**
 * The root logger: pino writing JSON lines shaped like etcd's zap output (`level` as a word, `ts`
 * as an ISO timestamp, `msg`), so log pipelines built for etcd keep working. One root per process;
 * components take children through {@link componentLogger}.
 */
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from '../config/types.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level: LogLevel;
  /** `stderr`, `stdout` or absolute file paths (Config.logOutputs). */
  readonly outputs: readonly string[];
  /** Replaces `outputs` (tests capture lines this way). */
  readonly destination?: DestinationStream;
}

export type CreateLoggerResult =
  | { readonly ok: true; readonly logger: Logger }
  | { readonly ok: false; readonly output: string; readonly message: string };

/** pino has no `panic`; it sits between error and fatal in zap, so it logs as fatal. */
const PINO_LEVEL: Readonly<Record<LogLevel, pino.Level>> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  error: 'error',
  panic: 'fatal',
  fatal: 'fatal',
};

/**
 * Creates the root logger. Writes are synchronous so the last lines before a crash or exit are not
 * lost. Fails (as a value) only when a file output cannot be opened.
 */
export function createLogger(opts: LoggerOptions): CreateLoggerResult {
  let stream: DestinationStream;
  if (opts.destination !== undefined) {
    stream = opts.destination;
  } else {
    const streams: DestinationStream[] = [];
    for (const out of opts.outputs.length === 0 ? ['stderr'] : opts.outputs) {
      try {
        streams.push(openOutput(out));
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        return { ok: false, output: out, message: typeof code === 'string' ? code : String(e) };
      }
    }
    const [only] = streams;
    stream = streams.length === 1 && only !== undefined ? only : pino.multistream(streams.map((s) => ({ stream: s, level: 'trace' as const })));
  }
  const logger = pino(
    {
      level: PINO_LEVEL[opts.level],
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  return { ok: true, logger };
}

function openOutput(out: string): DestinationStream {
  if (out === 'stderr') return pino.destination({ dest: 2, sync: true });
  if (out === 'stdout') return pino.destination({ dest: 1, sync: true });
  // Opened here rather than by pino so a failure surfaces at once as an exception we turn into a value.
  mkdirSync(dirname(out), { recursive: true });
  const fd = openSync(out, 'a');
  return pino.destination({ dest: fd, sync: true });
}

/** A child logger whose lines carry `component` (e.g. 'raft', 'mvcc', 'grpc'). */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}
