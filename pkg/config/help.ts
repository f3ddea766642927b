/**
 * The text of `berth --help`: usage, then every flag grouped like etcd's help, one line each with
 * its default, generated from the flag table so it cannot drift from what is parsed.
 */
import { FLAGS, LEGACY_FLAGS, type FlagGroup } from './flags.js';

const GROUP_ORDER: readonly FlagGroup[] = [
  'Member',
  'Clustering',
  'Security',
  'Auth',
  'Profiling and Monitoring',
  'Logging',
  'Experimental distributed tracing',
  'v2 Proxy (not supported)',
  'Experimental feature',
  'Unsafe feature',
  'berth',
];

export function helpText(): string {
  const lines: string[] = [
    'Usage:',
    '',
    '  berth [flags]',
    '    Start a berth member (an etcd-compatible key-value store).',
    '',
    '  berth --version',
    '    Show the version of berth and the etcd API version it emulates.',
    '',
    '  berth -h | --help',
    '    Show this help.',
    '',
    'Every flag can also be set through ETCD_<FLAG> or BERTH_<FLAG> environment variables',
    '(upper case, dashes as underscores, e.g. ETCD_DATA_DIR); command-line flags win over them.',
    'With --config-file, other flags and environment variables are ignored.',
  ];
  const rows = FLAGS.map((f) => ({
    group: f.group,
    left: f.type === 'bool' && f.def === 'false' ? `--${f.name} 'false'` : `--${f.name} '${f.def}'`,
    help: f.help,
  }));
  const width = Math.min(46, Math.max(...rows.map((r) => r.left.length)) + 2);
  for (const group of GROUP_ORDER) {
    lines.push('', `${group}:`);
    for (const r of rows.filter((x) => x.group === group)) {
      const pad = r.left.length + 2 > width ? '  ' : ' '.repeat(width - r.left.length);
      lines.push(`  ${r.left}${pad}${r.help}`);
    }
  }
  lines.push(
    '',
    'Legacy flags (accepted with a warning, ignored):',
    `  ${LEGACY_FLAGS.map((l) => `--${l.name}`).join(' ')}`,
  );
  return lines.join('\n');
}
