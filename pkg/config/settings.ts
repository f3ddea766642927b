/**
 * Typed read access to the merged raw settings: an explicit value where one was given, the flag
 * table's default otherwise.
 */
import { flagSpec, type FlagSpec } from './flags.js';
import type { RawSetting, Source } from './source.js';
import { parseFlagValue, type FlagValue } from './values.js';
import type { EndpointUrl } from './urls.js';

export interface Settings {
  isSet(name: string): boolean;
  raw(name: string): string;
  source(name: string): Source;
  str(name: string): string;
  bool(name: string): boolean;
  num(name: string): number;
  urls(name: string): readonly EndpointUrl[];
  list(name: string): readonly string[];
  explicit(): readonly string[];
}

/**
 * Wraps `explicit` settings (already type-checked by their reader). Asking for an unknown flag or a
 * mistyped one is a programming error and throws.
 */
export function settingsOf(explicit: ReadonlyMap<string, RawSetting>): Settings {
  const spec = (name: string): FlagSpec => {
    const s = flagSpec(name);
    if (s === undefined) throw new Error(`config: no flag named ${name}`);
    return s;
  };
  const value = (name: string): FlagValue => {
    const s = spec(name);
    const raw = explicit.get(name)?.value ?? s.def;
    const parsed = parseFlagValue(s, raw);
    if (!parsed.ok) throw new Error(`config: flag ${name} holds unchecked value ${JSON.stringify(raw)}`);
    return parsed.value;
  };
  const typed = <T>(name: string, check: (v: FlagValue) => v is T & FlagValue): T => {
    const v = value(name);
    if (!check(v)) throw new Error(`config: flag ${name} read with the wrong type`);
    return v;
  };
  return {
    isSet: (name) => explicit.has(name),
    raw: (name) => explicit.get(name)?.value ?? spec(name).def,
    source: (name) => explicit.get(name)?.source ?? { kind: 'default' },
    str: (name) => typed(name, (v): v is string => typeof v === 'string'),
    bool: (name) => typed(name, (v): v is boolean => typeof v === 'boolean'),
    num: (name) => typed(name, (v): v is number => typeof v === 'number'),
    urls: (name) => {
      if (spec(name).type !== 'urls') throw new Error(`config: flag ${name} is not a URL list`);
      return value(name) as readonly EndpointUrl[];
    },
    list: (name) => {
      if (spec(name).type !== 'list') throw new Error(`config: flag ${name} is not a list`);
      return value(name) as readonly string[];
    },
    explicit: () => [...explicit.keys()].sort(),
  };
}
