/**
 * Where a setting came from, so that every error and warning can name what the user must change.
 */
export type Source =
  | { readonly kind: 'default' }
  | { readonly kind: 'flag' }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'file'; readonly path: string; readonly key: string };

/** One raw setting: the flag's string value and its origin. */
export interface RawSetting {
  readonly value: string;
  readonly source: Source;
}

/** An error as a value: the flag it concerns and the one line to print. */
export interface ConfigError {
  readonly flag: string;
  readonly message: string;
}

/** A non-fatal finding to log once the logger exists. */
export interface ConfigWarning {
  readonly flag: string;
  readonly message: string;
}

/** The one-line error for a value that does not parse, naming flag, variable or config key. */
export function invalidValue(flag: string, value: string, source: Source, reason: string): ConfigError {
  const v = JSON.stringify(value);
  switch (source.kind) {
    case 'env':
      return { flag, message: `berth: invalid value ${v} for ${source.variable} (flag --${flag}): ${reason}` };
    case 'file':
      return { flag, message: `berth: invalid value ${v} for key "${source.key}" in config file ${source.path}: ${reason}` };
    case 'default':
    case 'flag':
      return { flag, message: `berth: invalid value ${v} for flag --${flag}: ${reason}` };
  }
}

/** The one-line error for a rule that spans settings (e.g. election vs heartbeat). */
export function invalidFlag(flag: string, reason: string): ConfigError {
  return { flag, message: `berth: invalid flag --${flag}: ${reason}` };
}
