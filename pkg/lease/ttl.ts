/**
 * etcd's lease TTL rules (seconds): a TTL above MAX_LEASE_TTL is refused; anything below the minimum
 * (zero and negative TTLs included) is raised to it.
 */

/** etcd's MaxLeaseTTL. */
export const MAX_LEASE_TTL = 9_000_000_000n;

/**
 * The minimum lease TTL, computed like etcd: 1.5 election timeouts measured in whole ticks
 * (integer division of 3 × electionTicks by 2, times the heartbeat), rounded up to whole seconds.
 * `electionTicks` must be the value the raft node runs with. With etcd's defaults (10 ticks of 100 ms) it is 2 s.
 */
export function minLeaseTtl(electionTicks: number, heartbeatMs: number): bigint {
  const ms = Math.floor((3 * electionTicks) / 2) * heartbeatMs;
  return BigInt(Math.max(1, Math.ceil(ms / 1000)));
}

/** The TTL a grant of `requested` seconds gets, or 'too-large'. */
export function effectiveTtl(requested: bigint, minTtl: bigint): bigint | 'too-large' {
  if (requested > MAX_LEASE_TTL) return 'too-large';
  return requested < minTtl ? minTtl : requested;
}
