/**
 * etcdctl's (cobra/pflag) flag syntax: `--name=value`, `--name value`, `-n value`, `-n=value`, boolean
 * flags without a value (`--prefix`, `--prefix=false`), `--` ends the flags, flags and arguments mix
 * freely. Global flags may appear anywhere; each command adds its own.
 */
export type FlagKind = 'bool' | 'string' | 'int' | 'duration' | 'strings';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly short?: string;
  /** Environment variable (etcdctl's ETCDCTL_*), global flags only. */
  readonly env?: string;
  readonly def: string;
  readonly help: string;
}

export type FlagValue = string | boolean | bigint | number | string[];

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** Go's time.ParseDuration for the units etcdctl users type (ns, us, µs, ms, s, m, h); result in ms. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let at = 0;
  if (s.length === 0) return undefined;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (m === null) return undefined;
    total += Number(m[1]) * (unit[m[2] as string] as number);
    at = re.lastIndex;
  }
  return total;
}

function convert(spec: FlagSpec, raw: string, shown: string): FlagValue {
  switch (spec.kind) {
    case 'bool':
      if (['true', '1', 't', 'T', 'TRUE', 'True'].includes(raw)) return true;
      if (['false', '0', 'f', 'F', 'FALSE', 'False'].includes(raw)) return false;
      throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
    case 'int':
      if (!/^[+-]?\d+$/.test(raw)) throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      return BigInt(raw);
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) throw new FlagError(`invalid argument "${raw}" for "${shown}" flag: time: invalid duration "${raw}"`);
      return ms;
    }
    case 'strings':
      return raw === '' ? [] : raw.split(',');
    case 'string':
      return raw;
  }
}

export interface Parsed {
  readonly values: ReadonlyMap<string, FlagValue>;
  /** Names given explicitly on the command line or in the environment. */
  readonly set: ReadonlySet<string>;
  readonly args: readonly string[];
}

/** Parses argv against `specs`; throws FlagError with pflag's message on an unknown flag or a bad value. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], env: Readonly<Record<string, string | undefined>> = {}): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.flatMap((s) => (s.short === undefined ? [] : [[s.short, s] as const])));
  const values = new Map<string, FlagValue>();
  const set = new Set<string>();
  for (const s of specs) values.set(s.name, convert(s, s.def, `--${s.name}`));
  for (const s of specs) {
    const v = s.env === undefined ? undefined : env[s.env];
    if (v !== undefined) {
      values.set(s.name, convert(s, v, `--${s.name}`));
      set.add(s.name);
    }
  }
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const long = a.startsWith('--');
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = long ? byName.get(name) : byShort.get(name);
    if (spec === undefined) {
      throw new FlagError(long ? `unknown flag: --${name}` : `unknown shorthand flag: '${name.slice(0, 1)}' in ${a}`);
    }
    const shown = long ? `--${name}` : `-${spec.short ?? ''}, --${spec.name}`;
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: ${long ? `--${name}` : `'${name}' in ${a}`}`);
      raw = argv[++i] as string;
    }
    values.set(spec.name, convert(spec, raw, shown));
    set.add(spec.name);
  }
  return { values, set, args };
}

/** Typed accessors over a parse result. */
export class Flags {
  constructor(readonly parsed: Parsed) {}
  bool(n: string): boolean {
    return this.parsed.values.get(n) === true;
  }
  str(n: string): string {
    const v = this.parsed.values.get(n);
    return typeof v === 'string' ? v : '';
  }
  int(n: string): bigint {
    const v = this.parsed.values.get(n);
    return typeof v === 'bigint' ? v : 0n;
  }
  ms(n: string): number {
    const v = this.parsed.values.get(n);
    return typeof v === 'number' ? v : 0;
  }
  list(n: string): string[] {
    const v = this.parsed.values.get(n);
    return Array.isArray(v) ? v : [];
  }
  isSet(n: string): boolean {
    return this.parsed.set.has(n);
  }
  get args(): readonly string[] {
    return this.parsed.args;
  }
}
