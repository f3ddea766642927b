/**
 * The single entry point from process inputs to a {@link Config}.
 *
 * Precedence follows etcd 3.5 (server/etcdmain/config.go): when a config file is named by
 * `--config-file` or `ETCD_CONFIG_FILE` (berth also reads `BERTH_CONFIG_FILE`), the file alone
 * configures the member and every other flag and environment variable is ignored (berth warns,
 * listing them). Otherwise command-line flags override environment variables, which override the
 * defaults. A flag given both ways keeps the command-line value with a warning (etcd exits instead).
 */
import { resolve } from 'node:path';
import { parseArgv } from './argv.js';
import { buildConfig } from './build.js';
import { configFileFromEnv, prefixedVariables, readEnv, type Env } from './env.js';
import { readConfigFile } from './file.js';
import { DEFAULT_EMULATED_ETCD_VERSION, flagSpec } from './flags.js';
import { helpText } from './help.js';
import { settingsOf } from './settings.js';
import type { ConfigError, ConfigWarning, RawSetting } from './source.js';
import type { Config } from './types.js';
import { parseFlagValue } from './values.js';
import { versionText } from './version.js';

export interface ParseConfigInput {
  /** Arguments after the program name (process.argv.slice(2)). */
  readonly argv: readonly string[];
  readonly env: Env;
  /** Directory that relative paths (data dir, config file, log files) are resolved against. */
  readonly cwd: string;
}

export type ParseConfigResult =
  | { readonly ok: true; readonly kind: 'config'; readonly config: Config; readonly warnings: readonly ConfigWarning[] }
  | { readonly ok: true; readonly kind: 'help'; readonly text: string }
  | { readonly ok: true; readonly kind: 'version'; readonly text: string }
  | { readonly ok: false; readonly error: ConfigError };

/**
 * Parses flags, environment and config file into a frozen, validated config, or into the help or
 * version text to print (exit 0), or into one error line to print (exit 1). Never throws for user
 * input; reads the config file synchronously when one is named.
 */
export function parseConfig(input: ParseConfigInput): ParseConfigResult {
  const args = parseArgv(input.argv);
  if (!args.ok) return args;
  if (args.help) return { ok: true, kind: 'help', text: helpText() };

  const versionFlag = args.flags.get('version');
  const wantsVersion = versionFlag !== undefined && parseFlagValue(flagSpec('version') ?? never(), versionFlag);
  if (wantsVersion !== false && wantsVersion.ok && wantsVersion.value === true) {
    return { ok: true, kind: 'version', text: versionText(emulatedVersionForBanner(args.flags, input.env)) };
  }

  const warnings: ConfigWarning[] = args.legacy.map((l) => ({
    flag: l.name,
    message: `flag --${l.name} is a legacy etcd flag that berth ignores`,
  }));

  const fileFromFlag = args.flags.get('config-file');
  const fromEnv = configFileFromEnv(input.env);
  const configPath = fileFromFlag !== undefined && fileFromFlag !== '' ? fileFromFlag : fromEnv?.path;

  let merged: ReadonlyMap<string, RawSetting>;
  if (configPath !== undefined) {
    const file = readConfigFile(configPath, input.cwd);
    if (!file.ok) return file;
    warnings.push(...file.warnings);
    const ignored = [
      ...[...args.flags.keys()].filter((f) => f !== 'config-file' && f !== 'version').map((f) => `--${f}`),
      ...prefixedVariables(input.env).filter((v) => v !== fromEnv?.variable),
    ];
    if (ignored.length > 0) {
      warnings.push({
        flag: 'config-file',
        message: `config file given: other flags and environment variables are ignored (${ignored.join(', ')})`,
      });
    }
    merged = file.settings;
    const built = buildConfig(settingsOf(merged), {
      cwd: input.cwd,
      origin: 'file',
      configFile: resolve(input.cwd, configPath),
    });
    if (!built.ok) return built;
    return { ok: true, kind: 'config', config: built.config, warnings: [...warnings, ...built.warnings] };
  }

  const env = readEnv(input.env, new Set(args.flags.keys()));
  if (!env.ok) return env;
  warnings.push(...env.warnings);
  const all = new Map<string, RawSetting>(env.settings);
  for (const [flag, value] of args.flags) {
    if (flag === 'version' || flag === 'config-file') continue;
    all.set(flag, { value, source: { kind: 'flag' } });
  }
  const built = buildConfig(settingsOf(all), { cwd: input.cwd, origin: 'cmdline', configFile: '' });
  if (!built.ok) return built;
  return { ok: true, kind: 'config', config: built.config, warnings: [...warnings, ...built.warnings] };
}

/** The emulated version `--version` reports: flag, then BERTH_/ETCD_ variable, then the default. */
function emulatedVersionForBanner(flags: ReadonlyMap<string, string>, env: Env): string {
  const candidate =
    flags.get('emulated-etcd-version') ?? env['BERTH_EMULATED_ETCD_VERSION'] ?? env['ETCD_EMULATED_ETCD_VERSION'];
  return candidate !== undefined && /^3\.\d+\.\d+$/.test(candidate) ? candidate : DEFAULT_EMULATED_ETCD_VERSION;
}

function never(): never {
  throw new Error('config: the version flag is missing from the flag table');
}
