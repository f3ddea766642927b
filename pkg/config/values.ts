/**
 * Turns a flag's raw string (from argv, an environment variable or the config file) into a typed
 * value according to its row in the flag table.
 */
import type { FlagSpec } from './flags.js';
import { parseGoBool, parseGoDuration, parseGoInt, type Parsed } from './go-values.js';
import { parseUrlList, type EndpointUrl } from './urls.js';

export type FlagValue = string | boolean | number | readonly EndpointUrl[] | readonly string[];

/** Parses `raw` for `spec`. Fails with a reason that the caller puts after the flag's name. */
export function parseFlagValue(spec: FlagSpec, raw: string): Parsed<FlagValue> {
  switch (spec.type) {
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(raw)) {
        return { ok: false, reason: `valid values are ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}` };
      }
      return { ok: true, value: raw };
    case 'bool':
      return parseGoBool(raw);
    case 'uint':
      return parseGoInt(raw, { unsigned: true });
    case 'int':
      return parseGoInt(raw, { unsigned: false });
    case 'duration':
      return parseGoDuration(raw);
    case 'urls':
      if (raw === '') return { ok: true, value: [] };
      return parseUrlList(raw);
    case 'list':
      return { ok: true, value: splitList(raw) };
  }
}

/** Comma-separated strings, trimmed, empty items and duplicates dropped. */
export function splitList(raw: string): readonly string[] {
  const out: string[] = [];
  for (const item of raw.split(',')) {
    const t = item.trim();
    if (t !== '' && !out.includes(t)) out.push(t);
  }
  return out;
}
