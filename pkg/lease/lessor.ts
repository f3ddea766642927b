/**
 * The lessor: every lease of the member (ID, granted TTL, checkpointed remaining TTL, attached keys,
 * expiry) and, on the leader, the expiry clock.
 *
 * Replicated state (which leases exist, their TTLs, which keys they hold) changes only through the
 * apply path: `prepareGrant`/`prepareRevoke`/`prepareCheckpoint` compute the engine ops of a
 * command without touching memory; the applier writes them in the entry's batch together with the
 * applied index, then calls the prepared `commit()` to update memory. Attachments follow the MVCC
 * writes through `observe(events)`.
 *
 * Expiry is local and only meaningful on the primary (the raft leader): after `promote` every lease
 * expires at now + (remaining or granted TTL) + the given extension, `renew` pushes it to now + TTL,
 * and the timer started by `start` reports expired leases (rate-limited) so the leader can propose
 * their revocation through raft. A demoted lessor (follower) keeps every lease forever and refuses
 * renewals with 'not-primary'.
 *
 * Checkpoints (etcd's --experimental-enable-lease-checkpoint, off by default): the primary
 * periodically replicates each long lease's remaining TTL (LeaseCheckpoint), so a new leader
 * resumes from it instead of granting the full TTL again; a renewal first clears it.
 */
import { EventType, latin1, type Event } from '../storage/mvcc/index.js';
import type { BatchOp, Engine } from '../storage/engine/index.js';
import { leaseErr, leaseOk, type LeaseResult } from './errors.js';
import { delLeaseOp, loadLeaseRecords, putLeaseOp } from './record.js';
import { effectiveTtl } from './ttl.js';

export interface LessorOptions {
  /** Minimum TTL in seconds (see minLeaseTtl); shorter grants are raised to it. */
  readonly minTtl: bigint;
  /** Milliseconds clock. Default Date.now. */
  readonly now?: () => number;
  /** How long after reporting an expired lease it may be reported again if still not revoked. Default 3000 ms. */
  readonly expiredRetryMs?: number;
  /** Revocations per second the expiry timer may request, and the pile-up bound of promote. Default 1000. */
  readonly revokeRate?: number;
  /** Checkpoint remaining TTLs this often (etcd: 5 min) when set; undefined disables checkpoints. */
  readonly checkpointIntervalMs?: number | undefined;
  /** Write applied checkpoints to the Lease keyspace (survive restarts), not only to memory. Default true. */
  readonly persistCheckpoints?: boolean;
}

export interface LeaseCheckpoint {
  readonly id: bigint;
  /** Seconds; 0 clears the checkpoint. */
  readonly remainingTtl: bigint;
}

/** Where the lessor's timer sends work for raft (the leader proposes LeaseRevoke / LeaseCheckpoint). */
export interface LessorDuties {
  readonly onExpired: (ids: readonly bigint[]) => void;
  /** Resolves once the checkpoint is applied (or failed: the outcome is not needed). */
  readonly onCheckpoint?: (checkpoints: readonly LeaseCheckpoint[]) => Promise<void>;
}

/** A computed, not yet applied lessor change: write `ops` in the entry's batch, then call `commit`. */
export interface PreparedLeaseChange {
  readonly ops: readonly BatchOp[];
  readonly commit: () => void;
}

export interface PreparedGrant extends PreparedLeaseChange {
  readonly id: bigint;
  /** The TTL granted (raised to the minimum). */
  readonly ttl: bigint;
}

export interface PreparedRevoke extends PreparedLeaseChange {
  /** The attached keys, in byte order: the caller deletes them in the same batch. */
  readonly keys: readonly Uint8Array[];
}

export interface LeaseTimeToLive {
  readonly id: bigint;
  /** Whole seconds left (truncated like etcd); 9223372036 when the lease has no expiry (not primary). */
  readonly ttl: bigint;
  readonly grantedTtl: bigint;
  readonly keys: readonly Uint8Array[];
}

