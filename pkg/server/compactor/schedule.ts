/**
 * The timing rules of etcd's auto-compactor (server/etcdserver/api/v3compactor), as numbers:
 * - revision mode checks every 5 minutes;
 * - periodic mode with retention P works on a window W = min(P, 1 h): it samples the current
 *   revision every W/10, keeps the last P/(W/10) + 1 samples (so the oldest was taken about P ago),
 *   compacts first once P has passed since the compactor started and then every W.
 */

/** etcd's revision-mode check interval. */
export const REVISION_INTERVAL_MS = 5 * 60_000;

const HOUR_MS = 3_600_000;
const SAMPLES_PER_WINDOW = 10;

export interface PeriodicSchedule {
  /** Between two samples of the current revision; also the retry delay after a failed compaction. */
  readonly sampleEveryMs: number;
  /** Between two successful compactions (after the first). */
  readonly compactEveryMs: number;
  /** Samples kept; the oldest one is the revision of one retention ago. */
  readonly samples: number;
}

export function periodicSchedule(retentionMs: number): PeriodicSchedule {
  const window = Math.min(retentionMs, HOUR_MS);
  const sampleEveryMs = window / SAMPLES_PER_WINDOW;
  return { sampleEveryMs, compactEveryMs: window, samples: Math.floor(retentionMs / sampleEveryMs + 1e-9) + 1 };
}
