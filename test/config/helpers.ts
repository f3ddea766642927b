import assert from 'node:assert/strict';
import { parseConfig, type Config, type ConfigError, type ConfigWarning } from '../../pkg/config/index.js';

export const CWD = '/srv/berth-test';

/** Parses and asserts a config came out; returns it with its warnings. */
export function configOf(
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
  cwd = CWD,
): { config: Config; warnings: readonly ConfigWarning[] } {
  const r = parseConfig({ argv, env, cwd });
  if (!r.ok) assert.fail(`expected a config, got error: ${r.error.message}`);
  if (r.kind !== 'config') assert.fail(`expected a config, got ${r.kind}`);
  return { config: r.config, warnings: r.warnings };
}

/** Parses and asserts an error came out; returns it. */
export function errorOf(
  argv: readonly string[],
  env: Readonly<Record<string, string>> = {},
  cwd = CWD,
): ConfigError {
  const r = parseConfig({ argv, env, cwd });
  if (r.ok) assert.fail(`expected an error, got ${r.kind}`);
  assert.ok(!r.error.message.includes('\n'), 'an error is one line');
  assert.ok(r.error.message.startsWith('berth: '), r.error.message);
  return r.error;
}

export function warningText(warnings: readonly ConfigWarning[]): string {
  return warnings.map((w) => w.message).join('\n');
}
