/** `--auto-compaction-mode` and `--auto-compaction-retention` into one typed setting. */
import { parseGoDuration, parseGoInt } from './go-values.js';
import type { AutoCompaction } from './types.js';

/** etcd's reading of the retention: a bare integer is hours (periodic) or revisions; else a duration. */
export function parseAutoCompaction(mode: string, retention: string): AutoCompaction | string {
  const int = parseGoInt(retention, { unsigned: true });
  if (int.ok && /^[0-9]+$/.test(retention)) {
    if (int.value === 0) return { mode: 'off' };
    return mode === 'revision'
      ? { mode: 'revision', retentionRevisions: int.value }
      : { mode: 'periodic', retentionMs: int.value * 3_600_000 };
  }
  const d = parseGoDuration(retention);
  if (!d.ok) return `expected an integer or a duration (${d.reason})`;
  if (d.value < 0) return 'must not be negative';
  if (d.value === 0) return { mode: 'off' };
  if (mode === 'revision') return 'a duration is only valid with --auto-compaction-mode=periodic';
  return { mode: 'periodic', retentionMs: d.value };
}
