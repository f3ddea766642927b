/**
 * The `--config-file` YAML, with etcd's config-file key names: mostly the flag names, URL lists as
 * comma-separated strings, `log-outputs` and `cipher-suites` as lists, TLS under
 * `client-transport-security` / `peer-transport-security`, socket options under `socket-options`.
 * Durations may be Go duration strings or, as etcd's file format has them, integer nanoseconds.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import { flagSpec, legacyFlag, type FlagSpec } from './flags.js';
import { invalidValue, type ConfigError, type ConfigWarning, type RawSetting, type Source } from './source.js';
import { parseFlagValue } from './values.js';

export type FileResult =
  | { readonly ok: true; readonly settings: ReadonlyMap<string, RawSetting>; readonly warnings: readonly ConfigWarning[] }
  | { readonly ok: false; readonly error: ConfigError };

const CLIENT_TLS: Readonly<Record<string, string>> = {
  'cert-file': 'cert-file',
  'key-file': 'key-file',
  'client-cert-file': 'client-cert-file',
  'client-key-file': 'client-key-file',
  'client-cert-auth': 'client-cert-auth',
  'trusted-ca-file': 'trusted-ca-file',
  'auto-tls': 'auto-tls',
  'allowed-hostname': 'client-cert-allowed-hostname',
  'crl-file': 'client-crl-file',
};

const PEER_TLS: Readonly<Record<string, string>> = {
  'cert-file': 'peer-cert-file',
  'key-file': 'peer-key-file',
  'client-cert-file': 'peer-client-cert-file',
  'client-key-file': 'peer-client-key-file',
  'client-cert-auth': 'peer-client-cert-auth',
  'trusted-ca-file': 'peer-trusted-ca-file',
  'auto-tls': 'peer-auto-tls',
  'allowed-cn': 'peer-cert-allowed-cn',
  'allowed-hostname': 'peer-cert-allowed-hostname',
  'crl-file': 'peer-crl-file',
};

const SOCKET: Readonly<Record<string, string>> = {
  'reuse-port': 'socket-reuse-port',
  'reuse-address': 'socket-reuse-address',
};

const SECTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'client-transport-security': CLIENT_TLS,
  'peer-transport-security': PEER_TLS,
  'socket-options': SOCKET,
};

/** File keys whose name differs from the flag's. */
const RENAMED: Readonly<Record<string, string>> = {
  'experimental-snapshot-catch-up-entries': 'experimental-snapshot-catchup-entries',
};

/** Reads and parses the config file at `path` (relative to `cwd`). Never throws. */
export function readConfigFile(path: string, cwd: string): FileResult {
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : 'read failed';
    return { ok: false, error: { flag: 'config-file', message: `berth: cannot read config file ${full}: ${why}` } };
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: full });
  } catch (e) {
    const reason = e instanceof yaml.YAMLException ? e.reason : 'not YAML';
    return { ok: false, error: { flag: 'config-file', message: `berth: invalid config file ${full}: ${reason}` } };
  }
  if (doc === undefined || doc === null) return { ok: true, settings: new Map(), warnings: [] };
  if (!isMapping(doc)) {
    return {
      ok: false,
      error: { flag: 'config-file', message: `berth: invalid config file ${full}: expected a mapping of keys to values` },
    };
  }
  return settingsFromDoc(doc, full);
}

function settingsFromDoc(doc: Readonly<Record<string, unknown>>, path: string): FileResult {
  const settings = new Map<string, RawSetting>();
  const warnings: ConfigWarning[] = [];
  const put = (flag: string, key: string, value: unknown): ConfigError | undefined => {
    const spec = flagSpec(flag);
    if (spec === undefined) return undefined;
    if (value === null || value === undefined) return undefined;
    // etcd's file loader treats an empty enum (e.g. initial-cluster-state: "") as unset.
    if (value === '' && spec.choices !== undefined && !spec.choices.includes('')) return undefined;
    const source: Source = { kind: 'file', path, key };
    const raw = toFlagString(spec, value);
    if (raw === undefined) {
      return invalidValue(flag, typeof value === 'object' ? JSON.stringify(value) : String(value), source, `expected ${describe(spec)}`);
    }
    const parsed = parseFlagValue(spec, raw);
    if (!parsed.ok) return invalidValue(flag, raw, source, parsed.reason);
    settings.set(flag, { value: raw, source });
    return undefined;
  };

  for (const [key, value] of Object.entries(doc)) {
    const section = SECTIONS[key];
    if (section !== undefined) {
      if (value === null || value === undefined) continue;
      if (!isMapping(value)) {
        return { ok: false, error: invalidValue(key, JSON.stringify(value), { kind: 'file', path, key }, 'expected a mapping') };
      }
      for (const [sub, subValue] of Object.entries(value)) {
        const flag = section[sub];
        if (flag === undefined) {
          warnings.push({ flag: '', message: `unknown key "${key}.${sub}" in config file ${path}; ignored` });
          continue;
        }
        const err = put(flag, `${key}.${sub}`, subValue);
        if (err !== undefined) return { ok: false, error: err };
      }
      continue;
    }
    const flag = RENAMED[key] ?? key;
    if (flag === 'version' || flag === 'config-file') {
      warnings.push({ flag, message: `key "${key}" has no meaning in a config file; ignored` });
      continue;
    }
    if (flagSpec(flag) === undefined) {
      const message =
        legacyFlag(flag) !== undefined
          ? `config file ${path} sets legacy option "${key}", which berth ignores`
          : `unknown key "${key}" in config file ${path}; ignored`;
      warnings.push({ flag: '', message });
      continue;
    }
    const err = put(flag, key, value);
    if (err !== undefined) return { ok: false, error: err };
  }
  return { ok: true, settings, warnings };
}

/** The flag string for a YAML value, or undefined when the YAML type cannot mean this flag. */
function toFlagString(spec: FlagSpec, value: unknown): string | undefined {
  if (Array.isArray(value)) {
    if (spec.type !== 'list' && spec.type !== 'urls') return undefined;
    if (!value.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined;
    return value.map(String).join(',');
  }
  if (value instanceof Date) return undefined;
  if (typeof value === 'number') {
    if (spec.type === 'duration') return Number.isInteger(value) ? `${value}ns` : undefined;
    return String(value);
  }
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  return undefined;
}

function describe(spec: FlagSpec): string {
  switch (spec.type) {
    case 'bool':
      return 'true or false';
    case 'uint':
    case 'int':
      return 'an integer';
    case 'duration':
      return 'a duration string or integer nanoseconds';
    case 'list':
      return 'a list or a comma-separated string';
    case 'urls':
      return 'a comma-separated string of URLs';
    case 'string':
      return 'a string';
  }
}

function isMapping(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
