/**
 * What `berth` does with its inputs, separated from process globals so tests can run it in-process:
 * parse the configuration, print help, version or the one-line error, or create the logger, log
 * the warnings and the effective configuration, and hand over to the server.
 */
import { parseConfig, type Config } from '../../pkg/config/index.js';
import { createLogger, type Logger } from '../../pkg/log/index.js';

export interface CliIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  /** The server entry point (pkg/server's startServer in production). */
  readonly start: (config: Config, logger: Logger) => Promise<number>;
}

/** Stable log messages of the CLI (tests and log alerts match them). */
export const CLI_MESSAGES = {
  configWarning: 'configuration warning',
  effectiveConfig: 'effective configuration',
} as const;

/**
 * Runs the CLI and resolves to the exit code: 0 after help/version, 1 for any configuration
 * error (one line on stderr, no stack trace), else whatever the server resolves to.
 */
export async function runCli(io: CliIo): Promise<number> {
  const parsed = parseConfig({ argv: io.argv, env: io.env, cwd: io.cwd });
  if (!parsed.ok) {
    io.stderr.write(`${parsed.error.message}\n`);
    return 1;
  }
  if (parsed.kind === 'help' || parsed.kind === 'version') {
    io.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const { config, warnings } = parsed;
  const created = createLogger({ level: config.logLevel, outputs: config.logOutputs });
  if (!created.ok) {
    io.stderr.write(`berth: invalid value for flag --log-outputs: cannot open ${created.output}: ${created.message}\n`);
    return 1;
  }
  const logger = created.logger;
  for (const w of warnings) {
    logger.warn(w.flag === '' ? { detail: w.message } : { flag: w.flag, detail: w.message }, CLI_MESSAGES.configWarning);
  }
  logger.info({ config }, CLI_MESSAGES.effectiveConfig);
  return io.start(config, logger);
}