interface LeaseEntry {
  readonly id: bigint;
  readonly ttl: bigint;
  remainingTtl: bigint;
  /** Epoch ms; undefined = never (the lessor is not primary). */
  expiry: number | undefined;
  /** Epoch ms before which an expired lease is not reported again. */
  retryAt: number;
  /** Epoch ms at which the primary checkpoints this lease; undefined = not scheduled. */
  checkpointAt: number | undefined;
  readonly keys: Set<string>;
  /** Renewals of this expired lease waiting for its revocation or a demotion. */
  readonly waiters: ((r: LeaseResult<bigint>) => void)[];
}

/** etcd reports a lease without expiry as math.MaxInt64 nanoseconds, in seconds. */
const FOREVER_SECONDS = 9_223_372_036n;

/** Keys are held as latin1 strings: a lossless byte ↔ string mapping whose string order is byte order. */
const keyString = latin1;

function keyBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

function byExpiry(a: LeaseEntry, b: LeaseEntry): number {
  const ea = a.expiry ?? Infinity;
  const eb = b.expiry ?? Infinity;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class Lessor {
  readonly #leases = new Map<bigint, LeaseEntry>();
  /** key → lease holding it. */
  readonly #keyLease = new Map<string, bigint>();
  readonly #minTtl: bigint;
  readonly #now: () => number;
  readonly #retryMs: number;
  readonly #revokeRate: number;
  readonly #checkpointMs: number | undefined;
  readonly #persistCheckpoints: boolean;
  #duties: LessorDuties | undefined;
  #primary = false;
  #stopped = false;
  #primaryWaiters: ((primary: boolean) => void)[] = [];
  #timer: NodeJS.Timeout | undefined;

  private constructor(opts: LessorOptions) {
    this.#minTtl = opts.minTtl;
    this.#now = opts.now ?? Date.now;
    this.#retryMs = opts.expiredRetryMs ?? 3000;
    this.#revokeRate = opts.revokeRate ?? 1000;
    this.#checkpointMs = opts.checkpointIntervalMs;
    this.#persistCheckpoints = opts.persistCheckpoints ?? true;
  }

  /**
   * Loads the persisted leases (TTLs below the current minimum are raised, like etcd). The lessor
   * starts demoted: no lease expires until `promote`. Attachments are recovered separately
   * (`recoverKey`), from the MVCC store. Rejects only on an engine failure or an unreadable record.
   */
  static async load(engine: Pick<Engine, 'iterate'>, opts: LessorOptions): Promise<Lessor> {
    const l = new Lessor(opts);
    for (const r of await loadLeaseRecords(engine)) {
      l.#leases.set(r.id, l.#entry(r.id, r.ttl < opts.minTtl ? opts.minTtl : r.ttl, r.remainingTtl));
    }
    return l;
  }

  /**
   * Replaces every lease with the persisted ones after the state was replaced underneath (a raft
   * snapshot install); attachments are cleared and must be recovered again (`recoverAttachments`).
   * Waiters of leases that no longer exist fail with lease-not-found.
   */
  async reload(engine: Pick<Engine, 'iterate'>): Promise<void> {
    const records = await loadLeaseRecords(engine);
    const keep = new Set(records.map((r) => r.id));
    for (const id of [...this.#leases.keys()]) if (!keep.has(id)) this.#remove(id);
    const waiters = new Map<bigint, LeaseEntry['waiters']>();
    for (const [id, l] of this.#leases) waiters.set(id, l.waiters);
    this.#leases.clear();
    this.#keyLease.clear();
    for (const r of records) {
      const l = this.#entry(r.id, r.ttl < this.#minTtl ? this.#minTtl : r.ttl, r.remainingTtl);
      l.waiters.push(...(waiters.get(r.id) ?? []));
      this.#leases.set(r.id, l);
    }
  }

  #entry(id: bigint, ttl: bigint, remainingTtl: bigint): LeaseEntry {
    const l: LeaseEntry = {
      id,
      ttl,
      remainingTtl,
      expiry: this.#primary ? this.#now() + Number(ttl) * 1000 : undefined,
      retryAt: 0,
      checkpointAt: undefined,
      keys: new Set(),
      waiters: [],
    };
    this.#scheduleCheckpoint(l);
    return l;
  }

  /** Like etcd: only leases whose (remaining) TTL outlasts one interval are worth a checkpoint. */
  #scheduleCheckpoint(l: LeaseEntry): void {
    const every = this.#checkpointMs;
    if (every === undefined || !this.#primary) return;
    const ttl = l.remainingTtl > 0n ? l.remainingTtl : l.ttl;
    if (Number(ttl) * 1000 > every) l.checkpointAt = this.#now() + every;
  }

  get minTtl(): bigint {
    return this.#minTtl;
  }

  get size(): number {
    return this.#leases.size;
  }

  /** True while this lessor manages expiry and renewals (its member leads). */
  get isPrimary(): boolean {
    return this.#primary;
  }

  exists(id: bigint): boolean {
    return this.#leases.has(id);
  }

  /** The lease a key is attached to, 0n when none. */
  leaseOf(key: Uint8Array): bigint {
    return this.#keyLease.get(keyString(key)) ?? 0n;
  }

  /** Attaches a key found in the MVCC store at startup; ignored if its lease is unknown. */
  recoverKey(key: Uint8Array, lease: bigint): void {
    if (lease !== 0n) this.#attach(keyString(key), lease);
  }

  // ---- replicated changes (apply path) -------------------------------------------------------

  /** Grant. Fails with lease-not-found (ID 0), ttl-too-large or lease-exists; nothing changes until commit. */
  prepareGrant(id: bigint, requestedTtl: bigint): LeaseResult<PreparedGrant> {
    if (id === 0n) return leaseErr('lease-not-found');
    const ttl = effectiveTtl(requestedTtl, this.#minTtl);
    if (ttl === 'too-large') return leaseErr('ttl-too-large');
    if (this.#leases.has(id)) return leaseErr('lease-exists');
    return leaseOk({
      id,
      ttl,
      ops: [putLeaseOp({ id, ttl, remainingTtl: 0n })],
      commit: () => {
        if (!this.#leases.has(id)) this.#leases.set(id, this.#entry(id, ttl, 0n));
      },
    });
  }

  /** Revoke. Fails with lease-not-found. The caller deletes `keys` in the same batch as `ops`. */
  prepareRevoke(id: bigint): LeaseResult<PreparedRevoke> {
    const l = this.#leases.get(id);
    if (l === undefined) return leaseErr('lease-not-found');
    const keys = [...l.keys].sort().map(keyBytes);
    return leaseOk({
      keys,
      ops: [delLeaseOp(id)],
      commit: () => this.#remove(id),
    });
  }

  /** Records checkpointed remaining TTLs (unknown leases are skipped, like etcd). Never fails. */
  prepareCheckpoint(checkpoints: readonly { readonly id: bigint; readonly remainingTtl: bigint }[]): PreparedLeaseChange {
    const known = checkpoints.filter((c) => this.#leases.has(c.id));
    const ops = this.#persistCheckpoints
      ? known.map((c) => putLeaseOp({ id: c.id, ttl: this.#leases.get(c.id)?.ttl ?? 0n, remainingTtl: c.remainingTtl }))
      : [];
    return {
      ops,
      commit: () => {
        for (const c of known) {
          const l = this.#leases.get(c.id);
          if (l === undefined) continue;
          l.remainingTtl = c.remainingTtl;
          this.#scheduleCheckpoint(l);
        }
      },
    };
  }

  /**
   * Follows the key ↔ lease attachments through the events of an applied write: a PUT attaches the
   * key to its lease (0 = none) and detaches it from the previous one; a DELETE detaches it. The
   * lessor's own key → lease map is authoritative for "previous", so prev_kv is not needed.
   */
  observe(events: readonly Event[]): void {
    for (const ev of events) {
      const key = keyString(ev.kv.key);
      const next = ev.type === EventType.PUT ? ev.kv.lease : 0n;
      const prev = this.#keyLease.get(key) ?? 0n;
      if (prev === next) continue;
      if (prev !== 0n) this.#detach(key, prev);
      if (next !== 0n) this.#attach(key, next);
    }
  }

  #attach(key: string, id: bigint): void {
    const l = this.#leases.get(id);
    if (l === undefined) return;
    const prev = this.#keyLease.get(key);
    if (prev !== undefined && prev !== id) this.#detach(key, prev);
    l.keys.add(key);
    this.#keyLease.set(key, id);
  }

  #detach(key: string, id: bigint): void {
    this.#leases.get(id)?.keys.delete(key);
    if (this.#keyLease.get(key) === id) this.#keyLease.delete(key);
  }

  #remove(id: bigint): void {
    const l = this.#leases.get(id);
    if (l === undefined) return;
    this.#leases.delete(id);
    for (const k of l.keys) if (this.#keyLease.get(k) === id) this.#keyLease.delete(k);
    for (const w of l.waiters.splice(0)) w(leaseErr('lease-not-found'));
  }

  // ---- local reads ------------------------------------------------------------------------------

  /** TimeToLive of a lease, undefined if unknown. Keys in byte order, only when asked. */
  timeToLive(id: bigint, withKeys: boolean): LeaseTimeToLive | undefined {
    const l = this.#leases.get(id);
    if (l === undefined) return undefined;
    const ttl = l.expiry === undefined ? FOREVER_SECONDS : BigInt(Math.trunc((l.expiry - this.#now()) / 1000));
    return { id, ttl, grantedTtl: l.ttl, keys: withKeys ? [...l.keys].sort().map(keyBytes) : [] };
  }

  /** Every lease ID, soonest expiry first (like etcd's Leases()). */
  leases(): bigint[] {
    return [...this.#leases.values()].sort(byExpiry).map((l) => l.id);
  }

  // ---- primary-only: renewals and expiry ---------------------------------------------------------

  /**
   * KeepAlive: the lease now expires TTL seconds from now; resolves to the granted TTL. Fails with
   * 'not-primary' on a demoted lessor and 'lease-not-found' for an unknown lease. A lease already
   * past its expiry is not renewed: the call waits until it is revoked ('lease-not-found') or the
   * lessor is demoted or stopped ('not-primary'), as etcd does.
   */
  async renew(id: bigint): Promise<LeaseResult<bigint>> {
    if (!this.#primary || this.#stopped) return leaseErr('not-primary');
    const l = this.#leases.get(id);
    if (l === undefined) return leaseErr('lease-not-found');
    if (l.expiry !== undefined && l.expiry <= this.#now()) return new Promise((resolve) => l.waiters.push(resolve));
    const clear = this.#duties?.onCheckpoint;
    if (clear !== undefined && this.#checkpointMs !== undefined && l.remainingTtl > 0n) {
      // Replicate "no checkpoint" first, or a later leader would resume from the stale remaining TTL.
      await clear([{ id, remainingTtl: 0n }]);
      if (!this.#primary) return leaseErr('not-primary');
      if (!this.#leases.has(id)) return leaseErr('lease-not-found');
    }
    l.expiry = this.#now() + Number(l.ttl) * 1000;
    l.remainingTtl = 0n;
    l.retryAt = 0;
    return leaseOk(l.ttl);
  }

  /**
   * Becomes primary: every lease expires `extendMs` after its remaining (checkpointed) or granted
   * TTL counted from now — never earlier than a fresh grant would. With many leases, expiries are
   * spread so that at most 3/4 of the revoke rate fall in any one second (only ever later).
   */
  promote(extendMs: number): void {
    this.#primary = true;
    const now = this.#now();
    for (const l of this.#leases.values()) {
      const ttl = l.remainingTtl > 0n ? l.remainingTtl : l.ttl;
      l.expiry = now + extendMs + Number(ttl) * 1000;
      l.retryAt = 0;
      this.#scheduleCheckpoint(l);
    }
    if (this.#leases.size >= this.#revokeRate) this.#spreadExpiries();
    for (const w of this.#primaryWaiters.splice(0)) w(true);
  }

  #spreadExpiries(): void {
    const perSecond = Math.max(1, Math.floor((3 * this.#revokeRate) / 4));
    const sorted = [...this.#leases.values()].sort(byExpiry);
    let windowStart = -Infinity;
    let inWindow = 0;
    for (const l of sorted) {
      const expiry = l.expiry ?? 0;
      if (expiry >= windowStart + 1000) {
        windowStart = expiry;
        inWindow = 0;
      } else if (inWindow >= perSecond) {
        windowStart += 1000;
        inWindow = 0;
      }
      if (expiry < windowStart) l.expiry = windowStart;
      inWindow++;
    }
  }

  /** Stops managing expiry: every lease lives until promoted again; waiting renewals fail with not-primary. */
  demote(): void {
    this.#primary = false;
    for (const l of this.#leases.values()) {
      l.expiry = undefined;
      l.checkpointAt = undefined;
      for (const w of l.waiters.splice(0)) w(leaseErr('not-primary'));
    }
  }

  /** Resolves true once primary (at once if already), false after `timeoutMs` or at stop. */
  whenPrimary(timeoutMs: number): Promise<boolean> {
    if (this.#primary) return Promise.resolve(true);
    if (this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (primary: boolean): void => {
        clearTimeout(timer);
        this.#primaryWaiters = this.#primaryWaiters.filter((w) => w !== done);
        resolve(primary);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#primaryWaiters.push(done);
    });
  }

  /**
   * Up to `limit` leases past their expiry, soonest first, that were not reported in the last
   * retry interval (a revoke in flight is not asked for again until then). Empty unless primary.
   */
  expired(limit: number): bigint[] {
    if (!this.#primary || limit <= 0) return [];
    const now = this.#now();
    const due: LeaseEntry[] = [];
    for (const l of this.#leases.values()) {
      if (l.expiry !== undefined && l.expiry <= now && l.retryAt <= now) due.push(l);
    }
    due.sort(byExpiry);
    const out = due.slice(0, limit);
    for (const l of out) l.retryAt = now + this.#retryMs;
    return out.map((l) => l.id);
  }

  /**
   * Checkpoints that are due: the remaining TTL (whole seconds, rounded up) of each scheduled lease
   * still running below its full TTL, at most `limit`. Each is unscheduled until its checkpoint is
   * applied. Empty unless primary with checkpoints enabled.
   */
  dueCheckpoints(limit: number): LeaseCheckpoint[] {
    if (!this.#primary || this.#checkpointMs === undefined) return [];
    const now = this.#now();
    const out: LeaseCheckpoint[] = [];
    for (const l of this.#leases.values()) {
      if (out.length >= limit) break;
      if (l.checkpointAt === undefined || l.checkpointAt > now) continue;
      l.checkpointAt = undefined;
      if (l.expiry === undefined || l.expiry <= now) continue;
      const remainingTtl = BigInt(Math.ceil((l.expiry - now) / 1000));
      if (remainingTtl >= l.ttl) {
        // Renewed since: nothing to record now, but look again later (the client may stop renewing).
        this.#scheduleCheckpoint(l);
        continue;
      }
      out.push({ id: l.id, remainingTtl });
    }
    return out;
  }

  /**
   * Starts the timer: every `intervalMs` (default 500, like etcd) it hands at most
   * revokeRate × interval expired lease IDs to `onExpired` and due checkpoints (batches of at most
   * 1000) to `onCheckpoint`. Idempotent.
   */
  start(duties: LessorDuties, intervalMs = 500): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#duties = duties;
    const perTick = Math.max(1, Math.floor((this.#revokeRate * intervalMs) / 1000));
    this.#timer = setInterval(() => {
      const ids = this.expired(perTick);
      if (ids.length > 0) duties.onExpired(ids);
      const cps = duties.onCheckpoint === undefined ? [] : this.dueCheckpoints(1000);
      if (cps.length > 0) void duties.onCheckpoint?.(cps);
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and fails every waiter; the lessor keeps answering reads. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const w of this.#primaryWaiters.splice(0)) w(false);
    for (const l of this.#leases.values()) for (const w of l.waiters.splice(0)) w(leaseErr('not-primary'));
  }
}
