/**
 * Leader-side heartbeat timing, for two etcd metrics:
 * - etcd_server_heartbeat_send_failures_total: like etcd's timeout detector, a heartbeat to a peer
 *   sent more than twice the heartbeat interval after the previous one to that peer counts as a
 *   failure (the leader's loop was too slow to keep its followers' election timers quiet, typically
 *   a slow disk). Reset on leader change, so the gap of a previous term never counts.
 * - etcd_network_peer_round_trip_time_seconds: the time from a heartbeat to that peer's heartbeat
 *   response (etcd measures with a separate prober; berth's transport has none, and heartbeats are
 *   the regular round trip every leader already makes). Only the leader observes it.
 * Cost: two map operations per heartbeat and per heartbeat response; nothing for other messages.
 */
import type { Message } from '../raft/index.js';

export interface PeerTimingOptions {
  readonly heartbeatMs: number;
  /** An outstanding heartbeat older than this is forgotten (its response was lost). */
  readonly staleMs: number;
  readonly late: () => void;
  readonly roundTrip: (peer: bigint, seconds: number) => void;
  readonly now?: () => number;
}

export class PeerTiming {
  readonly #o: PeerTimingOptions;
  readonly #now: () => number;
  readonly #lastSent = new Map<bigint, number>();
  /** The oldest heartbeat to each peer whose response has not arrived. */
  readonly #outstanding = new Map<bigint, number>();

  constructor(o: PeerTimingOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => performance.now());
  }

  /** Every message raft hands to the transport. */
  sent(msgs: readonly Message[]): void {
    for (const m of msgs) {
      if (m.type !== 'heartbeat') continue;
      const now = this.#now();
      const last = this.#lastSent.get(m.to);
      if (last !== undefined && now - last > 2 * this.#o.heartbeatMs) this.#o.late();
      this.#lastSent.set(m.to, now);
      const pending = this.#outstanding.get(m.to);
      if (pending === undefined || now - pending > this.#o.staleMs) this.#outstanding.set(m.to, now);
    }
  }

  /** Every message received from a peer. */
  received(m: Message): void {
    if (m.type !== 'heartbeat-resp') return;
    const at = this.#outstanding.get(m.from);
    if (at === undefined) return;
    this.#outstanding.delete(m.from);
    this.#o.roundTrip(m.from, (this.#now() - at) / 1000);
  }

  /** Leadership changed: earlier send times say nothing about this term. */
  reset(): void {
    this.#lastSent.clear();
    this.#outstanding.clear();
  }
}
