/** `--auth-token`: a token type (`simple` or `jwt`) followed by comma-separated key=value options. */

/** The parsed token setting, or the reason it is invalid. */
export function parseAuthToken(
  raw: string,
): { readonly type: 'simple' | 'jwt'; readonly options: Readonly<Record<string, string>> } | string {
  const [type = '', ...rest] = raw.split(',');
  if (type !== 'simple' && type !== 'jwt') return 'unknown token type (expected simple or jwt)';
  const options: Record<string, string> = {};
  for (const opt of rest) {
    const eq = opt.indexOf('=');
    if (eq <= 0) return `expected key=value options after the token type, got ${JSON.stringify(opt)}`;
    options[opt.slice(0, eq)] = opt.slice(eq + 1);
  }
  return { type, options };
}
