/**
 * Parsers for flag values with the syntax etcd's Go flag package accepts, so a command line that
 * works for etcd works for berth. Each returns the value or a reason string (errors as values).
 */

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool spellings. */
export function parseGoBool(s: string): Parsed<boolean> {
  if (TRUE.has(s)) return ok(true);
  if (FALSE.has(s)) return ok(false);
  return fail('expected true or false');
}

/**
 * An integer the way Go's flag package reads one (base prefix 0x/0o/0b/0 allowed, `_` between
 * digits), bounded to the safe-integer range because berth stores these as numbers.
 */
export function parseGoInt(s: string, opts: { readonly unsigned: boolean }): Parsed<number> {
  let t = s;
  let negative = false;
  if (t.startsWith('+') || t.startsWith('-')) {
    negative = t.startsWith('-');
    t = t.slice(1);
  }
  if (negative && opts.unsigned) return fail('expected a non-negative integer');
  let base = 10;
  if (/^0[xX]/.test(t)) {
    base = 16;
    t = t.slice(2);
  } else if (/^0[oO]/.test(t)) {
    base = 8;
    t = t.slice(2);
  } else if (/^0[bB]/.test(t)) {
    base = 2;
    t = t.slice(2);
  } else if (/^0[0-9_]/.test(t)) {
    base = 8;
    t = t.slice(1);
  }
  if (t.startsWith('_') || t.endsWith('_') || t.includes('__')) return fail(expected(opts.unsigned));
  if (base !== 10 || t.includes('_')) t = t.replaceAll('_', '');
  const digits = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base];
  if (digits === undefined || !digits.test(t)) return fail(expected(opts.unsigned));
  const big = BigInt(base === 10 ? t : `0${{ 2: 'b', 8: 'o', 16: 'x' }[base] ?? ''}${t}`);
  const value = negative ? -big : big;
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    return fail('value out of range');
  }
  return ok(Number(value));
}

function expected(unsigned: boolean): string {
  return unsigned ? 'expected a non-negative integer' : 'expected an integer';
}

const UNIT_NS: ReadonlyMap<string, number> = new Map([
  ['ns', 1e-6],
  ['us', 1e-3],
  ['µs', 1e-3],
  ['μs', 1e-3],
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
]);

/**
 * A Go duration (`300ms`, `1m30s`, `2h`, `0`) in milliseconds, possibly fractional. Go requires a
 * unit on every number except a bare zero.
 */
export function parseGoDuration(s: string): Parsed<number> {
  const reason = 'expected a duration such as 500ms, 10s, 1m30s or 2h';
  let t = s;
  let sign = 1;
  if (t.startsWith('+') || t.startsWith('-')) {
    sign = t.startsWith('-') ? -1 : 1;
    t = t.slice(1);
  }
  if (t === '0') return ok(0);
  if (t === '') return fail(reason);
  let total = 0;
  const part = /^([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/;
  while (t !== '') {
    const m = part.exec(t);
    if (m === null) return fail(reason);
    const num = m[1] ?? '';
    const unit = UNIT_NS.get(m[2] ?? '');
    if (num === '' || num === '.' || unit === undefined) return fail(reason);
    total += Number(num) * unit;
    t = t.slice(m[0].length);
  }
  return ok(sign * total);
}

/** Renders milliseconds the way Go prints a duration, for help text and logs (`1m0s`, `100ms`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (Math.abs(ms) < 1000) return `${ms}ms`;
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms) / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = `${Number(rest.toFixed(9))}s`;
  if (h > 0) return `${sign}${h}h${m}m${sec}`;
  if (m > 0) return `${sign}${m}m${sec}`;
  return `${sign}${sec}`;
}
