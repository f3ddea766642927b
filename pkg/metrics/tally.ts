/**
 * Counter increments for hot paths. `Tally.inc()` adds to a plain number; the sum reaches the
 * prom-client counter, under the tally's labels, whenever the counter is read (a scrape,
 * `registry.metrics()`, `counter.get()`): prom-client calls a counter's `collect` hook before it
 * reads its values. prom-client's own `inc()` hashes and validates the label set on every call, a
 * few hundred nanoseconds that add up at tens of thousands of requests per second per counter.
 *
 * What a reader sees is unchanged: every increment made before a read is in that read. A tally's
 * labels are validated (and its series created at 0) when the tally is made, as inc() would on first
 * use. Tested by test/metrics/tally.test.ts.
 */
import type { Counter, LabelValues } from 'prom-client';

export interface Tally {
  inc(by?: number): void;
}

interface Pending<L extends string> {
  readonly labels: LabelValues<L> | undefined;
  n: number;
}

type Collectable = { collect?: (this: unknown) => unknown };

const pendingOf = new WeakMap<object, Pending<string>[]>();

/** A tally feeding `counter` (with `labels`, for a labelled counter). */
export function tally<L extends string>(counter: Counter<L>, labels?: LabelValues<L>): Tally {
  let pending = pendingOf.get(counter) as Pending<L>[] | undefined;
  if (pending === undefined) {
    const list: Pending<L>[] = [];
    pending = list;
    pendingOf.set(counter, list as Pending<string>[]);
    const c = counter as unknown as Collectable;
    const own = c.collect;
    c.collect = function (this: unknown): unknown {
      for (const p of list) {
        if (p.n === 0) continue;
        const n = p.n;
        p.n = 0;
        if (p.labels === undefined) counter.inc(n);
        else counter.inc(p.labels, n);
      }
      return own?.call(this);
    };
  }
  // Validates the labels now, and creates the series, like a first inc() would.
  if (labels === undefined) counter.inc(0);
  else counter.inc(labels, 0);
  const p: Pending<L> = { labels, n: 0 };
  pending.push(p);
  return {
    inc(by = 1): void {
      p.n += by;
    },
  };
}
