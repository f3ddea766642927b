/**
 * Reconnect delay: doubles from base to max per failed attempt, then half fixed and half random
 * ("equal jitter"), so members that lost a peer at the same moment do not retry in lockstep.
 */
export function backoffDelay(attempt: number, opts: { baseMs: number; maxMs: number; random: () => number }): number {
  const d = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return d / 2 + opts.random() * (d / 2);
}
