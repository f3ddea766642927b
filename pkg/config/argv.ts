/**
 * Command-line syntax as etcd's Go flag package reads it: `-name v`, `--name v`, `--name=v`; bool
 * flags take no separate value (`--flag`, `--flag=false`); `--` ends the flags; `-h`/`--help`
 * asks for help. Values are type-checked here, as Go does while parsing.
 */
import { flagSpec, legacyFlag } from './flags.js';
import { invalidValue, type ConfigError } from './source.js';
import { parseFlagValue } from './values.js';

export interface LegacyUse {
  readonly name: string;
  readonly value: string | undefined;
}

export type ArgvResult =
  | { readonly ok: true; readonly help: true }
  | {
      readonly ok: true;
      readonly help: false;
      /** Last value given per flag. */
      readonly flags: ReadonlyMap<string, string>;
      readonly legacy: readonly LegacyUse[];
    }
  | { readonly ok: false; readonly error: ConfigError };

/** Parses `argv` (without node and script). Never throws. */
export function parseArgv(argv: readonly string[]): ArgvResult {
  const flags = new Map<string, string>();
  const legacy: LegacyUse[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      const extra = argv[i + 1];
      if (extra !== undefined) return notAFlag(extra);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') return notAFlag(arg);
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) {
      return { ok: false, error: { flag: body, message: `berth: bad flag syntax: ${arg}` } };
    }
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'h' || name === 'help') return { ok: true, help: true };

    const spec = flagSpec(name);
    if (spec === undefined) {
      const old = legacyFlag(name);
      if (old === undefined) {
        return {
          ok: false,
          error: { flag: name, message: `berth: unknown flag --${name} (see berth --help)` },
        };
      }
      let value = inline;
      if (value === undefined && old.takesValue) {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('-')) {
          value = next;
          i++;
        }
      }
      legacy.push({ name, value });
      continue;
    }

    let value: string;
    if (inline !== undefined) {
      value = inline;
    } else if (spec.type === 'bool') {
      value = 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined) {
        return { ok: false, error: { flag: name, message: `berth: flag needs an argument: --${name}` } };
      }
      value = next;
      i++;
    }
    const parsed = parseFlagValue(spec, value);
    if (!parsed.ok) return { ok: false, error: invalidValue(name, value, { kind: 'flag' }, parsed.reason) };
    flags.delete(name);
    flags.set(name, value);
  }
  return { ok: true, help: false, flags, legacy };
}

function notAFlag(arg: string): ArgvResult {
  return { ok: false, error: { flag: arg, message: `berth: ${JSON.stringify(arg)} is not a valid flag` } };
}
