/**
 * One Prometheus registry per member (pkg/metrics), shared by every module of that member through
 * `memberMetrics(ctx)`, plus the proposal counters the composition root feeds via `trackProposal`.
 * The composition root creates the metrics before the context exists (storage and transport feed
 * them from the start) and binds them with `bindMemberMetrics`. Gauges that mirror state a module
 * owns (watch streams, live keys) are set by that module's `onScrape` hook, run before each scrape.
 */
import { createMetrics, type Metrics } from '../../metrics/index.js';
import type { ErrorKind } from '../../errors/index.js';
import type { Outcome } from '../wait.js';

const registries = new WeakMap<object, Metrics>();

/** The member's metrics (created on first use, never global: several members may share a process). */
export function memberMetrics(ctx: object): Metrics {
  let m = registries.get(ctx);
  if (m === undefined) {
    m = createMetrics();
    registries.set(ctx, m);
  }
  return m;
}

/** Makes `m` the metrics of `ctx` (the composition root, before any module registers). */
export function bindMemberMetrics(ctx: object, m: Metrics): void {
  if (registries.has(ctx)) throw new Error('member metrics bound twice');
  registries.set(ctx, m);
}

const scrapeHooks = new WeakMap<object, (() => void)[]>();

/** Runs `fn` before each scrape of the member's /metrics (it sets gauges from live state). */
export function onScrape(ctx: object, fn: () => void): void {
  const list = scrapeHooks.get(ctx) ?? [];
  list.push(fn);
  scrapeHooks.set(ctx, list);
}

export function runScrapeHooks(ctx: object): void {
  for (const fn of scrapeHooks.get(ctx) ?? []) fn();
}

export interface ProposalStats {
  pending: number;
  failed: number;
}

const stats = new WeakMap<object, ProposalStats>();

export function proposalStats(ctx: object): ProposalStats {
  let s = stats.get(ctx);
  if (s === undefined) {
    s = { pending: 0, failed: 0 };
    stats.set(ctx, s);
  }
  return s;
}

/** Failures of the proposal itself (etcd counts these in proposals_failed), not of the request's logic. */
const PROPOSAL_FAILURES: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'noLeader',
  'timeout',
  'timeoutDueToLeaderFail',
  'timeoutDueToConnectionLost',
  'stopped',
  'leaderChanged',
  'tooManyRequests',
  'requestTooLarge',
  'notCapable',
]);

/** Counts a proposal as pending until it settles, and as failed when raft could not carry it. */
export function trackProposal<T>(ctx: object, p: Promise<Outcome<T>>): Promise<Outcome<T>> {
  const s = proposalStats(ctx);
  s.pending++;
  return p.then(
    (o) => {
      s.pending--;
      if (!o.ok && PROPOSAL_FAILURES.has(o.error.kind)) {
        s.failed++;
        memberMetrics(ctx).server.proposalsFailed.inc();
      }
      return o;
    },
    (err: unknown) => {
      s.pending--;
      s.failed++;
      memberMetrics(ctx).server.proposalsFailed.inc();
      throw err;
    },
  );
}
