/**
 * The auto-compactor (`--auto-compaction-mode` / `--auto-compaction-retention`), after etcd's
 * v3compactor. Every member runs one, but it compacts only while resumed, and the member resumes it
 * only while it is the raft leader (pauses it on losing leadership), so one member proposes at a time.
 * A compaction is an ordinary replicated Compact command (the KV.Compact path); "already compacted"
 * (another leader or a client got there first) counts as done, any other failure is retried on the
 * next tick.
 *
 * - revision: every 5 minutes (REVISION_INTERVAL_MS), target = current revision − retention; nothing
 *   when the target is ≤ 0 or equals the last target this compactor compacted to.
 * - periodic: the current revision is sampled every sampleEveryMs (paused or not) into a sliding
 *   window of `samples` entries, whose oldest was taken one retention (plus up to one sample
 *   interval) ago; on a tick that is not paused, once `retention` has passed since start (later:
 *   compactEveryMs since the last success), it compacts to that oldest sample. A failure leaves the
 *   last success unchanged, so the next tick retries (with the window moved on by one sample). See
 *   schedule.ts for the numbers.
 *
 * The clock is injected (tests drive it by hand); a tick that compacts waits for the outcome before
 * the next one is scheduled, so two compactions never overlap.
 */
import type { AutoCompaction } from '../../config/index.js';
import { formatGoDuration } from '../../config/index.js';
import type { Logger } from '../../log/index.js';
import type { Outcome } from '../wait.js';
import type { CompactorClock } from './clock.js';
import { periodicSchedule, REVISION_INTERVAL_MS, type PeriodicSchedule } from './schedule.js';

export type CompactionPolicy = Exclude<AutoCompaction, { readonly mode: 'off' }>;

export interface AutoCompactorOptions {
  readonly policy: CompactionPolicy;
  readonly clock: CompactorClock;
  /** The member's current (applied) MVCC revision. */
  readonly revision: () => bigint;
  /** Proposes Compact(revision) through raft and resolves with its apply outcome. */
  readonly compact: (revision: bigint) => Promise<Outcome<unknown>>;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Revision mode's check interval; etcd's 5 minutes unless a test shortens it. */
  readonly revisionIntervalMs?: number;
}

/** A duration for the logs, to the microsecond like Go's. */
function took(ms: number): string {
  return formatGoDuration(Math.round(ms * 1000) / 1000);
}

export class AutoCompactor {
  readonly #o: AutoCompactorOptions;
  readonly #schedule: PeriodicSchedule | undefined;
  #started = false;
  #stopped = false;
  #paused = true;
  #cancelTimer: (() => void) | undefined;
  /** revision mode: the last target compacted to (or found compacted). */
  #lastTarget = 0n;
  /** periodic mode: sampled revisions, oldest first. */
  #samples: bigint[] = [];
  /** periodic mode: when the last compaction succeeded, and how long after it the next may run. */
  #lastSuccess = 0;
  #waitFor = 0;

  constructor(o: AutoCompactorOptions) {
    this.#o = o;
    this.#schedule = o.policy.mode === 'periodic' ? periodicSchedule(o.policy.retentionMs) : undefined;
  }

  /** Starts the timers, paused: nothing is compacted before resume(). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    if (this.#schedule === undefined) {
      this.#wait(this.#o.revisionIntervalMs ?? REVISION_INTERVAL_MS, () => this.#revisionTick());
      return;
    }
    this.#lastSuccess = this.#o.clock.now();
    this.#waitFor = this.#periodMs();
    this.#sampleAndWait(this.#schedule);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  get paused(): boolean {
    return this.#paused;
  }

  #periodMs(): number {
    return this.#o.policy.mode === 'periodic' ? this.#o.policy.retentionMs : 0;
  }

  #wait(ms: number, fn: () => Promise<void>): void {
    if (this.#stopped) return;
    this.#cancelTimer = this.#o.clock.after(ms, () => {
      this.#cancelTimer = undefined;
      void fn();
    });
  }

  async #revisionTick(): Promise<void> {
    const interval = this.#o.revisionIntervalMs ?? REVISION_INTERVAL_MS;
    if (this.#stopped) return;
    if (!this.#paused && this.#o.policy.mode === 'revision') {
      const retention = BigInt(this.#o.policy.retentionRevisions);
      const target = this.#o.revision() - retention;
      if (target > 0n && target !== this.#lastTarget) {
        const fields = { revision: Number(target), 'revision-compaction-retention': Number(retention) };
        this.#o.logger.info(fields, 'starting auto revision compaction');
        const started = this.#o.clock.now();
        const error = await this.#compact(target);
        if (error === undefined) {
          this.#lastTarget = target;
          this.#o.logger.info({ ...fields, took: took(this.#o.clock.now() - started) }, 'completed auto revision compaction');
        } else if (!this.#stopped) {
          this.#o.logger.warn({ ...fields, 'retry-interval': formatGoDuration(interval), error }, 'failed auto revision compaction');
        }
      }
    }
    this.#wait(interval, () => this.#revisionTick());
  }

  #sampleAndWait(s: PeriodicSchedule): void {
    this.#samples.push(this.#o.revision());
    if (this.#samples.length > s.samples) this.#samples.shift();
    this.#wait(s.sampleEveryMs, () => this.#periodicTick(s));
  }

  async #periodicTick(s: PeriodicSchedule): Promise<void> {
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    const target = this.#samples[0];
    if (!this.#paused && now - this.#lastSuccess >= this.#waitFor && target !== undefined) {
      // The first compaction waits one full retention; later ones one compaction interval.
      this.#waitFor = s.compactEveryMs;
      const fields = { revision: Number(target), 'compact-period': formatGoDuration(this.#periodMs()) };
      this.#o.logger.info(fields, 'starting auto periodic compaction');
      const error = await this.#compact(target);
      if (error === undefined) {
        this.#lastSuccess = this.#o.clock.now();
        this.#o.logger.info({ ...fields, took: took(this.#lastSuccess - now) }, 'completed auto periodic compaction');
      } else if (!this.#stopped) {
        this.#o.logger.warn({ ...fields, 'retry-interval': formatGoDuration(s.sampleEveryMs), error }, 'failed auto periodic compaction');
      }
    }
    if (!this.#stopped) this.#sampleAndWait(s);
  }

  /** undefined when compacted (now or before: "required revision has been compacted"); else why not. */
  async #compact(revision: bigint): Promise<string | undefined> {
    try {
      const o = await this.#o.compact(revision);
      if (o.ok || o.error.kind === 'compacted') return undefined;
      return o.error.detail === undefined ? o.error.kind : `${o.error.kind}: ${o.error.detail}`;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }
}
