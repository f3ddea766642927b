/**
 * `ETCD_*` environment variables (flag name upper-cased, dashes to underscores) and their `BERTH_*`
 * aliases, read the way etcd reads them: empty values are ignored, a flag given on the command line
 * shadows its variable, and variables with the prefix that match no flag are reported.
 */
import { FLAGS, flagToEnv, legacyFlag } from './flags.js';
import { invalidValue, type ConfigError, type ConfigWarning, type RawSetting } from './source.js';
import { parseFlagValue } from './values.js';

/** BERTH_* variables that are not flags: failpoints (pkg/failpoint) and the emulated etcd version. */
const NON_FLAG_VARIABLES: ReadonlySet<string> = new Set(['BERTH_FAILPOINTS', 'BERTH_EMULATED_ETCD_VERSION']);

export type Env = Readonly<Record<string, string | undefined>>;

/** Variables that never set a flag through this path. */
const SPECIAL = new Set(['version', 'config-file']);

export type EnvResult =
  | { readonly ok: true; readonly settings: ReadonlyMap<string, RawSetting>; readonly warnings: readonly ConfigWarning[] }
  | { readonly ok: false; readonly error: ConfigError };

/**
 * Reads every flag's variables from `env`. `fromArgv` are the flags already given on the command
 * line: those win, with a warning (etcd 3.5 refuses to start in that case instead).
 */
export function readEnv(env: Env, fromArgv: ReadonlySet<string>): EnvResult {
  const settings = new Map<string, RawSetting>();
  const warnings: ConfigWarning[] = [];
  const consumed = new Set<string>();
  for (const spec of FLAGS) {
    if (SPECIAL.has(spec.name)) continue;
    const etcdVar = flagToEnv('ETCD', spec.name);
    const berthVar = flagToEnv('BERTH', spec.name);
    const etcdVal = nonEmpty(env[etcdVar]);
    const berthVal = nonEmpty(env[berthVar]);
    consumed.add(etcdVar);
    consumed.add(berthVar);
    if (etcdVal === undefined && berthVal === undefined) continue;
    const variable = berthVal !== undefined ? berthVar : etcdVar;
    const value = berthVal ?? etcdVal ?? '';
    if (etcdVal !== undefined && berthVal !== undefined && etcdVal !== berthVal) {
      warnings.push({
        flag: spec.name,
        message: `environment variable ${berthVar} overrides ${etcdVar} (values differ)`,
      });
    }
    if (fromArgv.has(spec.name)) {
      warnings.push({
        flag: spec.name,
        message: `environment variable ${variable} is shadowed by command-line flag --${spec.name}`,
      });
      continue;
    }
    const source = { kind: 'env', variable } as const;
    const parsed = parseFlagValue(spec, value);
    if (!parsed.ok) return { ok: false, error: invalidValue(spec.name, value, source, parsed.reason) };
    settings.set(spec.name, { value, source });
  }
  for (const [key, value] of Object.entries(env)) {
    if (consumed.has(key) || nonEmpty(value) === undefined) continue;
    const prefix = key.startsWith('ETCD_') ? 'ETCD_' : key.startsWith('BERTH_') ? 'BERTH_' : undefined;
    if (prefix === undefined) continue;
    const flag = key.slice(prefix.length).toLowerCase().replaceAll('_', '-');
    if (flag === 'config-file') continue;
    // berth's own process-level switches, read where they act (not flags)
    if (prefix === 'BERTH_' && (NON_FLAG_VARIABLES.has(key) || key.startsWith('BERTH_TEST_'))) continue;
    if (SPECIAL.has(flag)) {
      warnings.push({ flag, message: `cannot set special environment variable ${key}; ignored` });
    } else if (legacyFlag(flag) !== undefined) {
      warnings.push({ flag, message: `environment variable ${key} sets legacy flag --${flag}, which berth ignores` });
    } else {
      warnings.push({ flag: '', message: `unrecognized environment variable ${key}; ignored` });
    }
  }
  return { ok: true, settings, warnings };
}

/** The config file named by `ETCD_CONFIG_FILE` / `BERTH_CONFIG_FILE` (BERTH_ wins), if any. */
export function configFileFromEnv(env: Env): { readonly path: string; readonly variable: string } | undefined {
  const berth = nonEmpty(env['BERTH_CONFIG_FILE']);
  if (berth !== undefined) return { path: berth, variable: 'BERTH_CONFIG_FILE' };
  const etcd = nonEmpty(env['ETCD_CONFIG_FILE']);
  if (etcd !== undefined) return { path: etcd, variable: 'ETCD_CONFIG_FILE' };
  return undefined;
}

/** Names of ETCD_/BERTH_ variables that a config file makes irrelevant (for one warning). */
export function prefixedVariables(env: Env): readonly string[] {
  return Object.keys(env)
    .filter((k) => (k.startsWith('ETCD_') || k.startsWith('BERTH_')) && nonEmpty(env[k]) !== undefined)
    .filter((k) => k !== 'ETCD_CONFIG_FILE' && k !== 'BERTH_CONFIG_FILE')
    .sort();
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
